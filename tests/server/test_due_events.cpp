// Time-driven events (usecases/due_events.hpp; issue 8 parts 2, 4, 5 and 7): consent expiring
// and expired, break-glass granted and expired, reviews and referrer feedback falling due, and
// overdue tasks escalated: each raised once, at its time, idempotent. In process, over the
// service harness and its fake clock.
#include <catch2/catch.hpp>

#include "../support/db_count.hpp"
#include <sqlite3.h>

#include "hearth/core/civil_time.hpp"
#include "service_harness.hpp"
#include "usecases/break_glass.hpp"
#include "usecases/due_events.hpp"
#include "usecases/tasks.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using sync::protocol::OpStatus;

namespace {

int64_t at(const std::string& iso) { return *civil::parse_ms(iso); }

int64_t count(const std::string& db_path, const char* sql, const std::string& arg) {
  return db_count(db_path, sql, {arg});
}
int64_t ops_of(const ServiceHarness& h, const std::string& family) {
  return count(h.db.location(), "SELECT count(*) FROM ops WHERE family = ?", family);
}
int64_t audits(const ServiceHarness& h, const std::string& action) {
  return count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = ?", action);
}

server::DueReport tick(ServiceHarness& h) {
  return must(h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::run_due_events(ctx, ctx.now()); }));
}

Value field(const Device& d, const std::string& id, const std::string& name) {
  const sync::EntityMerge* e = d.replica.mat().entity(id);
  return e ? e->value(name) : Value();
}

// The Task records of a family a device holds, of one type.
std::vector<const sync::EntityMerge*> tasks_of(const Device& d, const std::string& family, const std::string& type) {
  std::vector<const sync::EntityMerge*> out;
  for (const auto* e : d.replica.mat().entities(family))
    if (e->def().name == "Task" && e->value("task_type") == Value(type)) out.push_back(e);
  return out;
}

// A manager and an IG officer in the directory; a youth worker of another organisation.
void add_people(ServiceHarness& h) {
  must(h.store->caseload().add_organisation("org-ys", "Youth Service", "LA_YOUTH_SERVICE"));
  must(h.store->caseload().add_practitioner("mgr-1", "org-hv", "mgr-1", "TEAM_MANAGER"));
  must(h.store->caseload().add_practitioner("ig-1", "org-hv", "ig-1", "IG_OFFICER"));
  must(h.store->caseload().add_practitioner("ys-1", "org-ys", "ys-1", "PRACTITIONER"));
  must(h.store->caseload().add_practitioner("out-1", "org-hv", "out-1", "PRACTITIONER"));
}

// A family made on hv-1's tablet (hv-1 leads it) with a mother and her consent to share with
// the team, expiring at `expires`.
void make_family(Device& hv, const std::string& family, const std::string& expires,
                 const std::string& mother = "mother-1") {
  FieldValues c = consent_fields();
  c["covers_persons"] = StringList{mother};
  c["given_by"] = mother;
  c["recipients"] = StringList{"org-hv", "org-ys"};
  c["expires_at"] = expires;
  std::vector<sync::Op> ops{must(hv.replica.create(family, "Family", family, family_fields())),
                            must(hv.replica.create(family, "Person", mother, person_fields("M", "1990-01-01"))),
                            must(hv.replica.create(family, "ConsentRecord", family + "/consent", c))};
  for (const auto& r : hv.push(ops)) REQUIRE(r.status == OpStatus::accepted);
}

server::HttpResponse ask_break_glass(ServiceHarness& h, const Device& d, const std::string& family,
                                     const std::string& code, const std::string& reason = "child missing overnight") {
  return h.post("/v1/break-glass",
                sync::protocol::encode(sync::protocol::EmergencyAccessRequest{family, code, reason}), d.token);
}

}  // namespace

TEST_CASE("Due events: nothing due is cheap and changes nothing", "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  make_family(hv, "fam-q", "2027-01-01T00:00:00Z");
  auto first = tick(h);  // the family was marked by its new records: looked at once
  CHECK(first.families == 1);
  CHECK(first.lines.empty());
  const int64_t ops = ops_of(h, "fam-q");
  auto second = tick(h);
  CHECK(second.families == 0);  // its next due time is the consent's notice, months away
  CHECK(ops_of(h, "fam-q") == ops);
  auto next = must(h.store->due().next_due());
  REQUIRE(next);
  CHECK(civil::format_datetime(*next) == "2026-12-18T00:00:00.000Z");  // 14 days' notice
}

TEST_CASE("Due events: a consent raises CONSENT_EXPIRING once at its notice and expires once at its time",
          "[unit][security]") {
  ServiceHarness h;
  add_people(h);
  Device hv(h, "dev-hv", "hv-1"), ys(h, "dev-ys", "ys-1");
  const std::string fam = "fam-c";
  make_family(hv, fam, "2026-01-31T00:00:00Z");
  must(h.service.with_context([&](server::ServiceContext& ctx) {
    return server::authority_write(ctx, {server::allocation({fam, "ys-1", false, std::nullopt, "office"})});
  }));
  ys.pull();
  CHECK(field(ys, "mother-1", "given_names") == Value("M"));  // shared by the consent

  CHECK(tick(h).consents_expiring == 0);
  h.clock.set(static_cast<uint64_t>(at("2026-01-16T23:59:59Z")));
  CHECK(tick(h).lines.empty());
  h.clock.set(static_cast<uint64_t>(at("2026-01-17T00:00:00Z")));  // 14 days before
  auto notice = tick(h);
  CHECK(notice.consents_expiring == 1);
  CHECK(notice.consents_expired == 0);
  const int64_t after_notice = ops_of(h, fam);
  CHECK(tick(h).lines.empty());  // idempotent
  CHECK(ops_of(h, fam) == after_notice);
  hv.pull();
  auto expiring = tasks_of(hv, fam, server::task_type::kConsentExpiring);
  REQUIRE(expiring.size() == 1);
  CHECK(expiring[0]->value("assignee") == Value("hv-1"));
  CHECK(expiring[0]->value("due_at") == Value("2026-01-31T00:00:00.000Z"));
  CHECK(expiring[0]->value("about") == Value(fam + "/consent"));

  // At its expiry: status EXPIRED written, every team member's feed bumped, audited; the open
  // CONSENT_EXPIRING task is now due and goes to the manager.
  const int64_t ys_feed = must(h.store->caseload().feed_version("ys-1"));
  h.clock.set(static_cast<uint64_t>(at("2026-01-31T00:00:00Z")));
  auto expiry = tick(h);
  CHECK(expiry.consents_expired == 1);
  CHECK(expiry.escalated == 1);
  CHECK(audits(h, "consent-expired") == 1);
  CHECK(audits(h, "task-escalated") == 1);
  CHECK(must(h.store->caseload().feed_version("ys-1")) > ys_feed);
  const int64_t after_expiry = ops_of(h, fam);
  auto again = tick(h);
  CHECK(again.lines.empty());
  CHECK(ops_of(h, fam) == after_expiry);
  CHECK(audits(h, "consent-expired") == 1);
  CHECK(audits(h, "task-escalated") == 1);
  hv.pull();
  CHECK(field(hv, fam + "/consent", "status") == Value("EXPIRED"));
  expiring = tasks_of(hv, fam, server::task_type::kConsentExpiring);
  REQUIRE(expiring.size() == 1);
  CHECK(expiring[0]->value("escalated_to") == Value("mgr-1"));
  CHECK(expiring[0]->value("escalated_at") == Value("2026-01-31T00:00:00.000Z"));
  // The recipient's next pull no longer carries the mother's records (a fresh device shows
  // exactly what is sent now).
  Device ys2(h, "dev-ys2", "ys-1");
  ys2.pull();
  CHECK(ys2.replica.mat().entity("mother-1") == nullptr);
  CHECK_FALSE(ys2.replica.mat().entities(fam).empty());  // the family itself stays on the caseload
}

TEST_CASE("Due events: a plan's review and a referrer's feedback fall due once each", "[unit]") {
  ServiceHarness h;
  add_people(h);
  Device hv(h, "dev-hv", "hv-1");
  const std::string fam = "fam-r";
  make_family(hv, fam, "2027-06-01T00:00:00Z");
  FieldValues plan = plan_fields();
  plan["agreed_at"] = "2026-01-10T10:00:00Z";
  plan["family_agreement"] = StringList{"mother-1"};
  FieldValues referral = referral_fields();
  referral["referrer_details"] = "School nurse, 01632 960000";
  std::vector<sync::Op> ops{must(hv.replica.create(fam, "FamilyPlan", "plan-1", plan)),
                            must(hv.replica.transition("plan-1", "AGREED")),
                            must(hv.replica.create(fam, "Referral", "ref-1", referral))};
  for (const auto& r : hv.push(ops)) REQUIRE(r.status == OpStatus::accepted);

  CHECK(tick(h).lines.empty());  // 2026-01-01: the referral arrives on the 5th
  h.clock.set(static_cast<uint64_t>(at("2026-01-05T09:00:00Z")));
  auto received = tick(h);
  CHECK(received.feedback_due == 1);
  CHECK(tick(h).lines.empty());
  h.clock.set(static_cast<uint64_t>(at("2026-02-21T23:00:00Z")));  // the next day's escalation ran meanwhile
  auto before = tick(h);
  CHECK(before.escalated == 1);   // the feedback task, 24 hours after receipt
  CHECK(before.reviews_due == 0);
  h.clock.set(static_cast<uint64_t>(at("2026-02-22T00:00:00Z")));  // 7 days before 2026-03-01
  CHECK(tick(h).reviews_due == 1);
  CHECK(tick(h).lines.empty());
  hv.pull();
  auto feedback = tasks_of(hv, fam, server::task_type::kReferrerFeedbackDue);
  REQUIRE(feedback.size() == 1);
  CHECK(feedback[0]->value("assignee") == Value("hv-1"));
  CHECK(feedback[0]->value("due_at") == Value("2026-01-06T09:00:00.000Z"));
  CHECK(feedback[0]->value("escalated_to") == Value("mgr-1"));
  auto review = tasks_of(hv, fam, server::task_type::kReviewDue);
  REQUIRE(review.size() == 1);
  CHECK(review[0]->value("due_at") == Value("2026-03-01T00:00:00.000Z"));
  // A referrer told: nothing more for a second referral's feedback once notified.
  auto notified = must(hv.replica.set("ref-1", "referrer_notified_at", Value("2026-01-05T12:00:00Z")));
  REQUIRE(hv.push_one(notified).status == OpStatus::accepted);
  CHECK(tick(h).lines.empty());
}

TEST_CASE("Break-glass: granted to a practitioner outside the team then delivered and reviewed and purged at expiry",
          "[unit][security]") {
  ServiceHarness h;
  add_people(h);
  Device hv(h, "dev-hv", "hv-1"), out(h, "dev-out", "out-1");
  const std::string fam = "fam-b";
  make_family(hv, fam, "2027-01-01T00:00:00Z");
  tick(h);

  SECTION("refusals are clear and write nothing") {
    const int64_t ops = ops_of(h, fam);
    auto bad_code = ask_break_glass(h, out, fam, "CURIOSITY");
    CHECK(bad_code.status == 400);
    CHECK_THAT(bad_code.body, Contains("MISSING_CHILD"));
    auto unknown = ask_break_glass(h, out, "fam-none", "MISSING_CHILD");
    CHECK(unknown.status == 404);
    auto member = ask_break_glass(h, hv, fam, "MISSING_CHILD");
    CHECK(member.status == 409);
    CHECK_THAT(member.body, Contains("on the team"));
    auto empty = h.post("/v1/break-glass",
                        sync::protocol::encode(sync::protocol::EmergencyAccessRequest{fam, "MISSING_CHILD", ""}),
                        out.token);
    CHECK(empty.status == 400);
    CHECK(h.post("/v1/break-glass", "{}", "").status == 401);
    CHECK(ops_of(h, fam) == ops);
    CHECK(audits(h, "break-glass-refused") == 3);
  }

  SECTION("granted, then expired by the due events") {
    CHECK(out.pull().empty());
    CHECK(out.replica.mat().entity(fam) == nullptr);  // not on the team: nothing
    auto r = ask_break_glass(h, out, fam, "MISSING_CHILD");
    REQUIRE(r.status == 200);
    auto reply = must(sync::protocol::decode_emergency_access_reply(r.body));
    CHECK(reply.family == fam);
    CHECK(static_cast<int64_t>(reply.expires_at_ms) == static_cast<int64_t>(h.clock.now()) + 4 * 3600 * 1000);
    CHECK(audits(h, "break-glass") == 1);
    CHECK(ask_break_glass(h, out, fam, "MISSING_CHILD").status == 409);  // one grant at a time

    out.pull();
    CHECK(out.replica.mat().entity(fam) != nullptr);  // the family arrived
    CHECK(field(out, reply.grant_id, "practitioner") == Value("out-1"));
    hv.pull();
    auto reviews = tasks_of(hv, fam, server::task_type::kBreakGlassReview);
    REQUIRE(reviews.size() == 2);
    std::set<std::string> reviewers;
    for (const auto* t : reviews) reviewers.insert(t->value("assignee").as_string());
    CHECK(reviewers == std::set<std::string>{"ig-1", "mgr-1"});

    h.clock.advance(4 * 3600 * 1000 - 1);
    CHECK(tick(h).grants_expired == 0);
    const int64_t feed = must(h.store->caseload().feed_version("out-1"));
    h.clock.advance(1);
    auto expiry = tick(h);
    CHECK(expiry.grants_expired == 1);
    CHECK(audits(h, "break-glass-expired") == 1);
    CHECK(must(h.store->caseload().feed_version("out-1")) > feed);
    CHECK(tick(h).lines.empty());  // once
    CHECK(audits(h, "break-glass-expired") == 1);
    CHECK(out.pull() == std::vector<std::string>{fam});  // purged at the next pull
    CHECK(count(h.db.location(),
                "SELECT count(*) FROM audit_events WHERE action = 'purge-instruction' AND detail = ?",
                "break-glass grant ended") >= 1);
    Device fresh(h, "dev-out2", "out-1");
    fresh.pull();
    CHECK(fresh.replica.mat().entities(fam).empty());  // nothing of it is sent any more
    // and a new grant may be asked for after the old one ended
    CHECK(ask_break_glass(h, out, fam, "OUT_OF_HOURS_EMERGENCY").status == 200);
  }
}

TEST_CASE("Due events: work per call is bounded and the rest waits for the next call", "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  for (int i = 0; i < 5; ++i) make_family(hv, "fam-" + std::to_string(i), "2027-01-01T00:00:00Z", "mother-" + std::to_string(i));
  auto first = must(h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::run_due_events(ctx, ctx.now(), 3); }));
  CHECK(first.families == 3);
  CHECK(first.more);
  auto second = must(h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::run_due_events(ctx, ctx.now(), 3); }));
  CHECK(second.families == 2);
  CHECK_FALSE(second.more);
}

TEST_CASE("Due events: families held before the index existed are looked at once and a notice change re-reads all",
          "[unit]") {
  ServiceHarness h;
  if (h.db.postgres()) {  // an upgrade of SQLite databases only: a PostgreSQL store starts with the index
    SUCCEED("SQLite only");
    return;
  }
  Device hv(h, "dev-hv", "hv-1");
  make_family(hv, "fam-old", "2027-01-01T00:00:00Z");
  CHECK(tick(h).families == 1);
  CHECK(tick(h).families == 0);

  // A database from before the index: no entry, no marker. Opening it seeds every family.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(h.db.location().c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "DELETE FROM due_families; DELETE FROM meta WHERE key = 'due_index';", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(db);
  CHECK(must(h.store->due().due(static_cast<int64_t>(h.clock.now()), 10)).empty());
  {
    auto reopened = must(server::open_sqlite_storage(h.db.location(), hearth::test::audit_key()));
    CHECK(must(reopened->due().due(static_cast<int64_t>(h.clock.now()), 10)) == std::vector<std::string>{"fam-old"});
  }
  CHECK(tick(h).families == 1);

  // 60 days' notice instead of 14: the consent is inside it on 2026-11-05, once every family is re-read.
  h.clock.set(static_cast<uint64_t>(at("2026-11-05T00:00:00Z")));
  must(h.store->settings().set("consent_expiring_notice_days", "60", static_cast<int64_t>(h.clock.now()), "admin"));
  CHECK(tick(h).families == 0);  // its next due time was read under the old notice
  must(h.store->due().mark_all(0));
  auto re_read = tick(h);
  CHECK(re_read.families == 1);
  CHECK(re_read.consents_expiring == 1);
}

TEST_CASE("Break-glass: what the grantee records is kept for the team, and nobody-to-review falls to the lead",
          "[unit][security]") {
  ServiceHarness h;
  // No manager or IG officer in the directory.
  must(h.store->caseload().add_practitioner("out-1", "org-hv", "out-1", "PRACTITIONER"));
  Device hv(h, "dev-hv", "hv-1"), out(h, "dev-out", "out-1");
  const std::string fam = "fam-g";
  make_family(hv, fam, "2027-01-01T00:00:00Z");
  auto r = ask_break_glass(h, out, fam, "OTHER", "a private reason the team must not read in a task");
  REQUIRE(r.status == 200);
  CHECK(audits(h, "task-unassigned") == 1);
  hv.pull();
  auto reviews = tasks_of(hv, fam, server::task_type::kBreakGlassReview);
  REQUIRE(reviews.size() == 1);
  CHECK(reviews.front()->value("assignee").as_string() == "hv-1");  // the lead reviews rather than nobody
  CHECK(reviews.front()->value("detail").as_string().find("private reason") == std::string::npos);

  out.pull();
  FieldValues visit = contact_fields("2026-01-01T10:00:00Z", "checked on the children overnight", "out-1");
  auto note = must(out.replica.create(fam, "Contact", fam + "/visit-bg", visit));
  auto result = out.push_one(note);
  // Recording is not sharing: the visit is accepted into the family's record (before, it was
  // refused, and then dropped with the family when the grant ended).
  REQUIRE(result.status == OpStatus::accepted);
  hv.pull();
  CHECK(hv.replica.mat().entity(fam + "/visit-bg") != nullptr);

  // A visit recorded while the grant lasted but pushed after it ended is kept for the team.
  auto late = must(out.replica.create(fam, "Contact", fam + "/visit-bg-2",
                                      contact_fields("2026-01-01T11:00:00Z", "second visit before the grant ended", "out-1")));
  h.clock.advance(5 * 3600 * 1000);
  tick(h);
  auto after = out.push_one(late);
  CHECK(after.status == OpStatus::held);
  CHECK(must(h.store->flags().held(fam)).size() == 1);
}
