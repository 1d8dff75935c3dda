// Tasks raised when ops arrive or the office acts (usecases/task_triggers.hpp; DOMAIN.md §3.23,
// §6.5, §6.6, §7, §8.4, N6): each trigger raises exactly one task to the right named person
// with the right due time, and the same op pushed again raises nothing more. In process, over
// the service harness, with the server clock on a Thursday so due times cross a weekend.
#include <catch2/catch.hpp>

#include "../support/db_count.hpp"
#include <algorithm>

#include "hearth/core/civil_time.hpp"
#include "service_harness.hpp"
#include "usecases/consent.hpp"
#include "usecases/held.hpp"
#include "usecases/task_list.hpp"
#include "usecases/task_triggers.hpp"
#include "usecases/tasks.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using sync::protocol::OpStatus;

namespace {

int64_t at(const std::string& iso) { return *civil::parse_ms(iso); }

constexpr const char* kThursday = "2026-12-03T10:00:00Z";
constexpr const char* kFriday = "2026-12-04T10:00:00.000Z";  // + 1 working day
constexpr const char* kMonday = "2026-12-07T10:00:00.000Z";  // + 2 working days

// A family led by hv-1 (its creator) in org-hv, the lead agency; a manager mgr-1 of org-hv on
// the team (a manager needs to be on the team to sync it); yw-1 a TAF member; a school sch-1.
struct World {
  ServiceHarness h;
  std::string fam = "fam-k";
  std::unique_ptr<Device> hv;

  World() {
    h.clock.set(static_cast<uint64_t>(at(kThursday)));
    must(h.store->caseload().add_practitioner("mgr-1", "org-hv", "Manager", "TEAM_MANAGER"));
    must(h.store->caseload().add_organisation("org-sc", "School", "SCHOOL"));
    must(h.store->caseload().add_practitioner("sch-1", "org-sc", "School DSL", "DSL"));
    hv = std::make_unique<Device>(h, "dev-hv", "hv-1");
    REQUIRE(hv->push_one(must(hv->replica.create(fam, "Family", fam, family_fields()))).status == OpStatus::accepted);
    FieldValues ep = episode_fields({"p-1"});
    ep["allocated_org"] = "org-hv";
    REQUIRE(hv->push_one(must(hv->replica.create(fam, "EarlyHelpEpisode", "ep-1", ep))).status == OpStatus::accepted);
    REQUIRE(hv->push_one(must(hv->replica.create(fam, "Person", "p-1", person_fields("P", "1980-02-03")))).status ==
            OpStatus::accepted);
    h.allocate(fam, "yw-1");
    h.allocate(fam, "mgr-1");
  }

  // Audit events of `action` (every task raised is one, "task").
  int64_t audits(const std::string& action) {
    return db_count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = ?", {action});
  }

  std::vector<server::TaskRow> tasks(const std::string& type = "") {
    auto all = must(h.service.with_context(
        [&](server::ServiceContext& ctx) { return server::list_tasks(ctx, server::TaskQuery{fam, "", false}); }));
    std::vector<server::TaskRow> out;
    for (auto& t : all)
      if (type.empty() || t.type == type) out.push_back(std::move(t));
    return out;
  }
};

}  // namespace

TEST_CASE("Task triggers: a held write raises one WRITE_REFUSED task for the person who decides", "[unit]") {
  World w;
  Device yw(w.h, "dev-yw", "yw-1");
  yw.pull();
  // A TAF member makes herself lead professional: held for the lead, hv-1.
  sync::Op op = must(yw.replica.set("ep-1", "lead_professional", Value(std::string("yw-1"))));
  auto r = yw.push_one(op);
  REQUIRE(r.status == OpStatus::held);
  auto refused = w.tasks(server::task_type::kWriteRefused);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].assignee == "hv-1");
  CHECK(refused[0].due_at == kMonday);
  CHECK(refused[0].about == op.id.to_string());
  CHECK(refused[0].status == "OPEN");
  CHECK_THAT(refused[0].detail, Contains("only the lead professional or a manager"));
  CHECK(w.audits("task") == 1);
  // The same op again: held as before, nothing more.
  CHECK(yw.push_one(op).status == OpStatus::held);
  CHECK(w.tasks(server::task_type::kWriteRefused).size() == 1);
  CHECK(w.audits("task") == 1);

  // The lead writing a field only the office writes: held for "TEAM_MANAGER", a named manager.
  sync::Op own = must(w.hv->replica.set("ep-1", "sf_claim_status", Value(std::string("CLAIMED"))));
  REQUIRE(w.hv->push_one(own).status == OpStatus::held);
  auto all = w.tasks(server::task_type::kWriteRefused);
  REQUIRE(all.size() == 2);
  auto to_manager = std::find_if(all.begin(), all.end(), [&](const auto& t) { return t.about == own.id.to_string(); });
  REQUIRE(to_manager != all.end());
  CHECK(to_manager->assignee == "mgr-1");

  // Every team member receives the task at the next sync; the assignee receives its detail.
  w.hv->pull();
  const sync::EntityMerge* t = w.hv->replica.mat().entity(refused[0].id);
  REQUIRE(t);
  CHECK(t->value("assignee").as_string() == "hv-1");
  CHECK_THAT(t->value("detail").as_string(), Contains("held for your decision"));
}

TEST_CASE("Task triggers: a new conflict raises one CONFLICT_REVIEW task for the lead or for a manager when the "
          "lead is a party or safety is involved", "[unit]") {
  World w;
  // Two tablets of yw-1 edit yw-1's own plan action concurrently: the lead is not a party.
  Device a(w.h, "dev-yw-a", "yw-1");
  Device b(w.h, "dev-yw-b", "yw-1");
  FieldValues action = action_fields();
  action["owner_practitioner"] = "yw-1";
  REQUIRE(a.push_one(must(a.replica.create(w.fam, "PlanAction", "pa-1", action))).status == OpStatus::accepted);
  b.pull();
  REQUIRE(a.push_one(must(a.replica.set("pa-1", "description", Value(std::string("weigh B weekly"))))).status ==
          OpStatus::accepted);
  sync::Op rival = must(b.replica.set("pa-1", "description", Value(std::string("weigh B monthly"))));
  REQUIRE(b.push_one(rival).status == OpStatus::accepted);
  auto review = w.tasks(server::task_type::kConflictReview);
  REQUIRE(review.size() == 1);
  CHECK(review[0].assignee == "hv-1");
  CHECK(review[0].due_at == kMonday);
  // Its `about` is the conflict's id, the same on every replica.
  b.pull();
  auto conflicts = b.replica.mat().open_conflicts(w.fam);
  REQUIRE(conflicts.size() == 1);
  CHECK(review[0].about == conflicts[0].id);
  CHECK(b.push_one(rival).status == OpStatus::duplicate);
  CHECK(w.tasks(server::task_type::kConflictReview).size() == 1);

  // The lead is a party: the manager reviews.
  w.hv->pull();
  REQUIRE(w.hv->push_one(must(w.hv->replica.set("pa-1", "notes", Value(std::string("lead's note"))))).status ==
          OpStatus::accepted);
  REQUIRE(a.push_one(must(a.replica.set("pa-1", "notes", Value(std::string("member's note"))))).status ==
          OpStatus::accepted);
  review = w.tasks(server::task_type::kConflictReview);
  REQUIRE(review.size() == 2);
  CHECK(std::count_if(review.begin(), review.end(), [](const auto& t) { return t.assignee == "mgr-1"; }) == 1);

  // A safety value (an alert's severity, SAFETY_MAX): the manager, due in one working day.
  FieldValues alert = alert_fields();
  alert["set_by"] = "yw-1";
  REQUIRE(a.push_one(must(a.replica.create(w.fam, "Alert", "al-1", alert))).status == OpStatus::accepted);
  b.pull();
  REQUIRE(a.push_one(must(a.replica.set("al-1", "severity", Value(std::string("HIGH"))))).status == OpStatus::accepted);
  REQUIRE(b.push_one(must(b.replica.set("al-1", "severity", Value(std::string("INFO"))))).status == OpStatus::accepted);
  review = w.tasks(server::task_type::kConflictReview);
  REQUIRE(review.size() == 3);
  auto safety = std::find_if(review.begin(), review.end(), [](const auto& t) { return t.due_at == kFriday; });
  REQUIRE(safety != review.end());
  CHECK(safety->assignee == "mgr-1");
  CHECK_THAT(safety->detail, Contains("safety value"));

  // The lead resolves the first conflict: its task is done, the others stay open.
  w.hv->pull();
  const std::string first = conflicts[0].id;
  REQUIRE(w.hv->push_one(must(w.hv->replica.resolve("pa-1", first, Value(std::string("weigh B weekly"))))).status ==
          OpStatus::accepted);
  review = w.tasks(server::task_type::kConflictReview);
  REQUIRE(review.size() == 3);
  for (const auto& t : review) {
    INFO(t.about);
    CHECK(t.status == (t.about == first ? "DONE" : "OPEN"));
  }
}

TEST_CASE("Task triggers: work accepted flagged raises one FLAG_REVIEW task for the lead", "[unit]") {
  World w;
  Device yw(w.h, "dev-yw", "yw-1");
  yw.pull();  // last pull before the removal
  w.h.clock.advance(1000);
  must(w.h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::authority_write(ctx, {server::deallocation(w.fam, "yw-1")}); }));
  FieldValues c = contact_fields("2026-12-03T09:00:00Z", "visit recorded offline", "yw-1");
  sync::Op op = must(yw.replica.create(w.fam, "Contact", "c-1", c));
  REQUIRE(yw.push_one(op).status == OpStatus::accepted);
  auto flagged = w.tasks(server::task_type::kFlagReview);
  REQUIRE(flagged.size() == 1);
  CHECK(flagged[0].assignee == "hv-1");
  CHECK(flagged[0].about == op.id.to_string());
  CHECK(flagged[0].due_at == "2026-12-07T10:00:01.000Z");  // two working days after the push
  CHECK_THAT(flagged[0].detail, Contains("recorded_after_team_removal"));
  CHECK(yw.push_one(op).status == OpStatus::duplicate);
  CHECK(w.tasks(server::task_type::kFlagReview).size() == 1);
}

TEST_CASE("Task triggers: a withdrawal at the office notifies each recipient's team member and asks the lead for a "
          "risk consideration", "[unit][security]") {
  World w;
  w.h.allocate(w.fam, "sch-1");
  FieldValues k = consent_fields();
  k["covers_persons"] = StringList{"p-1"};
  k["given_by"] = "p-1";
  k["purposes"] = StringList{"RECEIVE_EARLY_HELP", "SHARE_WITH_TAF"};
  k["recipients"] = StringList{"org-hv", "org-sc"};
  REQUIRE(w.hv->push_one(must(w.hv->replica.create(w.fam, "ConsentRecord", "k-1", k))).status == OpStatus::accepted);
  CHECK(w.tasks().empty());  // an active consent calls for nothing

  auto withdraw = [&](server::Withdrawal::Scope scope, StringList items) {
    server::Withdrawal wd;
    wd.family = w.fam;
    wd.consent = "k-1";
    wd.scope = scope;
    wd.items = std::move(items);
    wd.withdrawn_by = "p-1";
    wd.recorded_by = "hv-1";
    wd.channel = "PHONE";
    return must(w.h.service.with_context([&](server::ServiceContext& ctx) {
      return server::authority_write(ctx, {server::consent_withdrawal(wd), server::record_tasks(w.fam, "k-1")});
    }));
  };
  withdraw(server::Withdrawal::Scope::recipients, {"org-sc"});
  auto notices = w.tasks(server::task_type::kConsentWithdrawnNotice);
  REQUIRE(notices.size() == 1);  // the school's member only: the lead agency keeps its record
  CHECK(notices[0].assignee == "sch-1");
  CHECK(notices[0].about == "k-1");
  CHECK(notices[0].due_at == kMonday);
  CHECK_THAT(notices[0].detail, Contains("do not further use or share information about p-1;"));
  CHECK_THAT(notices[0].detail, !Contains("P F"));  // ids only: no names travel in a notice
  CHECK_THAT(notices[0].detail, Contains("retain per your own retention policy"));
  CHECK(w.tasks(server::task_type::kWithdrawalRiskConsideration).empty());  // early help not withdrawn

  // The notice reaches the school's tablet whole, though the father's records no longer do.
  Device school(w.h, "dev-sc", "sch-1");
  school.pull();
  CHECK_FALSE(school.replica.mat().entity("p-1"));
  const sync::EntityMerge* notice = school.replica.mat().entity(notices[0].id);
  REQUIRE(notice);
  CHECK_THAT(notice->value("detail").as_string(), Contains("do not further use or share"));

  // Withdrawing early help: the lead's risk consideration, due the next working day.
  withdraw(server::Withdrawal::Scope::purposes, {"RECEIVE_EARLY_HELP"});
  auto risk = w.tasks(server::task_type::kWithdrawalRiskConsideration);
  REQUIRE(risk.size() == 1);
  CHECK(risk[0].assignee == "hv-1");
  CHECK(risk[0].due_at == kFriday);
  CHECK(risk[0].about == "k-1");
  CHECK(w.tasks(server::task_type::kConsentWithdrawnNotice).size() == 1);  // nothing more for the school
}

TEST_CASE("Task triggers: a withdrawal of early help pushed from a tablet raises one risk consideration", "[unit]") {
  World w;
  FieldValues k = consent_fields();
  k["covers_persons"] = StringList{"p-1"};
  k["given_by"] = "p-1";
  k["purposes"] = StringList{"RECEIVE_EARLY_HELP"};
  REQUIRE(w.hv->push_one(must(w.hv->replica.create(w.fam, "ConsentRecord", "k-1", k))).status == OpStatus::accepted);
  Device yw(w.h, "dev-yw", "yw-1");
  yw.pull();
  sync::Op op = must(yw.replica.set("k-1", "status", Value(std::string("WITHDRAWN"))));
  REQUIRE(yw.push_one(op).status == OpStatus::accepted);
  auto risk = w.tasks(server::task_type::kWithdrawalRiskConsideration);
  REQUIRE(risk.size() == 1);
  CHECK(risk[0].assignee == "hv-1");
  CHECK(risk[0].due_at == kFriday);
  CHECK(yw.push_one(op).status == OpStatus::duplicate);
  REQUIRE(yw.push_one(must(yw.replica.set("k-1", "withdrawal_channel", Value(std::string("PHONE"))))).status ==
          OpStatus::accepted);
  CHECK(w.tasks(server::task_type::kWithdrawalRiskConsideration).size() == 1);  // the same withdrawal seen again
}

namespace {

FieldValues decision_fields(const std::string& decided_by) {
  return {{"decided_at", "2026-12-03T09:00:00Z"},
          {"decided_by", decided_by},
          {"decision", "SHARE"},
          {"with_consent", "NO_WITHDRAWN"},
          {"recipients", StringList{"org-csc"}},
          {"items_summary", "the withdrawal and the concern it raises"},
          {"purpose", "STEP_UP"},
          {"risk_description", "withdrawal follows a disclosure at school"},
          {"necessity_proportionality", "the minimum CSC needs to decide"},
          {"subject_informed", "NOT_INFORMED"},
          {"not_informed_reason", "WOULD_INCREASE_RISK_TO_CHILD"},
          {"lawful_basis", "PUBLIC_TASK_6_1_E"},
          {"art9_condition", "SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING"}};
}

}  // namespace

TEST_CASE("Task triggers: an information-sharing decision asks a manager to countersign by the next working day "
          "and the countersignature closes it", "[unit][security]") {
  World w;
  sync::Op made = must(w.hv->replica.create(w.fam, "InformationSharingDecision", "isd-1", decision_fields("hv-1")));
  REQUIRE(w.hv->push_one(made).status == OpStatus::accepted);  // the share is never held for it
  auto sign = w.tasks(server::task_type::kOverrideCountersign);
  REQUIRE(sign.size() == 1);
  CHECK(sign[0].assignee == "mgr-1");
  CHECK(sign[0].due_at == kFriday);
  CHECK(sign[0].about == "isd-1");
  CHECK(w.hv->push_one(made).status == OpStatus::duplicate);
  CHECK(w.tasks(server::task_type::kOverrideCountersign).size() == 1);

  // The decider does not countersign her own decision, nor does a TAF member.
  CHECK(w.hv->push_one(must(w.hv->replica.set("isd-1", "countersigned_by", Value(std::string("hv-1"))))).status ==
        OpStatus::held);
  Device yw(w.h, "dev-yw", "yw-1");
  yw.pull();
  auto by_member = yw.push_one(must(yw.replica.set("isd-1", "countersigned_by", Value(std::string("yw-1")))));
  CHECK(by_member.status == OpStatus::held);
  CHECK_THAT(by_member.reason, Contains("DSL"));
  // Any other field of the decision stays immutable.
  CHECK_FALSE(yw.replica.set("isd-1", "risk_description", Value(std::string("changed"))));
  // Nobody but the assignee, the lead or a manager closes the task.
  auto closing = yw.push_one(must(yw.replica.set(sign[0].id, "status", Value(std::string("DONE")))));
  CHECK(closing.status == OpStatus::held);

  // The manager countersigns: the task is DONE, written by the server.
  Device mgr(w.h, "dev-mgr", "mgr-1");
  mgr.pull();
  REQUIRE(mgr.push_one(must(mgr.replica.set("isd-1", "countersigned_by", Value(std::string("mgr-1"))))).status ==
          OpStatus::accepted);
  REQUIRE(mgr.push_one(must(mgr.replica.set("isd-1", "countersigned_at", Value(std::string("2026-12-03T11:00:00Z")))))
              .status == OpStatus::accepted);
  sign = w.tasks(server::task_type::kOverrideCountersign);
  REQUIRE(sign.size() == 1);
  CHECK(sign[0].status == "DONE");
  // Once: a second countersignature is held.
  auto again = mgr.push_one(must(mgr.replica.set("isd-1", "countersigned_by", Value(std::string("mgr-1")))));
  CHECK(again.status == OpStatus::held);
  CHECK_THAT(again.reason, Contains("already countersigned"));
}

TEST_CASE("S2b in process: closing for FAMILY_WITHDREW_CONSENT is held while the lead's risk consideration is open",
          "[unit][security]") {
  World w;
  FieldValues k = consent_fields();
  k["covers_persons"] = StringList{"p-1"};
  k["given_by"] = "p-1";
  k["purposes"] = StringList{"RECEIVE_EARLY_HELP", "SHARE_WITH_TAF"};
  REQUIRE(w.hv->push_one(must(w.hv->replica.create(w.fam, "ConsentRecord", "k-1", k))).status == OpStatus::accepted);
  REQUIRE(w.hv->push_one(must(w.hv->replica.set("k-1", "status", Value(std::string("WITHDRAWN"))))).status ==
          OpStatus::accepted);
  auto risk = w.tasks(server::task_type::kWithdrawalRiskConsideration);
  REQUIRE(risk.size() == 1);

  REQUIRE(w.hv->push_one(must(w.hv->replica.set("ep-1", "closure_reason", Value(std::string("FAMILY_WITHDREW_CONSENT")))))
              .status == OpStatus::accepted);
  auto held = w.hv->push_one(must(w.hv->replica.transition("ep-1", "CLOSING")));
  REQUIRE(held.status == OpStatus::held);
  CHECK_THAT(held.reason, Contains("risk consideration"));
  CHECK_THAT(held.reason, Contains(risk[0].id));

  // The lead records the consideration (no safeguarding concern) and marks the task done.
  w.hv->pull();
  REQUIRE(w.hv->push_one(must(w.hv->replica.set(risk[0].id, "status", Value(std::string("DONE"))))).status ==
          OpStatus::accepted);
  Device again(w.h, "dev-hv-2", "hv-1");
  again.pull();
  CHECK(again.push_one(must(again.replica.transition("ep-1", "CLOSING"))).status == OpStatus::accepted);
}

TEST_CASE("Tasks: the office lists tasks by family and assignee and overdue", "[unit]") {
  World w;
  Device yw(w.h, "dev-yw", "yw-1");
  yw.pull();
  REQUIRE(yw.push_one(must(yw.replica.set("ep-1", "lead_professional", Value(std::string("yw-1"))))).status ==
          OpStatus::held);
  auto query = [&](server::TaskQuery q) {
    return must(w.h.service.with_context([&](server::ServiceContext& ctx) { return server::list_tasks(ctx, q); }));
  };
  CHECK(query({"", "hv-1", false}).size() == 1);
  CHECK(query({"", "yw-1", false}).empty());
  CHECK(query({"", "", true}).empty());
  w.h.clock.set(static_cast<uint64_t>(at("2026-12-07T10:00:01Z")));  // past Monday 10:00
  auto overdue = query({"", "", true});
  REQUIRE(overdue.size() == 1);
  CHECK(overdue[0].family == w.fam);
  auto unknown = w.h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::list_tasks(ctx, {"no-such-family", "", false}); });
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == ErrorCode::not_found);
}

TEST_CASE("Tasks: close_tasks sets the open tasks about one subject DONE once", "[unit]") {
  World w;
  Device yw(w.h, "dev-yw", "yw-1");
  yw.pull();
  sync::Op op = must(yw.replica.set("ep-1", "lead_professional", Value(std::string("yw-1"))));
  REQUIRE(yw.push_one(op).status == OpStatus::held);
  auto close = [&] {
    return must(w.h.service.with_context([&](server::ServiceContext& ctx) {
      return server::authority_write(
          ctx, {server::close_tasks(w.fam, server::task_type::kWriteRefused, op.id.to_string(), "decided")});
    }));
  };
  CHECK(close().size() == 1);
  CHECK(close().empty());  // nothing open any more
  auto refused = w.tasks(server::task_type::kWriteRefused);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].status == "DONE");
  CHECK(w.audits("task-done") == 1);
}

TEST_CASE("Task triggers: deciding a held op closes its WRITE_REFUSED task", "[unit]") {
  World w;
  Device yw(w.h, "dev-yw", "yw-1");
  yw.pull();
  sync::Op lead = must(yw.replica.set("ep-1", "lead_professional", Value(std::string("yw-1"))));
  REQUIRE(yw.push_one(lead).status == OpStatus::held);
  REQUIRE(w.tasks(server::task_type::kWriteRefused).size() == 1);
  must(w.h.service.with_context([&](server::ServiceContext& ctx) {
    return server::dismiss_held(ctx, lead.id.to_string(), "hv-1", "the lead stays hv-1");
  }));
  auto refused = w.tasks(server::task_type::kWriteRefused);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].status == "DONE");
}
