// S3, S3b and S3c end to end (DOMAIN.md §13; §4.2, §4.4, §8.3 C-19): a real hearth-server over
// TLS on 127.0.0.1, the health visitor's, the children's centre worker's and the GP's tablets
// (real encrypted stores, libcurl), and the office deciding through POST /v1/office/inbound with
// an office credential, or through `hearth-server step-up decide`.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sstream>

#include "hearth/client/store.hpp"
#include "hearth/client/transport.hpp"
#include "hearth/core/access.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::string fields_of(Tablet& t, const std::string& id) {
  auto e = t.store->get(id);
  return e ? json::parse(e->json)["fields"].dump() : std::string("(not held)");
}
std::string status_on(Tablet& t, const std::string& id) {
  auto e = t.store->get(id);
  return e ? json::parse(e->json)["fields"].value("status", "") : std::string("(not held)");
}

// S3's family H on HV3's (hv-1's) tablet: mother Q with PR, children R and U; episode ACTIVE,
// lead hv-1 of health visiting (the lead agency); plan v1 ACTIVE with the children's centre
// worker's action; SHARE_WITH_TAF consent for the children's centre and the GP.
struct FamilyH {
  ServerProcess& server;
  Tablet hv;
  std::unique_ptr<Tablet> cc, gp;
  std::string fam, q, r, u, ep, plan, outcome, action, token;

  explicit FamilyH(ServerProcess& s) : server(s), hv((setup(s), s), "hv-1") {
    auto& st = *hv.store;
    fam = must(st.create_family(family_fields("Family H")));
    q = must(st.create(fam, "Person", person_fields("Q", "1995-03-01")));
    r = must(st.create(fam, "Person", person_fields("R", "2023-06-01")));
    u = must(st.create(fam, "Person", person_fields("U", "2026-11-20")));
    for (const auto& child : {r, u})
      must(st.create(fam, "Relationship",
                     {{"person_a", q}, {"person_b", child}, {"type", "MOTHER"}, {"parental_responsibility", "YES"}}));
    FieldValues e = episode_fields({r, u});
    e["allocated_org"] = "org-hv";
    ep = must(st.create(fam, "EarlyHelpEpisode", e));
    for (const char* to : {"ASSESSMENT", "PLANNING", "ACTIVE"}) must(st.transition(ep, to));
    FieldValues own = consent_fields();
    own["covers_persons"] = StringList{q};
    own["given_by"] = q;
    own["recipients"] = StringList{"org-cc", "org-gp"};
    must(st.create(fam, "ConsentRecord", own));
    FieldValues kids = own;
    kids["covers_persons"] = StringList{r, u};
    kids["capacity_basis"] = "PR_HOLDER_FOR_CHILD";
    must(st.create(fam, "ConsentRecord", kids));
    plan = must(st.create(fam, "FamilyPlan", plan_fields(ep)));
    must(st.update(plan, "agreed_at", Value(std::string("2026-10-01T10:00:00Z"))));
    must(st.add_element(plan, "family_agreement", q));
    for (const char* to : {"AGREED", "ACTIVE"}) must(st.transition(plan, to));
    outcome = must(st.create(fam, "PlanOutcome",
                             {{"plan", plan}, {"statement", "R enjoys playing with other children"},
                              {"linked_needs", StringList{"PARENTING_SUPPORT"}}, {"measure", "attendance"},
                              {"target", "weekly"}, {"target_date", "2027-03-01"}, {"status", "IN_PROGRESS"}}));
    FieldValues a = action_fields();
    a["outcome"] = outcome;
    a["description"] = "R attends stay-and-play";
    a["owner_practitioner"] = "cc-1";
    action = must(st.create(fam, "PlanAction", a));
    hv.sync();
    for (const char* p : {"cc-1", "gp-1", "mgr-1"}) server.admin({"allocate", "--family", fam, "--practitioner", p});
    cc = std::make_unique<Tablet>(server, "cc-1");
    gp = std::make_unique<Tablet>(server, "gp-1");
    cc->sync();
    gp->sync();
    std::string issued = server.admin({"office-credential", "issue", "--name", "case-system"});
    token = issued.substr(0, issued.find('\n'));
  }

  static void setup(ServerProcess& s) {
    s.admin({"add-org", "--id", "org-cc", "--name", "Children's Centre", "--type", "CHILDRENS_CENTRE_FAMILY_HUB"});
    s.admin({"add-org", "--id", "org-gp", "--name", "Surgery", "--type", "GP"});
    s.admin({"add-practitioner", "--id", "cc-1", "--org", "org-cc", "--name", "CC worker", "--role", "PRACTITIONER"});
    s.admin({"add-practitioner", "--id", "gp-1", "--org", "org-gp", "--name", "GP", "--role", "PRACTITIONER"});
    s.admin({"add-practitioner", "--id", "mgr-1", "--org", "org-hv", "--name", "Manager", "--role", "TEAM_MANAGER"});
  }

  struct Offline {
    std::string c4, d1, su, alert, c5;
  };
  // S3 steps 2 and 3, both tablets offline: HV3's contact, disclosure, step-up and alert; the
  // CC worker's action status and her own contact.
  Offline offline_work() {
    Offline o;
    auto& st = *hv.store;
    FieldValues c4 = contact_fields("2026-12-01T09:30:00Z", "Q disclosed an assault last night while holding U");
    c4["children_seen"] = StringList{r, u};
    c4["concern_raised"] = true;
    o.c4 = must(st.create(fam, "Contact", c4));
    o.d1 = must(st.create(fam, "InformationSharingDecision",
                          {{"decided_at", "2026-12-01T09:45:00Z"}, {"decided_by", "hv-1"}, {"decision", "SHARE"},
                           {"with_consent", "NO_NOT_SOUGHT"}, {"recipients", StringList{"org-hv"}},
                           {"items_summary", "C4 and the plan"}, {"purpose", "STEP_UP"},
                           {"risk_description", "assault while holding a newborn"},
                           {"necessity_proportionality", "what the front door needs"},
                           {"subject_informed", "NOT_INFORMED"}, {"not_informed_reason", "WOULD_INCREASE_RISK_TO_CHILD"},
                           {"lawful_basis", "PUBLIC_TASK_6_1_E"},
                           {"art9_condition", "SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING"}}));
    o.su = must(st.create(fam, "StepUpRequest",
                          {{"episode", ep}, {"children", StringList{r, u}}, {"kind", "UNPLANNED_INCIDENT"},
                           {"reason", "assault disclosed, bruising seen"}, {"significant_harm", true},
                           {"consent_position", "NOT_SOUGHT_WOULD_INCREASE_RISK"}, {"disclosure", o.d1},
                           {"submitted_at", "2026-12-01T09:45:00Z"}}));
    must(st.update(o.su, "phone_referral_made_at", Value(std::string("2026-12-01T10:05:00Z"))));
    must(st.transition(o.su, "SUBMITTED"));
    FieldValues alert = alert_fields("HIGH");
    alert["subject"] = fam;
    o.alert = must(st.create(fam, "Alert", alert));
    must(cc->store->update(action, "status", Value(std::string("IN_PROGRESS"))));
    FieldValues c5 = contact_fields("2026-12-01T09:00:00Z", "R at stay-and-play, settled", "cc-1");
    c5["contact_type"] = "GROUP_SESSION";
    o.c5 = must(cc->store->create(fam, "Contact", c5));
    return o;
  }

  client::HttpReply office(const json& message, const std::string& bearer) {
    auto t = must(client::make_curl_transport(client::CurlOptions{server.url(), server.ca_pem()}));
    return must(t->post("/v1/office/inbound", message.dump(), bearer));
  }
  client::HttpReply decide(const std::string& id, const std::string& su, const std::string& decision) {
    return office({{"message_id", id}, {"kind", "step_up_decision"}, {"step_up", su}, {"csc_decision", decision},
                   {"csc_ref", "CSC-2026-77"}, {"decided_at", "2026-12-01T15:00:00Z"}},
                  token);
  }
};

bool listed(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The tablet's tasks of `type` assigned to `who`.
size_t tasks_of(Tablet& t, const std::string& fam, const std::string& type, const std::string& who) {
  size_t n = 0;
  for (const auto& e : must(t.store->family(fam)).entities) {
    if (e.type != "Task") continue;
    auto f = json::parse(e.json)["fields"];
    if (f.value("task_type", "") == type && f.value("assignee", "") == who) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("S3 end to end: a step-up moves the episode and locks the plan; the CC worker's action edit is held with "
          "its value while her contact is accepted; TAF members see only the escalation; the office's decision "
          "pauses the episode, idempotently; the audit shows the times",
          "[e2e][stepup]") {
  ServerProcess server;
  FamilyH h(server);
  auto o = h.offline_work();

  // 12:00 HV3 syncs.
  h.hv.sync();
  h.hv.sync();  // the server's own ops (episode, plan, tasks)
  CHECK(status_on(h.hv, h.ep) == "STEP_UP_PENDING");
  CHECK(status_on(h.hv, h.plan) == "LOCKED_STEPPED_UP");
  std::string tasks = server.admin({"tasks", "--family", h.fam});
  CHECK_THAT(tasks, Contains("OVERRIDE_COUNTERSIGN") && Contains("mgr-1"));
  CHECK_THAT(tasks, Contains("ESCALATION_NOTICE"));

  // 12:30 the CC worker syncs: her action status is held (C-19), her contact accepted.
  h.cc->sync();
  auto held = must(h.cc->store->held());
  REQUIRE(held.size() == 1);
  CHECK_THAT(held[0].reason, Contains(access::kPlanLockedReason) && Contains("C-19"));
  CHECK_THAT(server.admin({"held", "list", "--family", h.fam}), Contains("IN_PROGRESS"));  // the value is kept
  CHECK(h.cc->store->get(o.c5).ok());
  h.cc->sync();
  // Need-to-know: she holds the alert and the notice, not the step-up, D1 or C4.
  CHECK_FALSE(h.cc->store->get(o.su).ok());
  CHECK_FALSE(h.cc->store->get(o.c4).ok());
  CHECK_FALSE(h.cc->store->get(o.d1).ok());
  CHECK(h.cc->store->get(o.alert).ok());
  CHECK_THAT(fields_of(*h.cc, o.alert), Contains("DOMESTIC_ABUSE_RISK") && Contains("HIGH"));
  auto withheld = must(h.cc->store->withheld(h.fam));
  CHECK(listed(withheld, o.su));
  CHECK(listed(withheld, o.c4));
  CHECK(tasks_of(*h.cc, h.fam, "ESCALATION_NOTICE", "cc-1") == 1);
  h.gp->sync();
  CHECK_FALSE(h.gp->store->get(o.su).ok());
  CHECK_FALSE(h.gp->store->get(o.c4).ok());
  CHECK(h.gp->store->get(o.alert).ok());
  CHECK(tasks_of(*h.gp, h.fam, "ESCALATION_NOTICE", "gp-1") == 1);
  // The lead's contact C5 is in her chronology.
  h.hv.sync();
  CHECK(h.hv.store->get(o.c5).ok());

  // Bad input from the office: refused, named, nothing written.
  auto bad = h.office({{"message_id", "m-0"}, {"kind", "step_up_decision"}, {"step_up", o.su}, {"csc_decision", "YES"}},
                      h.token);
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Contains("csc_decision"));
  // 15:00 the office decides.
  auto first = h.decide("m-1", o.su, "ACCEPTED_S47_STRATEGY");
  INFO(first.body);
  REQUIRE(first.status == 200);
  auto repeat = h.decide("m-1", o.su, "ACCEPTED_S47_STRATEGY");
  CHECK(repeat.status == 200);
  CHECK(repeat.body == first.body);
  CHECK(h.decide("m-1", o.su, "NFA_RETURN_TO_EH").status == 409);
  h.hv.sync();
  CHECK(status_on(h.hv, h.ep) == "PAUSED_CSC_LEAD");
  CHECK(status_on(h.hv, o.su) == "DECIDED");
  CHECK_THAT(fields_of(h.hv, o.su), Contains("ACCEPTED_S47_STRATEGY") && Contains("CSC-2026-77"));

  // The audit shows the offline creation, the server's receipt, the phone referral and the decision.
  std::string audit = server.admin({"audit", "--family", h.fam});
  CHECK_THAT(audit, Contains("step-up-submitted") && Contains("created offline at") &&
                        Contains("submitted_at 2026-12-01T09:45:00Z") &&
                        Contains("phone referral made at 2026-12-01T10:05:00Z") && Contains("received by the server at"));
  CHECK_THAT(audit, Contains("step-up-decided") && Contains("decided at 2026-12-01T15:00:00Z"));
  CHECK_THAT(audit, Contains("office-inbound"));
  CHECK_THAT(server.admin({"verify-audit"}), Contains("audit trail intact"));
}

TEST_CASE("S3b end to end: NFA returns the episode to ACTIVE with the plan unlocked, a review task and the held edit "
          "offered back; the lead re-applies it and the CC worker's tablet learns it",
          "[e2e][stepup]") {
  ServerProcess server;
  FamilyH h(server);
  auto o = h.offline_work();
  h.hv.sync();
  h.cc->sync();
  auto held = must(h.cc->store->held());
  REQUIRE(held.size() == 1);
  REQUIRE(h.decide("m-1", o.su, "NFA_RETURN_TO_EH").status == 200);
  h.hv.sync();
  CHECK(status_on(h.hv, h.ep) == "ACTIVE");
  CHECK(status_on(h.hv, h.plan) == "ACTIVE");
  CHECK(tasks_of(h.hv, h.fam, "REVIEW_DUE", "hv-1") == 1);
  CHECK(tasks_of(h.hv, h.fam, "HELD_EDIT_REOFFERED", "hv-1") == 1);
  CHECK(tasks_of(h.hv, h.fam, "HELD_EDIT_REOFFERED", "cc-1") == 1);
  server.admin({"held", "apply", "--op", held[0].op_id, "--by", "hv-1", "--note", "plan unlocked after NFA"});
  CHECK(h.cc->sync().held_decided == 1);
  h.cc->sync();
  CHECK_THAT(fields_of(*h.cc, h.action), Contains("\"status\":\"IN_PROGRESS\""));
  // The episode is no longer escalated: the CC worker receives the step-up's contact again.
  CHECK(h.cc->store->get(o.c4).ok());
}

TEST_CASE("S3c end to end: accepted at the command line, then a step-down with a handover meeting and fresh consent "
          "resumes the episode with a new plan version",
          "[e2e][stepup]") {
  ServerProcess server;
  FamilyH h(server);
  auto o = h.offline_work();
  h.hv.sync();
  std::string said = server.admin({"step-up", "decide", "--step-up", o.su, "--decision", "ACCEPTED_S17_ASSESSMENT",
                                   "--csc-ref", "CSC-2026-78", "--decided-at", "2026-12-01T15:00:00Z"});
  CHECK_THAT(said, Contains("PAUSED_CSC_LEAD"));
  h.hv.sync();
  REQUIRE(status_on(h.hv, h.ep) == "PAUSED_CSC_LEAD");
  auto& st = *h.hv.store;
  std::string meeting = must(st.create(h.fam, "TafMeeting",
                                       {{"episode", h.ep}, {"meeting_type", "STEP_DOWN_HANDOVER"},
                                        {"scheduled_at", "2027-02-03T10:00:00Z"}, {"chair", "hv-1"}}));
  FieldValues fresh = consent_fields();
  fresh["covers_persons"] = StringList{h.r, h.u};
  fresh["given_by"] = h.q;
  fresh["capacity_basis"] = "PR_HOLDER_FOR_CHILD";
  fresh["purposes"] = StringList{"RECEIVE_EARLY_HELP", "SHARE_WITH_TAF"};
  fresh["recipients"] = StringList{"org-cc", "org-gp"};
  std::string consent = must(st.create(h.fam, "ConsentRecord", fresh));
  must(st.create(h.fam, "StepDownReceipt",
                 {{"from_csc_ref", "CSC-2026-78"}, {"children", StringList{h.r, h.u}},
                  {"received_at", "2027-02-01T10:00:00Z"}, {"csc_plan_type", "CIN_PLAN"}, {"episode", h.ep},
                  {"handover_meeting", meeting}, {"consent", consent}}));
  h.hv.sync();
  h.hv.sync();
  CHECK(status_on(h.hv, h.ep) == "ACTIVE");
  CHECK(status_on(h.hv, h.plan) == "SUPERSEDED");
  std::string v2 = h.ep + "/plan/v2";
  CHECK(status_on(h.hv, v2) == "DRAFT");
  CHECK_THAT(fields_of(h.hv, v2), Contains("\"version\":2") && Contains(meeting));
  CHECK_THAT(server.admin({"audit", "--family", h.fam}), Contains("step-down-resumed"));
}
