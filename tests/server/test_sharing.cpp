// Sharing acts decided at sync (usecases/sharing.hpp; DOMAIN.md §6.6, §6.8, §13 S2): a
// SharingRequest pushed by a tablet is sent, cancelled with a reason or held for the lead,
// against the family's records at push time, and the outcome reaches the tablet as authority
// ops. In process, over the service harness.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "service_harness.hpp"
#include "usecases/consent.hpp"
#include "usecases/sharing.hpp"
#include "usecases/tasks.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using sync::protocol::OpStatus;

namespace {

std::vector<std::string> audit_details(const ServiceHarness& h, const std::string& action) {
  auto db = must(server::sql::is_postgres_uri(h.db.location()) ? server::sql::open_postgres(h.db.location())
                                                                  : server::sql::open_sqlite(h.db.location()));
  auto st = must(db->prepare("SELECT detail FROM audit_events WHERE action = ? ORDER BY at, chain, idx"));
  st.bind(1, action);
  std::vector<std::string> out;
  REQUIRE(st.each([&](server::sql::Statement& r) { out.push_back(r.text(0)); }));
  return out;
}

std::string text(const Device& d, const std::string& id, const std::string& field) {
  const sync::EntityMerge* e = d.replica.mat().entity(id);
  if (!e) return "<no record " + id + ">";
  Value v = e->value(field);
  return v.is_string() ? v.as_string() : std::string();
}

// S2's family on hv-1's tablet (the lead, of org-hv): father P with parental responsibility and
// daughter D, competent and consenting for herself; both consent to share with the school. A
// plan with an outcome for D and an action.
struct S2Family {
  std::string id = "fam-g", p = "p-1", d = "d-1", k1 = "k-1", k2 = "k-2", plan = "plan-1", outcome = "po-1",
              action = "pa-1", note_p = "c-p", note_d = "c-d";
  Device& hv;

  explicit S2Family(ServiceHarness& h, Device& lead) : hv(lead) {
    must(h.store->caseload().add_organisation("org-school", "Hillside School", "SCHOOL"));
    must(h.store->caseload().add_organisation("org-housing", "Housing", "HOUSING"));
    auto& r = hv.replica;
    FieldValues ep = episode_fields({d});
    ep["allocated_org"] = "org-hv";
    std::vector<sync::Op> ops{
        must(r.create(id, "Family", id, family_fields("Family G"))),
        must(r.create(id, "Person", p, person_fields("P", "1980-02-03"))),
        must(r.create(id, "Person", d, person_fields("D", "2011-04-01"))),
        must(r.create(id, "Relationship", "rel-1",
                      {{"person_a", p}, {"person_b", d}, {"type", "FATHER"}, {"parental_responsibility", "YES"}})),
        must(r.create(id, "EarlyHelpEpisode", "ep-1", ep)),
        must(r.create(id, "ConsentRecord", k1, consent(p, p, "SELF_ADULT"))),
        must(r.create(id, "ConsentRecord", k2, consent(d, d, "COMPETENT_CHILD_SELF"))),
        must(r.create(id, "FamilyPlan", plan, plan_fields("ep-1"))),
        must(r.create(id, "PlanOutcome", outcome,
                      {{"plan", plan}, {"statement", "D attends school every day"},
                       {"linked_needs", StringList{"SCHOOL_ATTENDANCE_EXCLUSION"}}, {"children", StringList{d}},
                       {"measure", "attendance"}, {"target", "95%"}, {"target_date", "2026-06-01"},
                       {"status", "IN_PROGRESS"}})),
        must(r.create(id, "PlanAction", action, action_fields())),
        must(r.create(id, "Contact", note_p, visit(p, "marker-P"))),
        must(r.create(id, "Contact", note_d, visit(d, "marker-D"))),
    };
    for (const auto& res : hv.push(ops)) REQUIRE(res.status == OpStatus::accepted);
  }

  FieldValues consent(const std::string& about, const std::string& by, const std::string& basis) {
    FieldValues c = consent_fields();
    c["covers_persons"] = StringList{about};
    c["given_by"] = by;
    c["capacity_basis"] = basis;
    c["recipients"] = StringList{"org-hv", "org-school", "org-housing"};
    if (basis == "COMPETENT_CHILD_SELF") {
      c["competence_rationale"] = "understands sharing with school";
      c["competence_assessed_by"] = "hv-1";
      c["competence_assessed_at"] = "2026-01-05T09:00:00Z";
    }
    return c;
  }
  static FieldValues visit(const std::string& who, const std::string& narrative) {
    FieldValues v = contact_fields("2026-01-06T10:00:00Z", narrative);
    v["persons_present"] = StringList{who};
    return v;
  }

  // The father withdraws sharing with the school at the office (S2 step 1).
  void withdraw_for_school(ServiceHarness& h) {
    server::Withdrawal w;
    w.family = id;
    w.consent = k1;
    w.scope = server::Withdrawal::Scope::recipients;
    w.items = {"org-school"};
    w.withdrawn_by = p;
    w.recorded_by = "tm-1";
    w.channel = "PHONE";
    must(h.service.with_context(
        [&](server::ServiceContext& ctx) { return server::authority_write(ctx, {server::consent_withdrawal(w)}); }));
  }

  // A sharing act queued on the lead's tablet.
  sync::Op request(const std::string& rid, const std::string& kind, const std::string& recipient,
                   FieldValues extra = {}) {
    FieldValues f{{"kind", kind}, {"recipient", recipient}, {"requested_by", "hv-1"},
                  {"requested_at", "2026-01-06T11:00:00Z"}};
    for (auto& [k, v] : extra) f[k] = v;
    return must(hv.replica.create(id, "SharingRequest", rid, f));
  }
};

}  // namespace

TEST_CASE("Sharing: a plan sent to a covered recipient is SENT and the disclosure is audited", "[unit][security]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  S2Family f(h, hv);
  REQUIRE(hv.push_one(f.request("sr-1", "SEND_PLAN", "org-school", {{"plan", f.plan}})).status == OpStatus::accepted);
  hv.pull();
  CHECK(text(hv, "sr-1", "status") == "SENT");
  CHECK_FALSE(text(hv, "sr-1", "decided_at").empty());
  CHECK_THAT(text(hv, "sr-1", "outcome_reason"), Contains("sent"));
  auto disclosures = audit_details(h, "disclosure");
  REQUIRE(disclosures.size() == 1);
  // what, to whom, and the request
  CHECK_THAT(disclosures[0], Contains("sr-1") && Contains("org-school") && Contains(f.plan) && Contains(f.outcome) &&
                                 Contains(f.action) && Contains("requested by hv-1 at 2026-01-06T11:00:00Z"));
}

TEST_CASE("Sharing: after the father's withdrawal for the school a plan is CANCELLED and a TAF invitation HELD",
          "[unit][security]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  S2Family f(h, hv);
  f.withdraw_for_school(h);
  // queued offline before the tablet knew of the withdrawal: pushed in one batch with a visit
  auto c3 = must(hv.replica.create(f.id, "Contact", "c-3", S2Family::visit(f.d, "marker-D2")));
  auto results = hv.push({c3, f.request("sr-a", "SEND_PLAN", "org-school", {{"plan", f.plan}}),
                          f.request("sr-b", "INVITE_TO_TAF", "org-school")});
  for (const auto& r : results) {
    INFO(r.op_id << " " << r.reason);
    CHECK(r.status == OpStatus::accepted);
    CHECK(r.reason.empty());  // C3 is about D only: accepted without a flag
  }
  hv.pull();
  CHECK(text(hv, "sr-a", "status") == "CANCELLED");
  std::string why = text(hv, "sr-a", "outcome_reason");
  CHECK_THAT(why, Contains("p-1 (P F)") && Contains("org-school") && Contains("re-issue an extract scoped to d-1 (D F)"));
  CHECK(text(hv, "sr-b", "status") == "HELD");
  CHECK_THAT(text(hv, "sr-b", "outcome_reason"), Contains("lead professional hv-1") && Contains("p-1 (P F)"));
  // (b) comes back to the lead as a SHARE_HELD decision task, raised once
  server::TaskSpec spec{server::task_type::kShareHeld, "hv-1", 0, "sr-b", ""};
  std::string task = server::task_id(f.id, spec);
  CHECK(text(hv, task, "task_type") == "SHARE_HELD");
  CHECK(text(hv, task, "assignee") == "hv-1");
  CHECK(text(hv, task, "about") == "sr-b");
  CHECK(text(hv, task, "status") == "OPEN");
  CHECK_FALSE(text(hv, task, "due_at").empty());
  // Tasks reach the whole team: persons by id, never by name.
  CHECK_THAT(text(hv, task, "detail"), Contains("p-1") && !Contains("P F"));
  CHECK(hv.replica.mat().entity(server::task_id(f.id, {server::task_type::kShareHeld, "hv-1", 0, "sr-a", ""})) ==
        nullptr);  // a cancelled act raises no task
  CHECK(audit_details(h, "disclosure").empty());
  CHECK(audit_details(h, "share-cancelled").size() == 1);
  CHECK(audit_details(h, "share-held").size() == 1);

  // D's own records still go to the school, and anything to the lead agency itself
  REQUIRE(hv.push({f.request("sr-c", "EXPORT_FOR_AGENCY", "org-school", {{"items", StringList{f.note_d}}}),
                   f.request("sr-d", "EXPORT_FOR_AGENCY", "org-school", {{"items", StringList{f.note_p, f.note_d}}}),
                   f.request("sr-e", "SEND_PLAN", "org-housing", {{"plan", f.plan}})})
              .size() == 3);
  hv.pull();
  CHECK(text(hv, "sr-c", "status") == "SENT");
  CHECK(text(hv, "sr-d", "status") == "CANCELLED");
  CHECK_THAT(text(hv, "sr-d", "outcome_reason"), Contains("p-1 (P F)"));
  CHECK(text(hv, "sr-e", "status") == "SENT");  // the withdrawal named the school only
}

TEST_CASE("Sharing: a request naming a plan or organisation that does not exist is CANCELLED with the reason",
          "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  S2Family f(h, hv);
  hv.push({f.request("sr-x", "SEND_PLAN", "org-nowhere", {{"plan", f.plan}}),
           f.request("sr-y", "SEND_PLAN", "org-school", {{"plan", "plan-missing"}}),
           f.request("sr-z", "EXPORT_FOR_AGENCY", "org-school", {{"items", StringList{"no-such-record"}}})});
  hv.pull();
  CHECK(text(hv, "sr-x", "status") == "CANCELLED");
  CHECK_THAT(text(hv, "sr-x", "outcome_reason"), Contains("no organisation 'org-nowhere'"));
  CHECK(text(hv, "sr-y", "status") == "CANCELLED");
  CHECK_THAT(text(hv, "sr-y", "outcome_reason"), Contains("no plan 'plan-missing'"));
  CHECK(text(hv, "sr-z", "status") == "CANCELLED");
  CHECK_THAT(text(hv, "sr-z", "outcome_reason"), Contains("no record 'no-such-record'"));
}

TEST_CASE("Sharing: the outcome is server authority: a tablet's edit of it is held, a decided request is not redecided",
          "[unit][security]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  S2Family f(h, hv);
  f.withdraw_for_school(h);
  hv.push_one(f.request("sr-a", "SEND_PLAN", "org-school", {{"plan", f.plan}}));
  hv.pull();
  REQUIRE(text(hv, "sr-a", "status") == "CANCELLED");
  // the lead's tablet tries to mark it sent: held for a decision, not applied
  auto sent = hv.push_one(must(hv.replica.set("sr-a", "status", Value("SENT"))));
  CHECK(sent.status == OpStatus::held);
  CHECK_THAT(sent.reason, Contains("server authority"));
  auto reason = hv.push_one(must(hv.replica.set("sr-a", "outcome_reason", Value("fine"))));
  CHECK(reason.status == OpStatus::held);
  // a tablet creating a request with an outcome already set is held too
  auto pre = hv.push_one(f.request("sr-f", "SEND_PLAN", "org-school", {{"plan", f.plan}, {"status", "SENT"}}));
  CHECK(pre.status == OpStatus::held);
  // the server's view is unchanged and nothing was disclosed
  Device other(h, "dev-hv2", "hv-1");
  other.pull();
  CHECK(text(other, "sr-a", "status") == "CANCELLED");
  CHECK(other.replica.mat().entity("sr-f") == nullptr);
  CHECK(audit_details(h, "disclosure").empty());
  // deciding again finds nothing to decide
  auto again = must(h.service.with_context([&](server::ServiceContext& ctx) {
    return server::decide_share(ctx, f.id, "sr-a");
  }));
  CHECK_FALSE(again);
}
