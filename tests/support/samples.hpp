#pragma once
// Minimal valid field sets for v1 records, so tests state only what they are about.
#include "hearth/core/validation.hpp"

namespace hearth::test {

inline FieldValues family_fields(const std::string& name = "Family F") {
  return {{"display_name", name}, {"phone", "07700 900000"}};
}

inline FieldValues person_fields(const std::string& given = "A", const std::string& dob = "2020-05-01") {
  return {{"given_names", given}, {"family_name", "F"}, {"person_status", "LIVING"}, {"date_of_birth", dob}};
}

inline FieldValues episode_fields(const StringList& children = {"child-1"}) {
  return {{"subject_children", children}, {"start_date", "2026-01-05"},
          {"start_reason", "PARENTING_FAMILY_DYNAMICS"}, {"level_of_need", "L3"},
          {"service_model", "MULTI_AGENCY_TAF"}, {"allocated_org", "org-eh"}, {"lead_professional", "hv-1"}};
}

inline FieldValues referral_fields() {
  return {{"received_at", "2026-01-05T09:00:00Z"}, {"channel", "MASH_FRONT_DOOR"}, {"referral_source_code", "1A"},
          {"subject_persons", StringList{"child-1"}}, {"presenting_needs", StringList{"PARENTING_SUPPORT"}},
          {"reason_text", "Mother asks for help with routines"}, {"significant_harm_suspected", false}};
}

inline FieldValues assessment_fields(const std::string& episode = "ep-1") {
  return {{"episode", episode}, {"assessment_type", "EHA_FAMILY"}, {"template_id", "eha"},
          {"template_version", "3"}, {"author", "hv-1"}, {"started_at", "2026-01-06T10:00:00Z"},
          {"reason_for_assessment", "Whole-family assessment"}, {"significant_harm_indicated", false}};
}

inline FieldValues plan_fields(const std::string& episode = "ep-1") {
  return {{"episode", episode}, {"version", 1}, {"based_on_assessment", "as-1"}, {"review_interval_weeks", 6},
          {"next_review_due", "2026-03-01"}};
}

inline FieldValues action_fields(const std::string& status = "NOT_STARTED") {
  return {{"outcome", "po-1"}, {"description", "B weighed at clinic fortnightly"}, {"owner_kind", "PRACTITIONER"},
          {"owner_practitioner", "hv-1"}, {"due_date", "2026-02-01"}, {"status", status}};
}

inline FieldValues contact_fields(const std::string& when, const std::string& narrative,
                                  const std::string& practitioner = "hv-1") {
  return {{"practitioner", practitioner}, {"occurred_at", when}, {"contact_type", "HOME_VISIT"},
          {"narrative", narrative}, {"concern_raised", false}};
}

inline FieldValues consent_fields() {
  return {{"purposes", StringList{"SHARE_WITH_TAF"}}, {"covers_persons", StringList{"mother-1"}},
          {"given_by", "mother-1"}, {"capacity_basis", "SELF_ADULT"}, {"data_scope", "ALL_EPISODE_RECORDS"},
          {"method", "ON_DEVICE_SIGNATURE"}, {"explained_by", "hv-1"}, {"privacy_notice_version", "v2"},
          {"given_at", "2026-01-05T10:00:00Z"}, {"expires_at", "2027-01-05T10:00:00Z"}, {"status", "ACTIVE"}};
}

inline FieldValues alert_fields(const std::string& severity = "WARNING") {
  return {{"subject", "fam-1"}, {"type", "DOMESTIC_ABUSE_RISK"}, {"severity", severity}, {"set_by", "hv-1"},
          {"set_at", "2026-01-06T10:00:00Z"}};
}

}  // namespace hearth::test
