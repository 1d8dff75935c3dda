// The step-up workflow in process (usecases/step_up.hpp, office_inbound.hpp; DOMAIN.md §4.2, §4.4,
// §4.6, §8.3 C-19, §13 S3, S3b, S3c): family H of S3 over the service harness, the lead's and the
// children's centre worker's devices pushing and pulling through HttpRequest values, the office
// deciding through POST /v1/office/inbound with an office credential.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../support/db_count.hpp"
#include "hearth/core/access.hpp"
#include "hearth/core/civil_time.hpp"
#include "service_harness.hpp"
#include "usecases/held.hpp"
#include "usecases/office.hpp"
#include "usecases/office_inbound.hpp"
#include "usecases/step_up.hpp"
#include "usecases/task_list.hpp"
#include "usecases/tasks.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using sync::protocol::OpStatus;

namespace {

int64_t at(const std::string& iso) { return *civil::parse_ms(iso); }

constexpr const char* kTuesdayNoon = "2026-12-01T12:00:00Z";  // S3 "T+12:00": HV3 syncs

// S3's family H: mother Q (PR), children R (3) and U (newborn); episode ep-3 ACTIVE, led by hv-1
// (health visiting, the lead agency) with plan v1 ACTIVE; SHARE_WITH_TAF consent for the
// children's centre (cc-1) and the GP (gp-1), both TAF members; mgr-1 manages health visiting.
struct S3 {
  ServiceHarness h;
  std::string fam = "fam-h";
  std::unique_ptr<Device> hv, cc, gp;
  std::string office_token;

  S3() {
    h.clock.set(static_cast<uint64_t>(at("2026-12-01T08:00:00Z")));
    auto& dir = h.store->caseload();
    must(dir.add_practitioner("mgr-1", "org-hv", "Manager", "TEAM_MANAGER"));
    must(dir.add_organisation("org-cc", "Children's Centre", "CHILDRENS_CENTRE"));
    must(dir.add_organisation("org-gp", "Surgery", "GP_PRACTICE"));
    must(dir.add_practitioner("cc-1", "org-cc", "CC worker", "PRACTITIONER"));
    must(dir.add_practitioner("gp-1", "org-gp", "GP", "PRACTITIONER"));
    hv = std::make_unique<Device>(h, "dev-hv", "hv-1");
    auto& r = hv->replica;
    std::vector<sync::Op> ops;
    ops.push_back(must(r.create(fam, "Family", fam, family_fields("Family H"))));
    ops.push_back(must(r.create(fam, "Person", "q", person_fields("Q", "1995-03-01"))));
    ops.push_back(must(r.create(fam, "Person", "r", person_fields("R", "2023-06-01"))));
    ops.push_back(must(r.create(fam, "Person", "u", person_fields("U", "2026-11-20"))));
    for (const char* child : {"r", "u"})
      ops.push_back(must(r.create(fam, "Relationship", std::string("rel-") + child,
                                  {{"person_a", "q"}, {"person_b", child}, {"type", "MOTHER"},
                                   {"parental_responsibility", "YES"}})));
    FieldValues ep = episode_fields({"r", "u"});
    ep["allocated_org"] = "org-hv";
    ops.push_back(must(r.create(fam, "EarlyHelpEpisode", "ep-3", ep)));
    for (const char* to : {"ASSESSMENT", "PLANNING", "ACTIVE"}) ops.push_back(must(r.transition("ep-3", to)));
    FieldValues own = consent_fields();
    own["covers_persons"] = StringList{"q"};
    own["given_by"] = "q";
    own["recipients"] = StringList{"org-cc", "org-gp"};
    ops.push_back(must(r.create(fam, "ConsentRecord", "k-q", own)));
    FieldValues kids = own;
    kids["covers_persons"] = StringList{"r", "u"};
    kids["capacity_basis"] = "PR_HOLDER_FOR_CHILD";
    ops.push_back(must(r.create(fam, "ConsentRecord", "k-kids", kids)));
    ops.push_back(must(r.create(fam, "FamilyPlan", "plan-1", plan_fields("ep-3"))));
    ops.push_back(must(r.set("plan-1", "agreed_at", Value(std::string("2026-10-01T10:00:00Z")))));
    ops.push_back(must(r.add("plan-1", "family_agreement", "q")));
    for (const char* to : {"AGREED", "ACTIVE"}) ops.push_back(must(r.transition("plan-1", to)));
    ops.push_back(must(r.create(fam, "PlanOutcome", "po-1",
                                {{"plan", "plan-1"}, {"statement", "R enjoys playing with other children"},
                                 {"linked_needs", StringList{"PARENTING_SUPPORT"}}, {"measure", "attendance"},
                                 {"target", "weekly"}, {"target_date", "2027-03-01"}, {"status", "IN_PROGRESS"}})));
    FieldValues action = action_fields();
    action["description"] = "R attends stay-and-play";
    action["owner_practitioner"] = "cc-1";
    ops.push_back(must(r.create(fam, "PlanAction", "pa-1", action)));
    for (const auto& result : hv->push(ops)) REQUIRE(result.status == OpStatus::accepted);
    h.allocate(fam, "cc-1");
    h.allocate(fam, "gp-1");
    h.allocate(fam, "mgr-1");
    cc = std::make_unique<Device>(h, "dev-cc", "cc-1");
    gp = std::make_unique<Device>(h, "dev-gp", "gp-1");
    cc->pull();
    gp->pull();
    office_token = must(h.service.with_context(
        [](server::ServiceContext& ctx) { return server::issue_office_credential(ctx, "case-system"); }));
  }

  // S3 step 2, offline at 09:45: contact C4, StepUpRequest SU1 (submitted), the alert and D1.
  std::vector<sync::Op> step_up_ops() {
    auto& r = hv->replica;
    std::vector<sync::Op> ops;
    FieldValues c4 = contact_fields("2026-12-01T09:30:00Z", "Q disclosed an assault last night while holding U");
    c4["children_seen"] = StringList{"r", "u"};
    c4["concern_raised"] = true;
    ops.push_back(must(r.create(fam, "Contact", "c4", c4)));
    ops.push_back(must(r.create(fam, "InformationSharingDecision", "d1",
                                {{"decided_at", "2026-12-01T09:45:00Z"}, {"decided_by", "hv-1"}, {"decision", "SHARE"},
                                 {"with_consent", "NO_NOT_SOUGHT"}, {"recipients", StringList{"org-mash"}},
                                 {"items_summary", "C4 and the plan"}, {"purpose", "STEP_UP"},
                                 {"risk_description", "assault while holding a newborn"},
                                 {"necessity_proportionality", "what the front door needs"},
                                 {"subject_informed", "NOT_INFORMED"}, {"not_informed_reason", "WOULD_INCREASE_RISK_TO_CHILD"},
                                 {"lawful_basis", "PUBLIC_TASK_6_1_E"},
                                 {"art9_condition", "SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING"}})));
    ops.push_back(must(r.create(fam, "StepUpRequest", "su-1",
                                {{"episode", "ep-3"}, {"children", StringList{"r", "u"}}, {"kind", "UNPLANNED_INCIDENT"},
                                 {"reason", "assault disclosed, bruising seen"}, {"significant_harm", true},
                                 {"consent_position", "NOT_SOUGHT_WOULD_INCREASE_RISK"}, {"disclosure", "d1"}})));
    ops.push_back(must(r.set("su-1", "submitted_at", Value(std::string("2026-12-01T09:45:00Z")))));
    ops.push_back(must(r.set("su-1", "phone_referral_made_at", Value(std::string("2026-12-01T10:05:00Z")))));
    ops.push_back(must(r.transition("su-1", "SUBMITTED")));
    FieldValues alert = alert_fields("HIGH");
    alert["subject"] = fam;
    ops.push_back(must(r.create(fam, "Alert", "al-1", alert)));
    return ops;
  }

  // S3 step 3, offline at 10:10: the CC worker's action status and her own contact C5.
  std::pair<sync::Op, sync::Op> cc_offline_work() {
    sync::Op edit = must(cc->replica.set("pa-1", "status", Value(std::string("IN_PROGRESS"))));
    FieldValues c5 = contact_fields("2026-12-01T09:00:00Z", "R at stay-and-play, settled", "cc-1");
    c5["contact_type"] = "GROUP_SESSION";
    sync::Op contact = must(cc->replica.create(fam, "Contact", "c5", c5));
    return {edit, contact};
  }

  void step_up_synced() {
    h.clock.set(static_cast<uint64_t>(at(kTuesdayNoon)));
    for (const auto& result : hv->push(step_up_ops())) REQUIRE(result.status == OpStatus::accepted);
  }

  const sync::EntityMerge* record(const std::string& id) {
    return must(h.service.with_context([&](server::ServiceContext& ctx) -> Result<const sync::EntityMerge*> {
      auto m = ctx.cache.get(fam);
      if (!m) return m.error();
      return (*m)->entity(id);
    }));
  }
  std::string status(const std::string& id) {
    const sync::EntityMerge* e = record(id);
    return e ? e->status() : std::string("(none)");
  }
  std::string value(const std::string& id, const std::string& field) {
    const sync::EntityMerge* e = record(id);
    Value v = e ? e->value(field) : Value();
    return v.is_string() ? v.as_string() : std::string();
  }

  std::vector<server::TaskRow> tasks(const std::string& type) {
    auto all = must(h.service.with_context(
        [&](server::ServiceContext& ctx) { return server::list_tasks(ctx, server::TaskQuery{fam, "", false}); }));
    std::vector<server::TaskRow> out;
    for (auto& t : all)
      if (t.type == type) out.push_back(std::move(t));
    return out;
  }

  // The family's page as `d` receives it afresh (no cursor): its withheld list and ops.
  sync::protocol::FamilyPage page(Device& d) {
    sync::protocol::PullRequest request;
    auto r = h.post("/v1/pull", sync::protocol::encode(request), d.token);
    REQUIRE(r.status == 200);
    for (auto& f : must(sync::protocol::decode_pull_reply(r.body)).families)
      if (f.family == fam) return f;
    FAIL("no page of " << fam);
    return {};
  }

  server::HttpResponse inbound(const std::string& body, const std::string& token) {
    return h.post("/v1/office/inbound", body, token);
  }
  server::HttpResponse decide(const std::string& id, const std::string& decision) {
    json m = {{"message_id", id}, {"kind", "step_up_decision"}, {"step_up", "su-1"}, {"csc_decision", decision},
              {"csc_ref", "CSC-77"}, {"decided_at", "2026-12-01T15:00:00Z"}};
    return inbound(m.dump(), office_token);
  }

  int64_t audits(const std::string& action) {
    return db_count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = ?", {action});
  }
};

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

TEST_CASE("S3 service: submitting a step-up moves the episode to STEP_UP_PENDING and locks the plan, with the "
          "countersign and escalation tasks",
          "[unit][stepup]") {
  S3 s;
  s.step_up_synced();
  CHECK(s.status("ep-3") == "STEP_UP_PENDING");
  CHECK(s.status("plan-1") == "LOCKED_STEPPED_UP");
  CHECK(s.status("su-1") == "SUBMITTED");
  // D1 was made without consent: its countersign task goes to the lead's manager, next working day.
  auto sign = s.tasks(server::task_type::kOverrideCountersign);
  REQUIRE(sign.size() == 1);
  CHECK(sign[0].assignee == "mgr-1");
  CHECK(sign[0].about == "d1");
  CHECK(sign[0].due_at == "2026-12-02T12:00:00.000Z");
  // The TAF members (not the lead, not the manager) are told only that the episode escalated.
  auto notices = s.tasks("ESCALATION_NOTICE");
  REQUIRE(notices.size() == 2);
  for (const auto& n : notices) {
    CHECK((n.assignee == "cc-1" || n.assignee == "gp-1"));
    CHECK_THAT(n.detail, StartsWith(access::kEscalatedReason));
    CHECK_THAT(n.detail, !Contains("assault"));
  }
  CHECK(s.audits("step-up-submitted") == 1);
  // The same step-up pushed again changes nothing.
  for (const auto& r : s.hv->push(s.hv->replica.made())) CHECK(r.status == OpStatus::duplicate);
  CHECK(s.tasks("ESCALATION_NOTICE").size() == 2);
  CHECK(s.audits("step-up-submitted") == 1);
}

TEST_CASE("S3 service: the CC worker's plan action edit is held with its value for the lead while her contact is "
          "accepted (C-19)",
          "[unit][stepup]") {
  S3 s;
  auto [edit, contact] = s.cc_offline_work();
  s.step_up_synced();
  auto results = s.cc->push({edit, contact});
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == OpStatus::held);
  CHECK_THAT(results[0].reason, StartsWith(access::kPlanLockedReason));
  CHECK_THAT(results[0].reason, Contains("plan-1") && Contains("C-19"));
  CHECK(results[0].route_to == "hv-1");
  CHECK(results[1].status == OpStatus::accepted);
  CHECK(s.value("pa-1", "status") == "NOT_STARTED");  // not applied
  auto held = must(s.h.service.with_context([&](server::ServiceContext& ctx) { return server::held_ops(ctx, s.fam); }));
  REQUIRE(held.size() == 1);
  CHECK(held[0].held.op_id == edit.id.to_string());
  CHECK_THAT(held[0].what, Contains("IN_PROGRESS"));  // the value is kept
  // The lead's own plan edit is held too (read-only except contacts), for a manager.
  sync::Op lead_edit = must(s.hv->replica.set("po-1", "target", Value(std::string("twice weekly"))));
  auto lead = s.hv->push_one(lead_edit);
  CHECK(lead.status == OpStatus::held);
  CHECK(lead.route_to == "TEAM_MANAGER");
  // A new action on the locked plan is held as well.
  FieldValues more = action_fields();
  more["outcome"] = "po-1";
  CHECK(s.cc->push_one(must(s.cc->replica.create(s.fam, "PlanAction", "pa-2", more))).status == OpStatus::held);
}

TEST_CASE("S3 service: TAF members see only the escalation notice, not the step-up, D1 or C4 - the alert reaches "
          "them - the lead and the manager see everything",
          "[unit][stepup][security]") {
  S3 s;
  auto [edit, contact] = s.cc_offline_work();
  (void)edit;
  s.step_up_synced();
  REQUIRE(s.cc->push_one(contact).status == OpStatus::accepted);
  auto cc = s.page(*s.cc);
  CHECK(has(cc.withheld, "su-1"));
  CHECK(has(cc.withheld, "d1"));
  CHECK(has(cc.withheld, "c4"));
  CHECK_FALSE(has(cc.withheld, "c5"));    // her own contact
  CHECK_FALSE(has(cc.withheld, "al-1"));  // a safety marker reaches everyone with access (§3.20)
  CHECK_FALSE(has(cc.withheld, "al-1#type"));
  CHECK_FALSE(has(cc.withheld, "al-1#severity"));
  bool alert = false, notice = false;
  for (const auto& bytes : cc.ops) {
    auto op = must(sync::decode(bytes));
    CHECK(op.entity_id != "su-1");
    CHECK(op.entity_id != "c4");
    if (op.entity_id == "al-1" && op.kind == sync::OpKind::Create) alert = op.fields.count("severity") == 1;
    if (op.entity_type == "Task" && op.kind == sync::OpKind::Create && op.fields["task_type"] == Value(std::string("ESCALATION_NOTICE")) &&
        op.fields["assignee"] == Value(std::string("cc-1")))
      notice = true;
  }
  CHECK(alert);
  CHECK(notice);
  auto gp = s.page(*s.gp);
  CHECK(has(gp.withheld, "c4"));
  CHECK(has(gp.withheld, "c5"));  // another practitioner's contact since the step-up
  CHECK(has(gp.withheld, "su-1"));
  // The reason the policy gives (audited, shown): the escalation notice.
  must(s.h.service.with_context([&](server::ServiceContext& ctx) -> Result<void> {
    auto m = ctx.cache.get(s.fam);
    if (!m) return m.error();
    server::Caller caller{"gp-1", "dev-gp", 0, "", {}};
    if (auto c = ctx.policy.complete(caller); !c) return c;
    auto view = ctx.policy.view(caller, *ctx.cache.facts(s.fam), ctx.now());
    if (!view) return view.error();
    CHECK_THAT(view->withheld_records["su-1"], StartsWith(access::kEscalatedReason));
    CHECK_THAT(view->withheld_records["su-1"], Contains("hv-1"));
    return {};
  }));
  Device mgr(s.h, "dev-mgr", "mgr-1");
  auto m = s.page(mgr);
  CHECK_FALSE(has(m.withheld, "su-1"));
  CHECK_FALSE(has(m.withheld, "c4"));
  CHECK(s.page(*s.hv).withheld.empty());
}

TEST_CASE("S3 service: the office's decision through /v1/office/inbound pauses the episode - a repeat is answered as "
          "the first - another body under the same id is refused - bad input gets a clear error",
          "[unit][stepup][security]") {
  S3 s;
  s.step_up_synced();
  s.h.clock.set(static_cast<uint64_t>(at("2026-12-01T15:00:05Z")));
  // Without the office credential, or with a device's: refused.
  CHECK(s.inbound("{}", "").status == 401);
  CHECK(s.inbound("{}", s.hv->token).status == 401);
  // Bad input: named.
  auto not_json = s.inbound("{\"message_id\":", s.office_token);
  CHECK(not_json.status == 400);
  CHECK_THAT(not_json.body, Contains("JSON object"));
  auto no_id = s.inbound(R"({"kind":"step_up_decision"})", s.office_token);
  CHECK(no_id.status == 400);
  CHECK_THAT(no_id.body, Contains("message_id: required"));
  auto kind = s.inbound(R"({"message_id":"m-0","kind":"gossip"})", s.office_token);
  CHECK(kind.status == 400);
  CHECK_THAT(kind.body, Contains("kind: 'gossip' is not a message kind"));
  auto decision = s.inbound(R"({"message_id":"m-0","kind":"step_up_decision","step_up":"su-1","csc_decision":"MAYBE"})",
                            s.office_token);
  CHECK(decision.status == 400);
  CHECK_THAT(decision.body, Contains("csc_decision: 'MAYBE'"));
  auto when = s.inbound(
      R"({"message_id":"m-0","kind":"step_up_decision","step_up":"su-1","csc_decision":"NFA_RETURN_TO_EH","decided_at":"tomorrow"})",
      s.office_token);
  CHECK(when.status == 400);
  CHECK_THAT(when.body, Contains("decided_at: 'tomorrow'"));
  auto unknown = s.inbound(R"({"message_id":"m-0","kind":"step_up_decision","step_up":"su-9","csc_decision":"NFA_RETURN_TO_EH"})",
                           s.office_token);
  CHECK(unknown.status == 404);
  CHECK_THAT(unknown.body, Contains("su-9"));
  CHECK(s.status("su-1") == "SUBMITTED");  // nothing written by any of them

  auto first = s.decide("m-1", "ACCEPTED_S47_STRATEGY");
  REQUIRE(first.status == 200);
  json a = json::parse(first.body);
  CHECK(a["message_id"] == "m-1");
  CHECK(a["family"] == s.fam);
  CHECK_FALSE(a["ops"].empty());
  CHECK_THAT(a["message"].get<std::string>(), Contains("PAUSED_CSC_LEAD"));
  CHECK(s.status("su-1") == "DECIDED");
  CHECK(s.value("su-1", "csc_decision") == "ACCEPTED_S47_STRATEGY");
  CHECK(s.value("su-1", "csc_ref") == "CSC-77");
  CHECK(s.value("su-1", "decided_at") == "2026-12-01T15:00:00Z");
  CHECK(s.value("su-1", "eh_position") == "EH_PAUSED");
  CHECK(s.status("ep-3") == "PAUSED_CSC_LEAD");
  CHECK(s.status("plan-1") == "LOCKED_STEPPED_UP");
  CHECK(s.audits("step-up-decided") == 1);

  // The same message again (keys reordered): the first answer, nothing written.
  json again = json::parse(R"({"decided_at":"2026-12-01T15:00:00Z","csc_ref":"CSC-77","csc_decision":"ACCEPTED_S47_STRATEGY",
                              "step_up":"su-1","kind":"step_up_decision","message_id":"m-1"})");
  auto repeat = s.inbound(again.dump(2), s.office_token);
  CHECK(repeat.status == 200);
  CHECK(repeat.body == first.body);
  CHECK(s.audits("step-up-decided") == 1);
  CHECK(s.audits("office-inbound-repeat") == 1);
  // The same id with another body: refused, nothing written.
  auto other = s.decide("m-1", "NFA_RETURN_TO_EH");
  CHECK(other.status == 409);
  CHECK_THAT(other.body, Contains("different body"));
  // A new message deciding it again: refused, naming the decision already made.
  auto twice = s.decide("m-2", "NFA_RETURN_TO_EH");
  CHECK(twice.status == 409);
  CHECK_THAT(twice.body, Contains("DECIDED") && Contains("ACCEPTED_S47_STRATEGY"));
  CHECK(s.status("ep-3") == "PAUSED_CSC_LEAD");
}

TEST_CASE("S3b service: NFA returns the episode to ACTIVE, unlocks the plan, raises the review within 10 working "
          "days and offers the held edit back, which the lead re-applies",
          "[unit][stepup]") {
  S3 s;
  auto [edit, contact] = s.cc_offline_work();
  s.step_up_synced();
  REQUIRE(s.cc->push({edit, contact}).at(0).status == OpStatus::held);
  REQUIRE(s.decide("m-1", "NFA_RETURN_TO_EH").status == 200);
  CHECK(s.status("su-1") == "DECIDED");
  CHECK(s.status("ep-3") == "ACTIVE");
  CHECK(s.status("plan-1") == "ACTIVE");
  auto review = s.tasks(server::task_type::kReviewDue);
  REQUIRE(review.size() == 1);
  CHECK(review[0].assignee == "hv-1");
  CHECK(review[0].due_at == "2026-12-15T12:00:00.000Z");  // 10 working days after Tuesday 1 December
  CHECK_THAT(review[0].detail, Contains("NFA_RETURN_TO_EH"));
  for (const auto& n : s.tasks("ESCALATION_NOTICE")) CHECK(n.status == "DONE");  // the escalation is over
  auto offered = s.tasks("HELD_EDIT_REOFFERED");
  REQUIRE(offered.size() == 2);  // to the lead, who re-applies, and to its author
  for (const auto& t : offered) {
    CHECK(t.about == edit.id.to_string());
    CHECK((t.assignee == "hv-1" || t.assignee == "cc-1"));
    CHECK_THAT(t.detail, !Contains("IN_PROGRESS"));  // the team reads tasks: no values
  }
  // The plan is unlocked: a fresh edit is accepted, and the held one is re-applied by the lead.
  const std::string held_id = edit.id.to_string();  // clang 14 cannot capture a structured binding
  auto ops = must(s.h.service.with_context(
      [&](server::ServiceContext& ctx) { return server::apply_held(ctx, held_id, "hv-1", "after NFA"); }));
  CHECK_FALSE(ops.empty());
  CHECK(s.value("pa-1", "status") == "IN_PROGRESS");
}

TEST_CASE("S3 service: tenant step_up_policy EH_CLOSED moves an accepted step-up's episode to CLOSING, stepped up "
          "to social care - the command line decides like the office",
          "[unit][stepup]") {
  S3 s;
  must(s.h.store->settings().set("step_up_policy", "EH_CLOSED", 0, "admin"));
  s.step_up_synced();
  server::StepUpDecision d;
  d.step_up = "su-1";
  d.csc_decision = "ACCEPTED_S17_ASSESSMENT";
  d.via = "command line";
  auto done = must(s.h.service.with_context([&](server::ServiceContext& ctx) { return server::decide_step_up(ctx, d); }));
  CHECK(done.family == s.fam);
  CHECK(done.episode_status == "CLOSING");
  CHECK(s.status("ep-3") == "CLOSING");
  CHECK(s.value("ep-3", "closure_reason") == "STEPPED_UP_TO_CSC");
  CHECK(s.value("su-1", "eh_position") == "EH_CLOSED");
  CHECK_FALSE(s.value("su-1", "decided_at").empty());
  // A policy the configuration does not know: refused, naming the choices.
  auto bad = s.h.store->settings().set("step_up_policy", "EH_MAYBE", 0, "admin");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("EH_PAUSED"));
}

TEST_CASE("S3c service: a step-down with a handover meeting and fresh consent resumes the paused episode with a new "
          "plan version",
          "[unit][stepup]") {
  S3 s;
  s.step_up_synced();
  REQUIRE(s.decide("m-1", "ACCEPTED_S17_ASSESSMENT").status == 200);
  REQUIRE(s.status("ep-3") == "PAUSED_CSC_LEAD");
  s.hv->pull();
  auto& r = s.hv->replica;
  // Without the meeting or the consent nothing moves.
  sync::Op receipt = must(r.create(s.fam, "StepDownReceipt", "sd-1",
                                   {{"from_csc_ref", "CSC-77"}, {"children", StringList{"r", "u"}},
                                    {"received_at", "2027-02-01T10:00:00Z"}, {"csc_plan_type", "CIN_PLAN"},
                                    {"episode", "ep-3"}}));
  REQUIRE(s.hv->push_one(receipt).status == OpStatus::accepted);
  CHECK(s.status("ep-3") == "PAUSED_CSC_LEAD");
  CHECK(s.audits("step-down-waiting") == 1);
  std::vector<sync::Op> ops;
  ops.push_back(must(r.create(s.fam, "TafMeeting", "taf-h",
                              {{"episode", "ep-3"}, {"meeting_type", "STEP_DOWN_HANDOVER"}, {"scheduled_at", "2027-02-03T10:00:00Z"},
                               {"chair", "hv-1"}})));
  FieldValues fresh = consent_fields();
  fresh["covers_persons"] = StringList{"r", "u"};
  fresh["given_by"] = "q";
  fresh["capacity_basis"] = "PR_HOLDER_FOR_CHILD";
  fresh["purposes"] = StringList{"RECEIVE_EARLY_HELP", "SHARE_WITH_TAF"};
  ops.push_back(must(r.create(s.fam, "ConsentRecord", "k-2", fresh)));
  ops.push_back(must(r.set("sd-1", "handover_meeting", Value(std::string("taf-h")))));
  ops.push_back(must(r.set("sd-1", "consent", Value(std::string("k-2")))));
  for (const auto& res : s.hv->push(ops)) CHECK(res.status == OpStatus::accepted);
  CHECK(s.status("ep-3") == "ACTIVE");
  CHECK(s.status("plan-1") == "SUPERSEDED");
  CHECK(s.status("ep-3/plan/v2") == "DRAFT");
  CHECK(s.value("ep-3/plan/v2", "agreed_at_meeting") == "taf-h");
  CHECK(s.value("sd-1", "resumed_episode") == "ep-3");
  CHECK(s.audits("step-down-resumed") == 1);
  // The new plan is editable: not locked.
  s.hv->pull();
  CHECK(s.hv->push_one(must(r.set("ep-3/plan/v2", "contingency", Value(std::string("call the lead"))))).status ==
        OpStatus::accepted);
}

TEST_CASE("Office inbound: a child's social-care status, the office's ids and a person merge become authority ops",
          "[unit][stepup]") {
  S3 s;
  auto status = s.inbound(R"({"message_id":"st-1","kind":"statutory_status","person":"u","status":"CP_PLAN"})",
                          s.office_token);
  REQUIRE(status.status == 200);
  CHECK(s.value("u", "statutory_status") == "CP_PLAN");
  CHECK(s.value("u/alert/cp-plan", "type") == "CP_PLAN_ACTIVE");  // the safety marker from the office (§3.20)
  auto cc_page = s.page(*s.cc);
  CHECK_FALSE(has(cc_page.withheld, "u/alert/cp-plan"));
  auto bad = s.inbound(R"({"message_id":"st-2","kind":"statutory_status","person":"u","status":"CP"})", s.office_token);
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Contains("status: 'CP'"));
  auto ids = s.inbound(
      R"({"message_id":"id-1","kind":"office_ids","person":"r","office_person_id":"LL-123","episode":"ep-3","office_episode_id":"EHM-9"})",
      s.office_token);
  REQUIRE(ids.status == 200);
  CHECK(s.value("r", "office_person_id") == "LL-123");
  CHECK(s.value("ep-3", "office_episode_id") == "EHM-9");
  auto half = s.inbound(R"({"message_id":"id-2","kind":"office_ids","person":"r"})", s.office_token);
  CHECK(half.status == 400);
  CHECK_THAT(half.body, Contains("give both or neither"));
  auto nobody = s.inbound(R"({"message_id":"id-3","kind":"office_ids","person":"zz","office_person_id":"LL-1"})",
                          s.office_token);
  CHECK(nobody.status == 404);
  auto merge = s.inbound(R"({"message_id":"mg-1","kind":"person_merge","keep":"r","merged_away":"u"})", s.office_token);
  {
    INFO(merge.body);
    CHECK(merge.status == 200);
    CHECK(s.value("u", "merged_into") == "r");
    CHECK_THAT(merge.body, Contains("\"family\":\"" + s.fam + "\""));  // found, though the message named none
    CHECK(s.inbound(R"({"message_id":"mg-1","kind":"person_merge","keep":"r","merged_away":"u"})", s.office_token).body ==
          merge.body);  // a repeat: the first answer
  }
  // The device's own edit of a field only the office writes is held.
  s.hv->pull();
  CHECK(s.hv->push_one(must(s.hv->replica.set("ep-3", "office_episode_id", Value(std::string("X"))))).status ==
        OpStatus::held);
}
