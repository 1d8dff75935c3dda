// Tasks routed to named people (usecases/tasks.hpp; DOMAIN.md §3.23, N6): due times by the
// tenant's working-day calendar, stable task ids, raising a task once, and who "a manager" and
// "the IG officer" are. In process, over the service harness.
#include <catch2/catch.hpp>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"
#include "service_harness.hpp"
#include "usecases/held.hpp"
#include "usecases/tasks.hpp"

using namespace hearth;
using namespace hearth::test;
using sync::protocol::OpStatus;

namespace {

int64_t at(const std::string& iso) { return *civil::parse_ms(iso); }

}  // namespace

TEST_CASE("Tasks: due times skip weekends and the council's closed dates", "[unit]") {
  TenantConfig cfg;
  // Friday 2026-12-04 10:00 + 1 working day = Monday 2026-12-07 10:00.
  CHECK(civil::format_datetime(cfg.add_working_days(at("2026-12-04T10:00:00Z"), 1)) == "2026-12-07T10:00:00.000Z");
  // Thursday + 2 = Monday.
  CHECK(civil::format_datetime(cfg.add_working_days(at("2026-12-03T09:30:00Z"), 2)) == "2026-12-07T09:30:00.000Z");
  // Christmas and Boxing Day observed as closures: Thursday 24th + 1 = Tuesday 29th.
  REQUIRE(cfg.set("closed_dates", "2026-12-25,2026-12-28"));
  CHECK(civil::format_datetime(cfg.add_working_days(at("2026-12-24T12:00:00Z"), 1)) == "2026-12-29T12:00:00.000Z");
  // A Saturday counts from the next working day.
  CHECK(civil::format_datetime(cfg.add_working_days(at("2026-12-05T08:00:00Z"), 1)) == "2026-12-07T08:00:00.000Z");
  CHECK(cfg.add_working_days(at("2026-12-05T08:00:00Z"), 0) == at("2026-12-05T08:00:00Z"));
  // A calendar whose only working day is closed for good ends the search, bounded.
  REQUIRE(cfg.set("working_days", "SUN"));
  CHECK(cfg.add_working_days(at("2026-12-05T08:00:00Z"), 1) == at("2026-12-06T08:00:00Z"));
}

TEST_CASE("Tasks: civil time round-trips the schema's DateTime form", "[unit]") {
  for (const char* s : {"1970-01-01T00:00:00.000Z", "2026-11-30T23:59:59.999Z", "2000-02-29T12:00:00.000Z",
                        "1969-12-31T23:59:59.000Z"})
    CHECK(civil::format_datetime(*civil::parse_ms(s)) == s);
  CHECK(civil::format_datetime_seconds(*civil::parse_ms("2026-11-30T08:00:00.250Z")) == "2026-11-30T08:00:00Z");
  CHECK_FALSE(civil::parse_ms("2026-13-01"));
  CHECK_FALSE(civil::parse_ms("2026-12-01T10:00"));
  CHECK(civil::weekday_of_day(civil::day_of(at("2026-11-30"))) == 0);  // a Monday
}

TEST_CASE("Tasks: a task's id is stable, bounded and distinct per assignee and subject", "[unit]") {
  server::TaskSpec a{server::task_type::kConflictReview, "hv-1", 0, "fam-a/contact/with-a-long-id", ""};
  server::TaskSpec b = a;
  b.assignee = "tm-1";
  server::TaskSpec c = a;
  c.about = "fam-a/contact/other";
  std::string family(60, 'f');
  CHECK(server::task_id(family, a) == server::task_id(family, a));
  CHECK(server::task_id(family, a) != server::task_id(family, b));
  CHECK(server::task_id(family, a) != server::task_id(family, c));
  CHECK(server::task_id(family, a).size() <= kMaxIdBytes);
  CHECK(server::task_id("fam-a", a).rfind("fam-a/task/conflict_review/", 0) == 0);
}

TEST_CASE("Tasks: raised once as an authority write, received by the team with its due time", "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  REQUIRE(hv.push_one(must(hv.replica.create("fam-t", "Family", "fam-t", family_fields()))).status == OpStatus::accepted);
  server::TaskSpec spec{server::task_type::kReviewDue, "hv-1", at("2027-01-04T09:00:00Z"), "fam-t", "review due"};
  auto raise = [&] {
    server::AuthorityWrite w;
    w.family = "fam-t";
    w.author = server::kOfficeAuthor;
    w.action = "task";
    w.detail = "review due";
    w.plan = [&](server::ServiceContext&, const sync::Materialiser& m) -> Result<std::vector<server::AuthorityEdit>> {
      std::vector<server::AuthorityEdit> edits;
      server::raise_task(m, "fam-t", spec, edits);
      server::raise_task(m, "fam-t", spec, edits);  // the same task twice in one plan: once
      return edits;
    };
    return must(h.service.with_context([&](server::ServiceContext& ctx) { return server::authority_write(ctx, {w}); }));
  };
  CHECK(raise().size() == 1);
  CHECK(raise().empty());  // already held: nothing written
  hv.pull();
  const sync::EntityMerge* t = hv.replica.mat().entity(server::task_id("fam-t", spec));
  REQUIRE(t);
  CHECK(t->value("assignee").as_string() == "hv-1");
  CHECK(t->value("due_at").as_string() == "2027-01-04T09:00:00.000Z");
  CHECK(t->value("status").as_string() == "OPEN");
}

TEST_CASE("Tasks: a manager is a named person of the lead agency, else any manager, else nobody", "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  REQUIRE(hv.push_one(must(hv.replica.create("fam-m", "Family", "fam-m", family_fields()))).status == OpStatus::accepted);
  auto manager = [&] {
    return must(h.service.with_context([&](server::ServiceContext& ctx) -> Result<std::string> {
      auto m = ctx.cache.get("fam-m");
      if (!m) return m.error();
      return server::manager_for(ctx, (*m)->schema(), *ctx.cache.facts("fam-m"));
    }));
  };
  CHECK(manager().empty());
  must(h.store->caseload().add_organisation("org-ys", "Youth Service", "YOUTH_SERVICE"));
  must(h.store->caseload().add_practitioner("mgr-ys", "org-ys", "Manager YS", "TEAM_MANAGER"));
  CHECK(manager() == "mgr-ys");  // nobody in the lead agency: any manager
  must(h.store->caseload().add_practitioner("mgr-hv-b", "org-hv", "Manager HV", "TEAM_MANAGER"));
  must(h.store->caseload().add_practitioner("mgr-hv-a", "org-hv", "Manager HV", "TEAM_MANAGER"));
  CHECK(manager() == "mgr-hv-a");  // the lead agency's, first by id
  must(h.store->caseload().add_practitioner("ig-1", "org-hv", "IG", "IG_OFFICER"));
  auto ig = must(h.service.with_context([&](server::ServiceContext& ctx) { return server::ig_officers(ctx); }));
  CHECK(ig == std::vector<std::string>{"ig-1"});
}

TEST_CASE("Held ops: a decision's note longer than a tablet reads is refused before anything is looked up", "[unit]") {
  ServiceHarness h;
  const std::string long_note(2001, 'n');
  auto applied = h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::apply_held(ctx, "dev-x:1", "hv-1", long_note); });
  REQUIRE_FALSE(applied);
  CHECK(applied.error().code == ErrorCode::invalid_argument);
  CHECK_THAT(applied.error().message, Catch::Matchers::Contains("--note"));
  auto dismissed = h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::dismiss_held(ctx, "dev-x:1", "hv-1", "\xff\xfe"); });
  REQUIRE_FALSE(dismissed);
  CHECK_THAT(dismissed.error().message, Catch::Matchers::Contains("--reason"));
}
