// The pure access policy (core/access.hpp) on small hand-built families: standing, consent per
// person (DOMAIN.md §6.3, §6.4), minimisation (§5), break-glass and the write rules of §7.
#include <catch2/catch.hpp>

#include "hearth/core/access.hpp"

using namespace hearth;
using namespace hearth::access;

namespace {

constexpr int64_t kHourMs = int64_t{60} * 60 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
// 2026-06-01T12:00:00Z
constexpr int64_t kNow = (int64_t{20605} * kDayMs) + 12 * kHourMs;

const Schema& schema() { return Schema::v1(); }

// Organisations and practitioners of DOMAIN.md §13 S2: the youth service leads.
const std::string kYouth = "org-ys", kSchool = "org-school", kHousing = "org-housing";
const std::string kLead = "yw-2", kDsl = "dsl-1", kHousingOfficer = "ho-1", kManager = "mgr-1", kStranger = "gp-9";
const std::string kFam = "fam-g";

Viewer viewer(const std::string& practitioner, const std::string& org, std::set<std::string> roles = {}) {
  Viewer v;
  v.practitioner = practitioner;
  v.organisation = org;
  v.system_roles = std::move(roles);
  return v;
}

Viewer office() {
  Viewer v;
  v.office = true;
  return v;
}

struct Family {
  FamilyFacts facts;

  Family() { facts.family = kFam; }
  RecordFacts& add(std::string type, std::string id, FieldValues fields, std::string by = kLead) {
    facts.records.push_back(RecordFacts{std::move(type), std::move(id), std::move(fields), std::move(by)});
    return facts.records.back();
  }
  RecordFacts& get(const std::string& id) {
    for (auto& r : facts.records)
      if (r.id == id) return r;
    FAIL("no record " << id);
    return facts.records.front();
  }
  FamilyView view(const Viewer& v, int64_t now = kNow) const { return view_of(schema(), facts, v, now); }
  WriteVerdict judge(const Viewer& v, const WriteIntent& w, int64_t now = kNow) const {
    return judge_write(schema(), facts, v, w, now);
  }
};

FieldValues person(const std::string& given, const std::string& dob) {
  return {{"given_names", given}, {"family_name", "G"}, {"person_status", "LIVING"}, {"date_of_birth", dob}};
}

FieldValues member(const std::string& practitioner, const std::string& org, const std::string& scope,
                   const std::string& role = "TAF_MEMBER") {
  return {{"practitioner", practitioner}, {"organisation", org},  {"team_role", role},
          {"access_scope", scope},        {"joined_at", "2026-01-05T09:00:00Z"}};
}

FieldValues consent(const std::string& given_by, StringList covers, const std::string& basis,
                    StringList recipients = {kSchool, kYouth, kHousing}) {
  FieldValues c{{"purposes", StringList{"SHARE_WITH_TAF"}},
          {"covers_persons", std::move(covers)},
          {"given_by", given_by},
          {"capacity_basis", basis},
          {"recipients", std::move(recipients)},
          {"data_scope", "ALL_EPISODE_RECORDS"},
          {"method", "ON_DEVICE_SIGNATURE"},
          {"explained_by", kLead},
          {"privacy_notice_version", "v2"},
          {"given_at", "2026-01-05T10:00:00Z"},
          {"expires_at", "2027-01-05T10:00:00Z"},
          {"status", "ACTIVE"}};
  if (basis == "COMPETENT_CHILD_SELF") {  // §6.3: the competence assessment is recorded
    c["competence_assessed_by"] = kLead;
    c["competence_rationale"] = "understands what sharing means";
  }
  return c;
}

FieldValues contact(StringList present, const std::string& by = kLead, StringList categories = {}) {
  FieldValues f{{"practitioner", by},
                {"occurred_at", "2026-05-20T11:00:00Z"},
                {"contact_type", "HOME_VISIT"},
                {"narrative", "Visit note"},
                {"concern_raised", false}};
  if (!present.empty()) f["persons_present"] = std::move(present);
  if (!categories.empty()) f["sensitive_categories"] = std::move(categories);
  return f;
}

FieldValues action(const std::string& owner) {
  return {{"outcome", "po-1"},        {"description", "Attendance check weekly"}, {"owner_kind", "PRACTITIONER"},
          {"owner_practitioner", owner}, {"due_date", "2026-07-01"},             {"status", "NOT_STARTED"}};
}

// DOMAIN.md §13 S2: father P (PR) and daughter D (15, competent, consenting for herself); the
// youth worker leads for the youth service; the school DSL and a housing officer are on the
// team with FULL_EPISODE. K1 by P for P, K2 by D for D, both to {school, youth service, housing}.
Family s2() {
  Family f;
  f.add("Family", kFam, {{"display_name", "Family G"}, {"phone", "07700 900001"}});
  f.add("Person", "p", person("P", "1984-02-10"));
  f.add("Person", "d", person("D", "2011-03-01"));
  f.add("Relationship", "rel-pd",
        {{"person_a", "p"}, {"person_b", "d"}, {"type", "FATHER"}, {"parental_responsibility", "YES"}});
  f.add("EarlyHelpEpisode", "ep-2",
        {{"subject_children", StringList{"d"}}, {"start_date", "2026-01-05"}, {"start_reason", "PARENTING_FAMILY_DYNAMICS"},
         {"level_of_need", "L3"}, {"service_model", "MULTI_AGENCY_TAF"}, {"allocated_org", kYouth},
         {"lead_professional", kLead}, {"status", "ACTIVE"}});
  f.add("TeamMember", kFam + "/team/" + kLead, member(kLead, kYouth, "FULL_EPISODE", "LEAD_PROFESSIONAL"));
  f.add("TeamMember", kFam + "/team/" + kDsl, member(kDsl, kSchool, "FULL_EPISODE"));
  f.add("TeamMember", kFam + "/team/" + kHousingOfficer, member(kHousingOfficer, kHousing, "FULL_EPISODE"));
  f.add("ConsentRecord", "k1", consent("p", {"p"}, "SELF_ADULT"));
  auto k2 = consent("d", {"d"}, "COMPETENT_CHILD_SELF");
  k2["competence_rationale"] = "Understands who will see what and why";
  f.add("ConsentRecord", "k2", k2);
  f.add("Contact", "c-d", contact({"d"}));
  f.add("Contact", "c-p", contact({"p"}));
  f.add("Contact", "c-pd", contact({"p", "d"}));
  f.add("Contact", "c-family", contact({}));
  f.add("FamilyPlan", "plan-1",
        {{"episode", "ep-2"}, {"version", 1}, {"based_on_assessment", "as-1"}, {"review_interval_weeks", 6},
         {"next_review_due", "2026-07-01"}, {"status", "ACTIVE"}});
  return f;
}

// P withdraws consent to share with the school (RECIPIENTS = {S}), recorded at 10:00 (S2 step 1).
void withdraw_school(Family& f) {
  auto& k1 = f.get("k1").fields;
  k1["withdrawal_scope"] = "RECIPIENTS";
  k1["withdrawn_recipients"] = StringList{kSchool};
  k1["withdrawn_at"] = "2026-05-21T10:00:00Z";
  k1["withdrawn_by"] = "p";
}

}  // namespace

TEST_CASE("Access: S2, the father's withdrawal for the school takes his and whole-family records from the school only",
          "[unit][access]") {
  Family f = s2();
  const Viewer school = viewer(kDsl, kSchool), lead = viewer(kLead, kYouth), housing = viewer(kHousingOfficer, kHousing);
  FamilyView before = f.view(school);
  CHECK(before.standing == Standing::full_member);
  for (const char* id : {"c-d", "c-p", "c-pd", "c-family", "plan-1", "p", "d", "rel-pd", kFam.c_str()}) {
    INFO(id);
    CHECK(before.record_visible(id));
  }

  withdraw_school(f);
  FamilyView after = f.view(school);
  CHECK(after.family_visible());
  // P's records, and the whole-family ones (they are about P too), leave the school.
  for (const char* id : {"c-p", "c-pd", "c-family", "plan-1", "p", "rel-pd", kFam.c_str()}) {
    INFO(id);
    CHECK_FALSE(after.record_visible(id));
  }
  CHECK(after.withheld_records.at("c-p").find("withdrew sharing with org-school") != std::string::npos);
  CHECK(after.withheld_records.at("c-family").find("whole-family") != std::string::npos);
  // D's own information stays under her own consent K2 (§6.4 rule 3).
  for (const char* id : {"c-d", "d"}) {
    INFO(id);
    CHECK(after.record_visible(id));
    CHECK(after.withheld_fields.count(id) == 0);
  }
  // The episode is about D and stays; P's consent record is about P and leaves with his records;
  // the team's records still reach the school so its tablet can enforce offline.
  CHECK(after.record_visible("ep-2"));
  CHECK(after.field_visible("ep-2", "lead_professional"));
  CHECK_FALSE(after.record_visible("k1"));
  CHECK(after.record_visible(kFam + "/team/" + kDsl));

  // The lead agency keeps everything (§6.2); housing is not named by the withdrawal.
  FamilyView lead_view = f.view(lead);
  CHECK(lead_view.standing == Standing::lead);
  CHECK(lead_view.withheld_records.empty());
  CHECK(lead_view.withheld_fields.empty());
  CHECK(f.view(housing).withheld_records.empty());

  // Status WITHDRAWN is a withdrawal of the whole consent whatever scope is recorded beside it
  // (restrictive wins: a partial withdrawal keeps the status ACTIVE).
  f.get("k1").fields["status"] = "WITHDRAWN";
  CHECK_FALSE(f.view(housing).withheld_records.empty());
  // A full withdrawal takes P's records from housing as well.
  f.get("k1").fields["withdrawal_scope"] = "FULL";
  CHECK_FALSE(f.view(housing).record_visible("c-p"));
  CHECK(f.view(housing).record_visible("c-d"));
}

TEST_CASE("Access: a member of the lead agency is never restricted by consent", "[unit][access]") {
  Family f = s2();
  f.add("TeamMember", kFam + "/team/fsw-1", member("fsw-1", kYouth, "FULL_EPISODE"));
  withdraw_school(f);
  f.get("k1").fields["status"] = "WITHDRAWN";
  f.get("k1").fields["withdrawal_scope"] = "FULL";
  FamilyView v = f.view(viewer("fsw-1", kYouth));
  CHECK(v.standing == Standing::full_member);
  CHECK(v.withheld_records.empty());
}

TEST_CASE("Access: a competent child's refusal beats a parent's grant for her own information", "[unit][access]") {
  Family f = s2();
  // The father, with PR, also consents for D; D herself refuses the school.
  f.add("ConsentRecord", "k-parent-for-d", consent("p", {"d"}, "PR_HOLDER_FOR_CHILD"));
  auto& k2 = f.get("k2").fields;
  k2["status"] = "REFUSED";
  k2["recipients"] = StringList{kSchool};
  FamilyView v = f.view(viewer(kDsl, kSchool));
  CHECK_FALSE(v.record_visible("c-d"));
  CHECK(v.withheld_records.at("c-d").find("d refused") != std::string::npos);
  CHECK(v.withheld_records.at("c-d").find("rules 1, 3, 4") != std::string::npos);
  CHECK(v.record_visible("c-p"));
  // She decides for her own information: where her own record grants nothing (it is a refusal),
  // her father's grant does not stand in for it, for housing either.
  CHECK_FALSE(f.view(viewer(kHousingOfficer, kHousing)).record_visible("c-d"));
}

TEST_CASE("Access: a person with parental responsibility consents for a young child, a carer without it cannot",
          "[unit][access]") {
  Family f = s2();
  f.add("Person", "b", person("B", "2020-04-01"));  // 6: not competent, consent by a PR holder (§6.4 rule 2)
  f.add("Person", "fc", person("FC", "1970-01-01"));
  f.add("Relationship", "rel-fc-b",
        {{"person_a", "fc"}, {"person_b", "b"}, {"type", "FOSTER_CARER"}, {"parental_responsibility", "NO"}});
  f.add("ConsentRecord", "k-fc", consent("fc", {"fc", "b"}, "PR_HOLDER_FOR_CHILD"));
  f.add("ConsentRecord", "k-fc-self", consent("fc", {"fc"}, "SELF_ADULT"));
  f.add("Contact", "c-b", contact({"b"}));
  const Viewer school = viewer(kDsl, kSchool);
  CHECK_FALSE(f.view(school).record_visible("c-b"));  // rule 6: a carer without PR cannot consent for B
  f.add("Relationship", "rel-pb",
        {{"person_a", "p"}, {"person_b", "b"}, {"type", "FATHER"}, {"parental_responsibility", "YES"}});
  f.add("ConsentRecord", "k-p-for-b", consent("p", {"b"}, "PR_HOLDER_FOR_CHILD"));
  CHECK(f.view(school).record_visible("c-b"));
  // A young child's own "adult" consent does not count (rule 1 is for adults).
  Family g = s2();
  g.add("Person", "b", person("B", "2020-04-01"));
  g.add("ConsentRecord", "k-b", consent("b", {"b"}, "SELF_ADULT"));
  g.add("Contact", "c-b", contact({"b"}));
  CHECK_FALSE(g.view(school).record_visible("c-b"));
}

TEST_CASE("Access: an expired consent no longer shares (DOMAIN.md 6.7)", "[unit][access]") {
  Family f = s2();
  f.get("k1").fields["expires_at"] = "2026-05-31T00:00:00Z";
  FamilyView v = f.view(viewer(kDsl, kSchool));
  CHECK_FALSE(v.record_visible("c-p"));
  CHECK(v.withheld_records.at("c-p").find("no active, unexpired") != std::string::npos);
  CHECK(v.record_visible("c-d"));
  CHECK(f.view(viewer(kDsl, kSchool), kNow - 30 * kDayMs).record_visible("c-p"));  // before it expired
}

TEST_CASE("Access: excluded categories and data_scope narrow what a covered recipient receives", "[unit][access]") {
  Family f = s2();
  f.add("Contact", "c-d-mh", contact({"d"}, kLead, {"MENTAL_HEALTH"}));
  f.add("Contact", "c-d-da", contact({"d"}, kLead, {"DOMESTIC_ABUSE"}));
  f.get("k2").fields["excluded_categories"] = StringList{"MENTAL_HEALTH"};
  FamilyView v = f.view(viewer(kDsl, kSchool));
  CHECK_FALSE(v.record_visible("c-d-mh"));
  CHECK(v.withheld_records.at("c-d-mh").find("MENTAL_HEALTH") != std::string::npos);
  CHECK(v.record_visible("c-d-da"));
  CHECK(v.record_visible("c-d"));

  // PLAN_ONLY: the plan and its actions, not the visit notes or the assessment.
  Family g = s2();
  for (const char* k : {"k1", "k2"}) g.get(k).fields["data_scope"] = "PLAN_ONLY";
  g.add("PlanAction", "act-1", action(kLead));
  g.add("Assessment", "as-1",
        {{"episode", "ep-2"}, {"assessment_type", "EHA_FAMILY"}, {"template_id", "eha"}, {"template_version", "3"},
         {"author", kLead}, {"started_at", "2026-01-06T10:00:00Z"}, {"reason_for_assessment", "Whole family"},
         {"significant_harm_indicated", false}, {"status", "IN_PROGRESS"}});
  FamilyView p = g.view(viewer(kDsl, kSchool));
  CHECK(p.record_visible("plan-1"));
  CHECK(p.record_visible("act-1"));
  CHECK_FALSE(p.record_visible("c-d"));
  CHECK(p.withheld_records.at("c-d").find("PLAN_ONLY") != std::string::npos);
  CHECK_FALSE(p.record_visible("as-1"));
  for (const char* k : {"k1", "k2"}) g.get(k).fields["data_scope"] = "ASSESSMENT_AND_PLAN_ONLY";
  CHECK(g.view(viewer(kDsl, kSchool)).record_visible("as-1"));
  CHECK_FALSE(g.view(viewer(kDsl, kSchool)).record_visible("c-d"));
}

TEST_CASE("Access: a confidential address's lines reach only the lead and managers", "[unit][access]") {
  Family f = s2();
  f.add("TeamMember", kFam + "/team/fsw-1", member("fsw-1", kYouth, "FULL_EPISODE"));
  f.add("Address", "addr-refuge",
        {{"lines", "1 Safe Street"}, {"postcode", "AB1 2CD"}, {"type", "REFUGE"}, {"confidential", true}});
  f.add("Address", "addr-home",
        {{"lines", "2 Home Road"}, {"postcode", "AB1 3EF"}, {"type", "HOME"}, {"confidential", false}});
  for (const Viewer& member_view : {viewer(kDsl, kSchool), viewer("fsw-1", kYouth)}) {
    FamilyView v = f.view(member_view);
    INFO(member_view.practitioner);
    CHECK(v.record_visible("addr-refuge"));
    for (const char* field : {"lines", "postcode", "uprn"}) CHECK_FALSE(v.field_visible("addr-refuge", field));
    CHECK(v.field_visible("addr-refuge", "type"));
    CHECK(v.field_visible("addr-home", "lines"));
    CHECK(v.field_visible("addr-home", "postcode"));
  }
  CHECK(f.view(viewer(kLead, kYouth)).field_visible("addr-refuge", "lines"));
  FamilyView mgr = f.view(viewer(kManager, kYouth, {"TEAM_MANAGER"}));
  CHECK(mgr.standing == Standing::manager);
  CHECK(mgr.field_visible("addr-refuge", "lines"));
  // A manager of another organisation is not the lead agency's manager.
  CHECK(f.view(viewer("mgr-2", kSchool, {"TEAM_MANAGER"})).standing == Standing::none);
}

TEST_CASE("Access: an alert's type and severity reach everyone with access, its details only the lead and managers",
          "[unit][access]") {
  Family f = s2();
  f.add("Alert", "al-1",
        {{"subject", "p"}, {"type", "LONE_WORKER_RISK"}, {"severity", "HIGH"}, {"set_by", kLead},
         {"set_at", "2026-05-01T10:00:00Z"}, {"note", "Informant: neighbour"}});
  withdraw_school(f);  // even where the family's consent would withhold it (safety, §3.20)
  for (const Viewer& v : {viewer(kDsl, kSchool), viewer(kHousingOfficer, kHousing)}) {
    FamilyView view = f.view(v);
    INFO(v.practitioner);
    CHECK(view.record_visible("al-1"));
    CHECK(view.field_visible("al-1", "type"));
    CHECK(view.field_visible("al-1", "severity"));
    for (const char* field : {"subject", "note", "set_by"}) CHECK_FALSE(view.field_visible("al-1", field));
  }
  FamilyView lead = f.view(viewer(kLead, kYouth));
  for (const char* field : {"subject", "note", "set_by"}) CHECK(lead.field_visible("al-1", field));
  // Referral informant and significant-harm flag: likewise.
  f.add("Referral", "ref-1",
        {{"received_at", "2026-01-02T09:00:00Z"}, {"channel", "MASH_FRONT_DOOR"}, {"referral_source_code", "1A"},
         {"subject_persons", StringList{"d"}}, {"presenting_needs", StringList{"PARENTING_SUPPORT"}},
         {"reason_text", "Help"}, {"significant_harm_suspected", false}, {"referrer", "gp-1"}, {"status", "LINKED"}});
  FamilyView school = f.view(viewer(kDsl, kSchool));
  CHECK(school.record_visible("ref-1"));
  for (const char* field : {"referrer", "referrer_details", "significant_harm_suspected"})
    CHECK_FALSE(school.field_visible("ref-1", field));
  CHECK(school.field_visible("ref-1", "reason_text"));
}

TEST_CASE("Access: PLAN_AND_OWN_ACTIONS receives the plan and its own actions, never T2 or T3", "[unit][access]") {
  Family f = s2();
  f.get(kFam + "/team/" + kHousingOfficer).fields["access_scope"] = "PLAN_AND_OWN_ACTIONS";
  f.get("p").fields["ethnicity"] = "WBRI";
  f.add("PlanAction", "act-mine", action(kHousingOfficer));
  f.add("PlanAction", "act-other", action(kDsl));
  f.add("Alert", "al-1",
        {{"subject", "p"}, {"type", "AGGRESSIVE_ANIMAL"}, {"severity", "WARNING"}, {"set_by", kLead},
         {"set_at", "2026-05-01T10:00:00Z"}});
  FamilyView v = f.view(viewer(kHousingOfficer, kHousing));
  CHECK(v.standing == Standing::plan_member);
  CHECK_FALSE(v.record_visible("c-d"));  // no narrative, no visits
  CHECK(v.withheld_records.at("c-d").find("PLAN_AND_OWN_ACTIONS") != std::string::npos);
  CHECK(v.record_visible("plan-1"));
  CHECK(v.record_visible("act-other"));
  CHECK_FALSE(v.field_visible("act-other", "description"));  // T3
  CHECK(v.field_visible("act-other", "due_date"));
  CHECK(v.field_visible("act-mine", "description"));  // their own action, whole
  CHECK(v.record_visible("p"));
  CHECK_FALSE(v.field_visible("p", "ethnicity"));  // T3
  CHECK(v.field_visible("p", "given_names"));
  CHECK_FALSE(v.record_visible("ep-2"));  // not part of the plan (§7: plan, meeting dates, own actions)
  CHECK(v.field_visible("al-1", "severity"));  // safety
  // Nothing T2 or T3 that is not theirs reaches them.
  for (const auto& r : f.facts.records) {
    if (!v.record_visible(r.id) || r.id == "act-mine" || r.type == "Alert") continue;
    for (const auto& fd : schema().entity(r.type)->fields) {
      INFO(r.id << "." << fd.name);
      if (fd.sens >= Sensitivity::T2) CHECK_FALSE(v.field_visible(r.id, fd.name));
    }
  }
}

TEST_CASE("Access: break-glass opens the family until the grant expires, audience rules still apply",
          "[unit][access]") {
  Family f = s2();
  withdraw_school(f);
  f.get("k1").fields["status"] = "WITHDRAWN";
  f.get("k1").fields["withdrawal_scope"] = "FULL";
  f.add("Alert", "al-1",
        {{"subject", "p"}, {"type", "LONE_WORKER_RISK"}, {"severity", "HIGH"}, {"set_by", kLead},
         {"set_at", "2026-05-01T10:00:00Z"}, {"note", "details"}});
  const Viewer gp = viewer(kStranger, "org-gp");
  FamilyView none = f.view(gp);
  CHECK(none.standing == Standing::none);
  CHECK_FALSE(none.family_visible());
  CHECK_FALSE(none.record_visible("c-d"));

  f.add("BreakGlassGrant", "bg-1",
        {{"practitioner", kStranger}, {"reason_code", "IMMEDIATE_SAFEGUARDING_RISK"}, {"reason", "Child missing"},
         {"granted_at", "2026-06-01T11:00:00Z"}, {"expires_at", "2026-06-01T15:00:00Z"}},
        kStranger);
  FamilyView open = f.view(gp);
  CHECK(open.standing == Standing::break_glass);
  CHECK(open.record_visible("c-p"));  // consent is not applied
  CHECK(open.withheld_records.empty());
  CHECK_FALSE(open.field_visible("al-1", "note"));
  CHECK(open.field_visible("al-1", "type"));
  FamilyView expired = f.view(gp, kNow + 4 * kHourMs);
  CHECK(expired.standing == Standing::none);
  CHECK_FALSE(expired.family_visible());
}

TEST_CASE("Access: one's own records and assigned tasks always come back whole", "[unit][access]") {
  Family f = s2();
  withdraw_school(f);
  f.add("Contact", "c-school-p", contact({"p"}, kDsl), kDsl);  // the DSL's own visit about P
  f.add("Task", "task-dsl",
        {{"task_type", "WRITE_REFUSED"}, {"assignee", kDsl}, {"due_at", "2026-06-03T17:00:00Z"},
         {"detail", "Your change to the lead professional was held"}, {"status", "OPEN"}},
        "server");
  f.add("Task", "task-lead",
        {{"task_type", "CONFLICT_REVIEW"}, {"assignee", kLead}, {"due_at", "2026-06-03T17:00:00Z"},
         {"detail", "Two values of level of need"}, {"status", "OPEN"}},
        "server");
  FamilyView v = f.view(viewer(kDsl, kSchool));
  CHECK(v.record_visible("c-school-p"));
  CHECK(v.withheld_fields.count("c-school-p") == 0);
  CHECK(v.field_visible("task-dsl", "detail"));
  CHECK(v.record_visible("task-lead"));  // a policy record: the team knows it exists
  CHECK(v.field_visible("task-lead", "task_type"));
  // Tasks reach the team whole, so raising one never changes a member's view of the family
  // (schema_v1.cpp, Task); their details carry ids and reasons only.
  CHECK(v.field_visible("task-lead", "detail"));
  CHECK(v.withheld_fields.count("task-lead") == 0);
}

TEST_CASE("Access: an amendment reaches only those its target reaches", "[unit][access]") {
  Family f = s2();
  f.add("Amendment", "am-p",
        {{"target", "c-p"}, {"reason", "typo"}, {"text", "corrected"}, {"author", kLead},
         {"recorded_at", "2026-05-22T10:00:00Z"}});
  f.add("Amendment", "am-d",
        {{"target", "c-d"}, {"reason", "typo"}, {"text", "corrected"}, {"author", kLead},
         {"recorded_at", "2026-05-22T10:00:00Z"}});
  withdraw_school(f);
  FamilyView v = f.view(viewer(kDsl, kSchool));
  CHECK_FALSE(v.record_visible("am-p"));
  CHECK(v.withheld_records.at("am-p").find("part of c-p") != std::string::npos);
  CHECK(v.record_visible("am-d"));
}

TEST_CASE("Access: the digest changes when a field becomes withheld, and is shared by equal views", "[unit][access]") {
  Family f = s2();
  f.add("TeamMember", kFam + "/team/dsl-2", member("dsl-2", kSchool, "FULL_EPISODE"));
  f.add("Address", "addr-1", {{"lines", "1 Street"}, {"postcode", "AB1 2CD"}, {"type", "HOME"}, {"confidential", false}});
  std::string open = f.view(viewer(kDsl, kSchool)).digest();
  CHECK(open.size() == 16);
  CHECK(open == f.view(viewer("dsl-2", kSchool)).digest());  // same view, same digest
  f.get("addr-1").fields["confidential"] = true;
  FamilyView closed = f.view(viewer(kDsl, kSchool));
  CHECK_FALSE(closed.field_visible("addr-1", "lines"));
  CHECK(closed.digest() != open);
  CHECK(closed.digest() == f.view(viewer(kDsl, kSchool)).digest());  // deterministic
  CHECK(closed.digest() != f.view(viewer(kLead, kYouth)).digest());
}

TEST_CASE("Access: the root's creator leads a family with no episode and no team", "[unit][access]") {
  Family f;
  f.add("Family", kFam, {{"display_name", "Family G"}}, "hv-1");
  f.add("Person", "p", person("P", "1984-02-10"), "hv-1");
  FamilyView v = f.view(viewer("hv-1", "org-hv"));
  CHECK(v.standing == Standing::lead);
  CHECK(v.reason.find("created the family") != std::string::npos);
  CHECK(f.view(viewer(kDsl, kSchool)).standing == Standing::none);
  CHECK(f.view(office()).standing == Standing::office);
}

// ---- writes (DOMAIN.md §7) -----------------------------------------------------------------

namespace {

WriteIntent set(const std::string& type, const std::string& id, const std::string& field, Value v) {
  WriteIntent w;
  w.kind = WriteIntent::Kind::set;
  w.entity_type = type;
  w.entity_id = id;
  w.field = field;
  w.value = std::move(v);
  return w;
}

WriteIntent transition(const std::string& type, const std::string& id, const std::string& field, const std::string& to) {
  WriteIntent w = set(type, id, field, to);
  w.kind = WriteIntent::Kind::transition;
  return w;
}

WriteIntent create(const std::string& type, const std::string& id, FieldValues fields) {
  WriteIntent w;
  w.kind = WriteIntent::Kind::create;
  w.entity_type = type;
  w.entity_id = id;
  w.fields = std::move(fields);
  return w;
}

WriteIntent remove_record(const std::string& type, const std::string& id) {
  WriteIntent w;
  w.kind = WriteIntent::Kind::remove_record;
  w.entity_type = type;
  w.entity_id = id;
  return w;
}

using Outcome = WriteVerdict::Outcome;

}  // namespace

TEST_CASE("Access writes: only the lead or a manager changes the lead professional or closes", "[unit][access]") {
  Family f = s2();
  const Viewer dsl = viewer(kDsl, kSchool), lead = viewer(kLead, kYouth);
  const Viewer mgr = viewer(kManager, kYouth, {"TEAM_MANAGER"});
  auto change_lead = set("EarlyHelpEpisode", "ep-2", "lead_professional", kDsl);
  WriteVerdict v = f.judge(dsl, change_lead);
  CHECK(v.outcome == Outcome::hold);
  CHECK(v.route_to == kLead);
  CHECK(v.reason.find("lead_professional") != std::string::npos);
  CHECK(v.reason.find("§7") != std::string::npos);
  CHECK(f.judge(lead, change_lead).outcome == Outcome::allow);
  CHECK(f.judge(mgr, change_lead).outcome == Outcome::allow);

  auto closing = transition("EarlyHelpEpisode", "ep-2", "status", "CLOSING");
  WriteVerdict c = f.judge(dsl, closing);
  CHECK(c.outcome == Outcome::hold);
  CHECK(c.route_to == kLead);
  CHECK(f.judge(lead, closing).allowed());
  CHECK(f.judge(dsl, set("EarlyHelpEpisode", "ep-2", "closure_authorised_by", kDsl)).outcome == Outcome::hold);

  f.get("ep-2").fields["status"] = "STEP_UP_PENDING";
  CHECK(f.judge(dsl, transition("EarlyHelpEpisode", "ep-2", "status", "ACTIVE")).outcome == Outcome::hold);
  CHECK(f.judge(mgr, transition("EarlyHelpEpisode", "ep-2", "status", "ACTIVE")).allowed());
}

TEST_CASE("Access writes: nobody authorises their own assessment", "[unit][access]") {
  Family f = s2();
  f.add("Assessment", "as-1",
        {{"episode", "ep-2"}, {"assessment_type", "EHA_FAMILY"}, {"template_id", "eha"}, {"template_version", "3"},
         {"author", kLead}, {"started_at", "2026-01-06T10:00:00Z"}, {"reason_for_assessment", "Whole family"},
         {"significant_harm_indicated", false}, {"status", "COMPLETED"}});
  const Viewer lead = viewer(kLead, kYouth), mgr = viewer(kManager, kYouth, {"TEAM_MANAGER"});
  WriteVerdict self = f.judge(lead, set("Assessment", "as-1", "authorised_by", kLead));
  CHECK(self.outcome == Outcome::hold);
  CHECK(self.route_to == "TEAM_MANAGER");
  CHECK(self.reason.find("own") != std::string::npos);
  // The manager naming the author as authoriser is self-authorisation too.
  CHECK(f.judge(mgr, set("Assessment", "as-1", "authorised_by", kLead)).outcome == Outcome::hold);
  CHECK(f.judge(mgr, set("Assessment", "as-1", "authorised_by", kManager)).outcome == Outcome::allow);
  // Moving to AUTHORISED: reserved, and not by the author.
  CHECK(f.judge(lead, transition("Assessment", "as-1", "status", "AUTHORISED")).outcome == Outcome::hold);
  f.get("as-1").fields["authorised_by"] = kManager;
  CHECK(f.judge(mgr, transition("Assessment", "as-1", "status", "AUTHORISED")).allowed());
  CHECK(f.judge(viewer(kDsl, kSchool), transition("Assessment", "as-1", "status", "AUTHORISED")).outcome ==
        Outcome::hold);
}

TEST_CASE("Access writes: removing an alert needs a manager (C-15)", "[unit][access]") {
  Family f = s2();
  f.add("Alert", "al-1",
        {{"subject", "p"}, {"type", "LONE_WORKER_RISK"}, {"severity", "HIGH"}, {"set_by", kDsl},
         {"set_at", "2026-05-01T10:00:00Z"}},
        kDsl);
  WriteVerdict by_lead = f.judge(viewer(kLead, kYouth), remove_record("Alert", "al-1"));
  CHECK(by_lead.outcome == Outcome::hold);
  CHECK(by_lead.route_to == "TEAM_MANAGER");
  CHECK(by_lead.reason.find("C-15") != std::string::npos);
  WriteVerdict by_member = f.judge(viewer(kDsl, kSchool), remove_record("Alert", "al-1"));  // even their own
  CHECK(by_member.outcome == Outcome::hold);
  CHECK(by_member.route_to == "TEAM_MANAGER");
  CHECK(f.judge(viewer(kManager, kYouth, {"TEAM_MANAGER"}), remove_record("Alert", "al-1")).outcome == Outcome::allow);
  // Members add alerts (§7).
  CHECK(f.judge(viewer(kDsl, kSchool),
                create("Alert", "al-2",
                       {{"subject", "d"}, {"type", "MISSING_EPISODES"}, {"severity", "WARNING"}, {"set_by", kDsl},
                        {"set_at", "2026-06-01T10:00:00Z"}}))
            .allowed());
}

TEST_CASE("Access writes: server-authority fields come only from the office", "[unit][access]") {
  Family f = s2();
  f.add("StepUpRequest", "su-1",
        {{"episode", "ep-2"}, {"children", StringList{"d"}}, {"kind", "PLANNED"}, {"reason", "Escalating"},
         {"significant_harm", false}, {"consent_position", "CONSENT_GIVEN"}, {"status", "SUBMITTED"}});
  auto decision = set("StepUpRequest", "su-1", "csc_decision", "ACCEPTED_S17_ASSESSMENT");
  WriteVerdict member_v = f.judge(viewer(kDsl, kSchool), decision);
  CHECK(member_v.outcome == Outcome::hold);
  CHECK(member_v.route_to == kLead);
  CHECK(member_v.reason.find("server authority") != std::string::npos);
  WriteVerdict lead_v = f.judge(viewer(kLead, kYouth), decision);
  CHECK(lead_v.outcome == Outcome::hold);
  CHECK(lead_v.route_to == "TEAM_MANAGER");
  CHECK(f.judge(office(), decision).outcome == Outcome::allow);
  CHECK(f.judge(viewer(kLead, kYouth), set("Person", "d", "statutory_status", "CIN_PLAN")).outcome == Outcome::hold);
  CHECK(f.judge(viewer(kLead, kYouth), set("EarlyHelpEpisode", "ep-2", "sf_claim_status", "CLAIMED")).outcome ==
        Outcome::hold);
  // The lifecycle status field itself moves by transitions, which the lead may make.
  CHECK(f.judge(viewer(kLead, kYouth), transition("StepUpRequest", "su-1", "status", "ACKNOWLEDGED")).allowed());
}

TEST_CASE("Access writes: TAF members edit their own plan actions and records only", "[unit][access]") {
  Family f = s2();
  f.add("PlanAction", "act-dsl", action(kDsl));
  f.add("PlanAction", "act-ho", action(kHousingOfficer));
  const Viewer dsl = viewer(kDsl, kSchool);
  CHECK(f.judge(dsl, set("PlanAction", "act-dsl", "status", "DONE")).outcome == Outcome::allow);
  WriteVerdict other = f.judge(dsl, set("PlanAction", "act-ho", "status", "DONE"));
  CHECK(other.outcome == Outcome::hold);
  CHECK(other.route_to == kLead);
  CHECK(other.reason.find("own") != std::string::npos);
  // Own visits, yes; a visit in someone else's name, no.
  CHECK(f.judge(dsl, create("Contact", "c-new", contact({"d"}, kDsl))).allowed());
  CHECK(f.judge(dsl, create("Contact", "c-new", contact({"d"}, kLead))).outcome == Outcome::hold);
  // Fields any member writes: the family's phone, a consent withdrawal (§6.6).
  CHECK(f.judge(dsl, set("Family", kFam, "phone", "07700 900002")).allowed());
  CHECK(f.judge(dsl, set("Family", kFam, "display_name", "G")).outcome == Outcome::hold);
  WriteIntent withdrawal = set("ConsentRecord", "k1", "withdrawn_recipients", kSchool);
  withdrawal.kind = WriteIntent::Kind::add;
  CHECK(f.judge(dsl, withdrawal).allowed());
  // The team itself is the lead's to change.
  CHECK(f.judge(dsl, create("TeamMember", kFam + "/team/x", member("x", kSchool, "FULL_EPISODE"))).outcome ==
        Outcome::hold);
  CHECK(f.judge(viewer(kLead, kYouth), create("TeamMember", kFam + "/team/x", member("x", kSchool, "FULL_EPISODE")))
            .allowed());
  // PLAN_AND_OWN_ACTIONS: own actions, not visits.
  f.get(kFam + "/team/" + kHousingOfficer).fields["access_scope"] = "PLAN_AND_OWN_ACTIONS";
  const Viewer ho = viewer(kHousingOfficer, kHousing);
  CHECK(f.judge(ho, set("PlanAction", "act-ho", "status", "DONE")).allowed());
  CHECK(f.judge(ho, create("Contact", "c-ho", contact({"d"}, kHousingOfficer))).outcome == Outcome::hold);
}

TEST_CASE("Access writes: a practitioner off the team is held, except a new family and their own break-glass",
          "[unit][access]") {
  Family f = s2();
  const Viewer gp = viewer(kStranger, "org-gp");
  WriteVerdict v = f.judge(gp, create("Contact", "c-gp", contact({"d"}, kStranger)));
  CHECK(v.outcome == Outcome::hold);
  CHECK(v.route_to == kLead);
  CHECK(v.reason.find("not on the family's team") != std::string::npos);

  FieldValues grant{{"practitioner", kStranger},
                    {"reason_code", "IMMEDIATE_SAFEGUARDING_RISK"},
                    {"reason", "Child missing overnight"},
                    {"granted_at", "2026-06-01T12:00:00Z"},
                    {"expires_at", "2026-06-01T16:00:00Z"}};
  CHECK(f.judge(gp, create("BreakGlassGrant", "bg-1", grant)).outcome == Outcome::allow);
  grant["expires_at"] = "2026-06-01T17:00:00Z";
  WriteVerdict long_grant = f.judge(gp, create("BreakGlassGrant", "bg-1", grant));
  CHECK(long_grant.outcome == Outcome::hold);
  CHECK(long_grant.reason.find("4 hours") != std::string::npos);
  grant["expires_at"] = "2026-06-01T16:00:00Z";
  grant["practitioner"] = kDsl;
  CHECK(f.judge(gp, create("BreakGlassGrant", "bg-1", grant)).outcome == Outcome::hold);

  Family empty;
  CHECK(empty.judge(gp, create("Family", kFam, {{"display_name", "New"}})).outcome == Outcome::allow);
}

TEST_CASE("Access writes: work naming a person whose consent was withdrawn is accepted and flagged (6.6)",
          "[unit][access]") {
  Family f = s2();
  withdraw_school(f);
  const Viewer lead = viewer(kLead, kYouth);
  FieldValues visit = contact({"p", "d"});
  visit["occurred_at"] = "2026-05-21T11:00:00Z";  // after the 10:00 withdrawal
  WriteVerdict flagged = f.judge(lead, create("Contact", "c3", visit));
  CHECK(flagged.outcome == Outcome::allow_flagged);
  CHECK(flagged.allowed());
  CHECK(flagged.reason.find("recorded_after_consent_withdrawal") != std::string::npos);
  CHECK(flagged.reason.find("§6.6") != std::string::npos);
  CHECK(flagged.route_to == kLead);
  // S2: C3's subjects are D only, and K2 is unaffected: no flag.
  FieldValues d_only = contact({"d"});
  d_only["occurred_at"] = "2026-05-21T11:00:00Z";
  CHECK(f.judge(lead, create("Contact", "c3", d_only)).outcome == Outcome::allow);
  // A visit that happened before the withdrawal was not recorded after it.
  visit["occurred_at"] = "2026-05-21T09:00:00Z";
  CHECK(f.judge(lead, create("Contact", "c3", visit)).outcome == Outcome::allow);
  // Recording the withdrawal itself is not flagged.
  CHECK(f.judge(lead, set("ConsentRecord", "k1", "withdrawal_channel", "PHONE")).outcome == Outcome::allow);
}
