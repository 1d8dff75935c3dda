#pragma once
// A generated Early Help caseload for the KPI report (DOMAIN.md §12): families with people,
// addresses, referrals, episodes, assessments, plans, meetings, Star readings, consents,
// step-ups and step-downs spread over a year, as the server's current records (canonical JSON,
// core/render.hpp shape). Deterministic for a seed. Some answers are known by construction:
// the generator counts, as it writes them, the records each headline KPI of the quarter must
// count (Expected below); the tests compare the report with these and with a second
// computation of their own. Used by tests/server/test_report.cpp and tests/bench/bench_report.cpp.
// No Catch2 here: the benchmark includes it too.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hearth/core/civil_time.hpp"

namespace hearth::test {

struct KpiRecord {
  std::string id, type, family;
  std::string json;
};

struct KpiDatasetSpec {
  int families = 200;
  uint64_t seed = 7;
  // The quarter the expectations are for: [q_from, q_to) as dates.
  std::string q_from = "2026-07-01", q_to = "2026-10-01";
  // Activity is spread over [activity_from, activity_to).
  std::string activity_from = "2025-10-01", activity_to = "2026-10-01";
  // Contacts per family: the bulk of a real caseload's records, which the report does not read.
  int contacts_per_family = 2;
};

// Counted by construction for the quarter [q_from, q_to).
struct KpiExpected {
  int64_t ehas_completed = 0;          // K-01 assessments
  std::set<std::string> eha_families;  // K-01 families
  int64_t referrals_decided = 0;       // K-05 decided
  std::set<std::string> families_supported;  // K-06 families
  int64_t episodes_started = 0;        // K-06 new_episodes
  int64_t step_ups = 0;                // K-11 requests
  int64_t duplicate_episodes = 0;      // excluded from everything
  int64_t merged_persons = 0;
};

struct KpiDataset {
  std::vector<KpiRecord> records;
  std::map<std::string, std::string> agency_of_practitioner;  // practitioner -> org_type
  std::map<std::string, std::string> organisation_of;         // practitioner -> organisation id
  std::map<std::string, std::string> org_type;                // organisation id -> org_type
  std::vector<std::pair<std::string, std::string>> lsoa_table;  // postcode (as written) -> LSOA
  KpiExpected expected;
};

namespace kpi_detail {

inline int64_t day_of(const std::string& date) {
  auto d = civil::parse_date(date);
  return civil::days_from_civil(d->y, d->m, d->d);
}
inline std::string date(int64_t day) { return civil::format_date(day); }
inline std::string at(int64_t day, int64_t minute_of_day) {
  return civil::format_datetime_seconds(day * civil::kDayMs + minute_of_day * 60000);
}

}  // namespace kpi_detail

inline KpiDataset make_kpi_dataset(const KpiDatasetSpec& spec) {
  using nlohmann::json;
  using namespace kpi_detail;
  KpiDataset ds;
  std::mt19937_64 rng(spec.seed);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  auto chance = [&](int percent) { return pick(0, 99) < percent; };
  auto one_of = [&](const std::vector<std::string>& v) { return v[static_cast<size_t>(pick(0, static_cast<int64_t>(v.size()) - 1))]; };

  const int64_t q_from = day_of(spec.q_from), q_to = day_of(spec.q_to);
  const int64_t a_from = day_of(spec.activity_from), a_to = day_of(spec.activity_to);
  auto in_q = [&](int64_t day) { return day >= q_from && day < q_to; };

  auto add = [&](const std::string& id, const std::string& type, const std::string& family, json fields) {
    json r = {{"id", id}, {"type", type}, {"family", family}, {"created", true}, {"created_by", "gen"},
              {"deleted", false}, {"fields", std::move(fields)}, {"multi", json::object()}};
    ds.records.push_back({id, type, family, r.dump()});
  };

  // The directory: organisations of several types and their practitioners.
  const std::vector<std::pair<std::string, std::string>> orgs = {
      {"org-school", "SCHOOL"}, {"org-hv", "HEALTH_VISITING"}, {"org-eh", "LA_EARLY_HELP"},
      {"org-police", "POLICE"}, {"org-housing", "HOUSING"}, {"org-gp", "GP"}};
  std::vector<std::string> practitioners;
  for (const auto& [org, type] : orgs) {
    ds.org_type[org] = type;
    for (int i = 1; i <= 2; ++i) {
      std::string p = org.substr(4) + "-" + std::to_string(i);
      practitioners.push_back(p);
      ds.organisation_of[p] = org;
      ds.agency_of_practitioner[p] = type;
    }
  }
  const std::vector<std::string> teams = {"org-eh", "org-hv", "org-school"};
  const std::vector<std::string> postcodes = {"MK40 1AA", "mk40 2bb", "MK41 3CC", "MK42 4DD", "MK43 5EE", "MK44 6FF"};
  for (size_t i = 0; i < postcodes.size(); ++i) ds.lsoa_table.emplace_back(postcodes[i], "E0100" + std::to_string(1000 + i % 4));
  const std::vector<std::string> needs = {"PARENTING_SUPPORT", "PARENTAL_SEPARATION", "DOMESTIC_ABUSE", "SCHOOL_ATTENDANCE_EXCLUSION",
                                          "PARENTAL_MENTAL_HEALTH", "FINANCE_DEBT_POVERTY", "BEHAVIOUR"};
  const std::vector<std::string> ethnicities = {"WBRI", "WOTH", "MWBC", "APKN", "BAFR", "CHNE", "NOBT"};
  const std::vector<std::string> areas = {"PHYSICAL_HEALTH", "WELLBEING", "MEETING_EMOTIONAL_NEEDS", "KEEPING_CHILDREN_SAFE",
                                          "SOCIAL_NETWORKS", "BOUNDARIES_BEHAVIOUR", "FAMILY_ROUTINE", "HOME_MONEY"};
  const std::vector<std::string> reasons = {"OUTCOMES_ACHIEVED", "STEP_DOWN_TO_UNIVERSAL", "STEPPED_UP_TO_CSC",
                                            "FAMILY_WITHDREW_CONSENT", "DISENGAGED_UNABLE_TO_CONTACT",
                                            "OPENED_IN_ERROR_OR_DUPLICATE", "MOVED_OUT_OF_AREA"};
  const std::vector<std::string> decisions = {"ALLOCATE_TARGETED_EH_SERVICE", "EH_CONSULTATION_TAF", "SIGNPOST_IAG",
                                              "REFER_TO_SINGLE_SERVICE", "STEP_UP_TO_CSC", "NO_FURTHER_ACTION"};

  for (int fi = 0; fi < spec.families; ++fi) {
    const std::string f = "fam-" + std::to_string(fi);
    const std::string addr = f + "/addr";
    const bool own_lsoa = chance(20);
    json family = {{"display_name", "Family " + std::to_string(fi)}, {"current_address", addr}};
    if (own_lsoa) family["lsoa_code"] = "E0100" + std::to_string(2000 + fi % 3);
    add(f, "Family", f, family);
    const bool refuge = chance(3);
    add(addr, "Address", f,
        {{"lines", "1 Street"}, {"postcode", one_of(postcodes)}, {"type", refuge ? "REFUGE" : "HOME"}, {"confidential", refuge}});

    // People: a parent and one to three children; some unborn; some with a duplicate merged away.
    add(f + "/parent", "Person", f,
        {{"given_names", "P"}, {"family_name", "F"}, {"person_status", "LIVING"}, {"date_of_birth", "1990-03-04"}, {"sex", "FEMALE"}});
    std::vector<std::string> children;
    const int64_t n_children = pick(1, 3);
    for (int64_t c = 0; c < n_children; ++c) {
      const std::string id = f + "/child-" + std::to_string(c);
      json p = {{"given_names", "C"}, {"family_name", "F"}};
      if (chance(4)) {
        p["person_status"] = "UNBORN";
        p["expected_due_date"] = date(a_to + pick(10, 120));
      } else {
        p["person_status"] = "LIVING";
        p["date_of_birth"] = date(a_to - pick(30, 24 * 365));
      }
      if (chance(90)) p["sex"] = chance(50) ? "MALE" : "FEMALE";
      if (chance(85)) p["ethnicity"] = one_of(ethnicities);
      if (chance(70)) p["disability"] = chance(10);
      if (chance(5)) p["young_carer"] = true;
      add(id, "Person", f, p);
      children.push_back(id);
    }
    std::string duplicate;  // a second record of child 0, merged into it
    if (chance(6)) {
      duplicate = f + "/child-0-dup";
      add(duplicate, "Person", f,
          {{"given_names", "C"}, {"family_name", "F"}, {"person_status", "LIVING"}, {"date_of_birth", "2015-01-01"},
           {"merged_into", children[0]}});
      ++ds.expected.merged_persons;
    }

    // One or two episodes, the second after the first closed (a re-referral).
    int64_t next_start = a_from + pick(-120, (a_to - a_from) - 1);
    const int64_t n_episodes = chance(15) ? 2 : 1;
    for (int64_t e = 0; e < n_episodes && next_start < a_to; ++e) {
      const std::string ep = f + "/ep-" + std::to_string(e);
      const int64_t start = next_start;
      const bool closes = chance(45);
      const int64_t closed = start + pick(20, 220);
      const bool is_closed = closes && closed < a_to;
      const std::string reason = is_closed ? one_of(reasons) : "";
      const bool dup = reason == "OPENED_IN_ERROR_OR_DUPLICATE";
      if (dup) ++ds.expected.duplicate_episodes;
      const std::string team = one_of(teams);
      json episode = {{"subject_children", children}, {"start_date", date(start)}, {"start_reason", "PARENTING_FAMILY_DYNAMICS"},
                      {"level_of_need", chance(60) ? "L2" : "L3"}, {"service_model", "MULTI_AGENCY_TAF"},
                      {"allocated_org", team}, {"status", is_closed ? "CLOSED" : "ACTIVE"}};
      if (chance(20)) episode["sf_eligible"] = true;
      if (chance(10)) episode["sf_claim_status"] = chance(50) ? "CLAIMED" : "VERIFIED";
      if (is_closed) {
        episode["closed_at"] = date(closed);
        episode["closure_reason"] = reason;
        episode["outcome_at_closure"] = one_of({"ALL_ACHIEVED", "SOME_ACHIEVED", "NONE_ACHIEVED", "NOT_ASSESSED"});
      }
      add(ep, "EarlyHelpEpisode", f, episode);
      if (!dup) {
        if (start < q_to && (!is_closed || closed >= q_from)) ds.expected.families_supported.insert(f);
        if (in_q(start)) ++ds.expected.episodes_started;
      }

      // The referral that opened it.
      const int64_t received_day = start - pick(0, 5);
      const int64_t received_min = pick(0, 1439);
      json referral = {{"received_at", at(received_day, received_min)}, {"channel", one_of({"MASH_FRONT_DOOR", "EARLY_HELP_HUB", "SELF_REFERRAL"})},
                       {"referral_source_code", "1A"}, {"subject_persons", children}, {"presenting_needs", json::array({one_of(needs)})},
                       {"reason_text", "r"}, {"significant_harm_suspected", false}, {"episode", ep}};
      if (!chance(10)) referral["referrer"] = one_of(practitioners);
      const int64_t decided_min = received_day * 1440 + received_min + pick(30, 3 * 1440);
      const bool decided = chance(90);
      if (decided) {
        referral["decision"] = one_of(decisions);
        referral["decided_at"] = at(decided_min / 1440, decided_min % 1440);
        referral["status"] = "DECIDED";
        if (chance(70)) referral["offer_outcome"] = one_of({"ACCEPTED", "DECLINED", "NO_RESPONSE", "NOT_APPLICABLE"});
        if (!dup && in_q(decided_min / 1440)) ++ds.expected.referrals_decided;
      } else {
        referral["status"] = "TRIAGE";
      }
      if (chance(80)) {
        const int64_t notified = received_day * 1440 + received_min + pick(60, 60 * 60);
        referral["referrer_notified_at"] = at(notified / 1440, notified % 1440);
      }
      add(ep + "/referral", "Referral", f, referral);

      // An early help conversation before some.
      if (chance(30)) {
        const int64_t conv = start - pick(0, 20);
        add(ep + "/conversation", "Assessment", f,
            {{"episode", ep}, {"assessment_type", "EARLY_HELP_CONVERSATION"}, {"template_id", "c"}, {"template_version", "1"},
             {"author", one_of(practitioners)}, {"started_at", at(conv, 500)}, {"completed_at", at(conv, 600)},
             {"status", "COMPLETED"}, {"reason_for_assessment", "r"}, {"significant_harm_indicated", false}});
      }

      // The EHA.
      const int64_t done_day = start + pick(2, 30);
      const std::string status = one_of({"COMPLETED", "AUTHORISED", "FAMILY_SIGNED", "IN_PROGRESS"});
      const bool done = status != "IN_PROGRESS" && (!is_closed || done_day <= closed) && done_day < a_to;
      const std::string eha = ep + "/eha";
      json a = {{"episode", ep}, {"assessment_type", chance(8) ? "EHA_REASSESSMENT" : "EHA_FAMILY"}, {"template_id", "eha"},
                {"template_version", "3"}, {"author", one_of(practitioners)}, {"started_at", at(start, 540)},
                {"status", done ? status : "IN_PROGRESS"}, {"reason_for_assessment", "r"}, {"significant_harm_indicated", false},
                {"level_of_need_determined", chance(50) ? "L2" : "L3"}};
      json ns = json::array();
      for (const auto& n : needs)
        if (chance(25)) ns.push_back(n);
      a["presenting_needs"] = ns;
      if (done) a["completed_at"] = at(done_day, pick(0, 1439));
      add(eha, "Assessment", f, a);
      if (done && a["assessment_type"] == "EHA_FAMILY" && !dup && in_q(done_day)) {
        ++ds.expected.ehas_completed;
        ds.expected.eha_families.insert(f);
      }
      for (const auto& c : children)
        if (chance(80)) {
          json v = {{"assessment", eha}, {"child", c}, {"method", "DIRECT_CONVERSATION"}, {"date", date(done_day)}};
          if (chance(85)) v["views_wishes_feelings"] = "views";
          else if (chance(50)) v["not_obtained_reason"] = "PRE_VERBAL_OBSERVED";
          add(eha + "/voice/" + c, "ChildVoice", f, v);
        }
      if (done) {
        const int64_t taf = done_day + pick(1, 30);
        if (taf < a_to)
          add(ep + "/taf", "TafMeeting", f,
              {{"episode", ep}, {"meeting_type", "INITIAL_TAF"}, {"scheduled_at", at(taf, 600)}, {"held_at", at(taf, 610)}, {"chair", "eh-1"}});
        const int64_t agreed = done_day + pick(1, 40);
        if (agreed < a_to)
          add(ep + "/plan", "FamilyPlan", f,
              {{"episode", ep}, {"version", 1}, {"based_on_assessment", eha}, {"agreed_at", at(agreed, 700)}, {"status", "ACTIVE"},
               {"family_agreement", json::array({f + "/parent"})}, {"review_interval_weeks", 6}, {"next_review_due", date(agreed + 42)}});
        const int64_t review = agreed + 42 + pick(-3, 12);
        if (review < a_to)
          add(ep + "/review", "Review", f,
              {{"episode", ep}, {"plan", ep + "/plan"}, {"review_date", date(review)}, {"outcome_progress", "p"},
               {"decision", "CONTINUE"}, {"child_voice", chance(60) ? json(eha + "/voice/" + children[0]) : json(nullptr)}});
      }

      // Consent to share.
      if (chance(75)) {
        const int64_t given = start + pick(-10, 45);
        json c = {{"purposes", json::array({"SHARE_WITH_TAF", "RECEIVE_EARLY_HELP"})}, {"covers_persons", children},
                  {"given_by", f + "/parent"}, {"capacity_basis", "PR_HOLDER_FOR_CHILD"}, {"data_scope", "ALL_EPISODE_RECORDS"},
                  {"method", "ON_DEVICE_SIGNATURE"}, {"explained_by", "eh-1"}, {"privacy_notice_version", "v2"},
                  {"given_at", at(given, 660)}, {"expires_at", at(given + 365, 660)}, {"status", "ACTIVE"}};
        if (chance(50)) c["episode"] = ep;
        if (chance(10)) {
          c["status"] = "WITHDRAWN";
          c["withdrawn_at"] = at(given + pick(5, 100), 720);
          c["withdrawal_scope"] = chance(50) ? "FULL" : "PURPOSES";
        }
        add(ep + "/consent", "ConsentRecord", f, c);
      }

      // Star readings for closing episodes: a baseline and a closing reading.
      if (is_closed && chance(75)) {
        const bool worker = chance(12);
        json base = json::array(), last = json::array();
        for (const auto& area : areas)
          if (chance(60)) {
            const int64_t b = pick(1, 7);
            base.push_back(area + "=" + std::to_string(b));
            if (chance(90)) last.push_back(area + "=" + std::to_string(std::min<int64_t>(10, std::max<int64_t>(1, b + pick(-2, 4)))));
          }
        const bool baseline_first = chance(92);
        add(ep + "/star-1", "OutcomeMeasurement", f,
            {{"episode", ep}, {"subject_kind", "FAMILY"}, {"tool", "FAMILY_STAR_PLUS"}, {"reading_type", baseline_first ? "BASELINE" : "REVIEW"},
             {"completed_on", date(start + 5)}, {"completion_mode", worker ? "WORKER_ONLY" : "COLLABORATIVE"}, {"scores", base}});
        add(ep + "/star-2", "OutcomeMeasurement", f,
            {{"episode", ep}, {"subject_kind", "FAMILY"}, {"tool", "FAMILY_STAR_PLUS"}, {"reading_type", "CLOSING"},
             {"completed_on", date(closed - pick(0, 4))}, {"completion_mode", "COLLABORATIVE"}, {"scores", last}});
      }

      // A step-up for episodes that ended in one, and now and then one that did not.
      if (reason == "STEPPED_UP_TO_CSC" || chance(4)) {
        const int64_t submitted = is_closed ? closed - pick(1, 15) : start + pick(5, 60);
        if (submitted < a_to && submitted > start) {
          std::vector<std::string> kids = {duplicate.empty() ? children[0] : duplicate};
          json s = {{"episode", ep}, {"children", kids}, {"kind", chance(60) ? "PLANNED" : "UNPLANNED_INCIDENT"},
                    {"submitted_at", at(submitted, 800)}, {"reason", "r"}, {"significant_harm", false},
                    {"consent_position", "CONSENT_GIVEN"}, {"status", "SUBMITTED"}};
          if (chance(70)) {
            s["csc_decision"] = one_of({"ACCEPTED_S17_ASSESSMENT", "ACCEPTED_S47_STRATEGY", "NFA_RETURN_TO_EH", "ADVICE_RETURN_TO_EH"});
            s["status"] = "DECIDED";
          }
          add(ep + "/stepup", "StepUpRequest", f, s);
          if (!dup && in_q(submitted)) ++ds.expected.step_ups;
        }
      }
      next_start = is_closed ? closed + pick(30, 500) : a_to;
    }

    // A step-down now and then, with its handover meeting.
    if (chance(8)) {
      const int64_t received = a_from + pick(0, (a_to - a_from) - 20);
      const int64_t held = received + pick(3, 20);
      add(f + "/handover", "TafMeeting", f,
          {{"episode", f + "/ep-0"}, {"meeting_type", "STEP_DOWN_HANDOVER"}, {"scheduled_at", at(held, 600)}, {"held_at", at(held, 630)},
           {"chair", "eh-1"}});
      json sd = {{"from_csc_ref", "CSC-" + std::to_string(fi)}, {"children", children}, {"received_at", at(received, 900)},
                 {"csc_plan_type", "CIN_PLAN"}, {"handover_meeting", f + "/handover"}};
      if (chance(70)) sd["consent"] = f + "/ep-0/consent";
      add(f + "/stepdown", "StepDownReceipt", f, sd);
    }
    // Information shared without consent, and break-glass access, now and then.
    if (chance(6)) {
      const int64_t decided = a_from + pick(0, (a_to - a_from) - 1);
      json d = {{"decided_at", at(decided, 1000)}, {"decided_by", "eh-1"}, {"decision", "SHARE"}, {"with_consent", "NO_NOT_SOUGHT"},
                {"recipients", json::array({"org-police"})}, {"items_summary", "s"}, {"purpose", "SAFEGUARDING_REFERRAL"},
                {"risk_description", "r"}, {"necessity_proportionality", "n"}, {"subject_informed", "INFORMED_AFTER"},
                {"lawful_basis", "PUBLIC_TASK_6_1_E"}, {"art9_condition", "NONE"}};
      if (chance(70)) {
        d["countersigned_by"] = "eh-2";
        d["countersigned_at"] = at(decided + pick(0, 4), 1010);
      }
      add(f + "/isd", "InformationSharingDecision", f, d);
    }
    if (chance(3))
      add(f + "/bg", "BreakGlassGrant", f,
          {{"practitioner", "police-1"}, {"reason_code", "OUT_OF_HOURS_EMERGENCY"}, {"reason", "r"},
           {"granted_at", at(a_from + pick(0, (a_to - a_from) - 1), 1200)}, {"expires_at", at(a_to, 0)}});
    // A contact or two: the bulk of real records, which the report does not read.
    for (int c = 0; c < spec.contacts_per_family; ++c)
      add(f + "/contact-" + std::to_string(c), "Contact", f,
          {{"practitioner", "eh-1"}, {"occurred_at", at(a_from + pick(0, (a_to - a_from) - 1), 600)}, {"contact_type", "HOME_VISIT"},
           {"narrative", "Visited the family; discussed the plan."}, {"concern_raised", false}});
  }
  return ds;
}

}  // namespace hearth::test
