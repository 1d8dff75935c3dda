#pragma once
// The family of DOMAIN.md §13 S2 as the end-to-end tests build it on the lead's tablet: father P
// (with parental responsibility) and daughter D, 15, competent and consenting for herself; an
// episode allocated to the Youth Service (org-ys) with yw-2 as lead professional; K1 (P for
// himself and family-level content) and K2 (D for her own information), both to receive early
// help and to share with the TAF's organisations.
#include <string>

#include "hearth/client/store.hpp"
#include "../support/must.hpp"
#include "../support/samples.hpp"

namespace hearth::test::family_g {

inline FieldValues consent(const std::string& about, const std::string& by, const std::string& basis,
                           const StringList& recipients) {
  return {{"purposes", StringList{"RECEIVE_EARLY_HELP", "SHARE_WITH_TAF"}}, {"covers_persons", StringList{about}},
          {"given_by", by}, {"capacity_basis", basis}, {"recipients", recipients},
          {"data_scope", "ALL_EPISODE_RECORDS"}, {"method", "ON_DEVICE_SIGNATURE"}, {"explained_by", "yw-2"},
          {"privacy_notice_version", "v3"}, {"given_at", "2026-09-01T10:00:00Z"},
          {"expires_at", "2027-09-01T10:00:00Z"}, {"status", "ACTIVE"}};
}

// A home visit by yw-2 with `who` present (the record's subject), each at its own hour of the day
// (visits in the same minutes would be probable duplicates, DOMAIN.md §8.3 C-1).
inline FieldValues visit(const std::string& who, const std::string& narrative) {
  static int made = 0;
  const int n = made++;
  const std::string at = "2026-11-20T" + std::to_string(10 + n % 10) + ":" + std::to_string(10 + (n / 10) % 50) + ":00Z";
  return {{"practitioner", "yw-2"}, {"occurred_at", at}, {"contact_type", "HOME_VISIT"},
          {"persons_present", StringList{who}}, {"narrative", narrative}, {"concern_raised", false}};
}

struct Records {
  std::string family, p, d, rel, ep, k1, k2;
};

// Creates the family on `st` (the lead's store; nothing is synced). `recipients` are the
// organisations both consents name.
inline Records create(client::Store& st, const std::string& display_name, const std::string& phone,
                      const StringList& recipients) {
  Records r;
  r.family = must(st.create_family({{"display_name", display_name}, {"phone", phone}}));
  r.p = must(st.create(r.family, "Person", person_fields("P", "1980-02-03")));
  r.d = must(st.create(r.family, "Person", person_fields("D", "2011-04-01")));
  r.rel = must(st.create(r.family, "Relationship",
                         {{"person_a", r.p}, {"person_b", r.d}, {"type", "FATHER"}, {"parental_responsibility", "YES"}}));
  r.ep = must(st.create(r.family, "EarlyHelpEpisode",
                        {{"subject_children", StringList{r.d}}, {"start_date", "2026-09-01"},
                         {"start_reason", "PARENTING_FAMILY_DYNAMICS"}, {"level_of_need", "L2"},
                         {"service_model", "MULTI_AGENCY_TAF"}, {"allocated_org", "org-ys"},
                         {"lead_professional", "yw-2"}}));
  r.k1 = must(st.create(r.family, "ConsentRecord", consent(r.p, r.p, "SELF_ADULT", recipients)));
  FieldValues own = consent(r.d, r.d, "COMPETENT_CHILD_SELF", recipients);
  own["competence_rationale"] = "D understands what early help and sharing with school mean, and chose it herself";
  own["competence_assessed_by"] = "yw-2";  // §6.3: a competent child's consent records the assessment
  own["competence_assessed_at"] = "2026-09-01T09:30:00Z";
  r.k2 = must(st.create(r.family, "ConsentRecord", own));
  return r;
}

}  // namespace hearth::test::family_g
