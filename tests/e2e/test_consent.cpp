// Consent, roles and need-to-know end to end (DOMAIN.md §6, §7, §13 S2): a real hearth-server
// over TLS decides from the family's own records what each practitioner's tablet receives.
#include <catch2/catch.hpp>

#include "hearth/client/store.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

// The family of S2: father P (with parental responsibility) and daughter D, 15, competent and
// consenting for herself. Lead professional yw-2 of the Youth Service; the school's DSL is on
// the team. Each narrative carries a marker so a scan can tell whose information reached a tablet.
struct S2 {
  ServerProcess& server;
  Tablet lead;
  std::string family, p, d, k1, k2, ep, note_p, note_d, rel;

  explicit S2(ServerProcess& s) : server(s), lead((setup(s), s), "yw-2") {
    family = must(lead.store->create_family({{"display_name", "Family G"}, {"phone", "07700 900123"}}));
    auto& st = *lead.store;
    p = must(st.create(family, "Person", person_fields("P", "1980-02-03")));
    d = must(st.create(family, "Person", person_fields("D", "2011-04-01")));
    rel = must(st.create(family, "Relationship",
                         {{"person_a", p}, {"person_b", d}, {"type", "FATHER"}, {"parental_responsibility", "YES"}}));
    ep = must(st.create(family, "EarlyHelpEpisode",
                        {{"subject_children", StringList{d}}, {"start_date", "2026-09-01"},
                         {"start_reason", "PARENTING_FAMILY_DYNAMICS"}, {"level_of_need", "L2"},
                         {"service_model", "MULTI_AGENCY_TAF"}, {"allocated_org", "org-ys"},
                         {"lead_professional", "yw-2"}}));
    k1 = must(st.create(family, "ConsentRecord", consent(p, p, "SELF_ADULT")));
    FieldValues own = consent(d, d, "COMPETENT_CHILD_SELF");
    own["competence_rationale"] = "D understands what sharing with school means and chose it herself";
    own["competence_assessed_by"] = "yw-2";  // §6.3: a competent child's consent records the assessment
    own["competence_assessed_at"] = "2026-09-01T09:30:00Z";
    k2 = must(st.create(family, "ConsentRecord", own));
    note_p = must(st.create(family, "Contact", visit(p, "marker-P: talked about his work stress")));
    note_d = must(st.create(family, "Contact", visit(d, "marker-D: mentor sessions at school going well")));
    lead.sync();
    server.admin({"allocate", "--family", family, "--practitioner", "dsl-1", "--scope", "FULL_EPISODE"});
  }

  static void setup(ServerProcess& s) {
    s.admin({"add-org", "--id", "org-school", "--name", "Hillside School", "--type", "SCHOOL"});
    s.admin({"add-org", "--id", "org-housing", "--name", "Housing", "--type", "HOUSING"});
    s.admin({"add-practitioner", "--id", "yw-2", "--org", "org-ys", "--name", "Youth worker", "--role", "PRACTITIONER"});
    s.admin({"add-practitioner", "--id", "dsl-1", "--org", "org-school", "--name", "School DSL", "--role", "PRACTITIONER"});
    s.admin({"add-practitioner", "--id", "duty-1", "--org", "org-ys", "--name", "Duty worker", "--role", "PRACTITIONER"});
  }

  FieldValues consent(const std::string& about, const std::string& by, const std::string& basis) {
    return {{"purposes", StringList{"RECEIVE_EARLY_HELP", "SHARE_WITH_TAF"}}, {"covers_persons", StringList{about}},
            {"given_by", by}, {"capacity_basis", basis}, {"recipients", StringList{"org-housing", "org-school", "org-ys"}},
            {"data_scope", "ALL_EPISODE_RECORDS"}, {"method", "ON_DEVICE_SIGNATURE"}, {"explained_by", "yw-2"},
            {"privacy_notice_version", "v3"}, {"given_at", "2026-09-01T10:00:00Z"},
            {"expires_at", "2027-09-01T10:00:00Z"}, {"status", "ACTIVE"}};
  }
  FieldValues visit(const std::string& who, const std::string& narrative) {
    return {{"practitioner", "yw-2"}, {"occurred_at", "2026-11-20T10:00:00Z"}, {"contact_type", "HOME_VISIT"},
            {"persons_present", StringList{who}}, {"narrative", narrative}, {"concern_raised", false}};
  }
};

bool holds(Tablet& t, const std::string& record) { return t.store->get(record).ok(); }

}  // namespace

TEST_CASE("S2: the father withdraws consent to share with the school: the school's tablet loses exactly his records",
          "[e2e][security]") {
  ServerProcess server;
  S2 s(server);
  Tablet school(server, "dsl-1");
  school.sync();
  // Before the withdrawal the school holds both people's shared records.
  for (const auto& r : {s.p, s.d, s.note_p, s.note_d, s.k1, s.k2, s.ep}) {
    INFO(r);
    CHECK(holds(school, r));
  }

  // 10:00 the duty worker records P's partial withdrawal (RECIPIENTS = {school}) at the office.
  std::string out = server.admin({"consent", "withdraw", "--family", s.family, "--consent", s.k1, "--recipients",
                                  "org-school", "--withdrawn-by", s.p, "--recorded-by", "duty-1", "--channel", "PHONE"});
  CHECK_THAT(out, Contains(s.k1));

  // 11:00 the lead, offline and unaware, records a visit with D only: recording is not sharing.
  std::string c3 = must(s.lead.store->create(s.family, "Contact", s.visit(s.d, "marker-D2: D wants her mentor told")));
  s.lead.sync();
  CHECK(holds(s.lead, c3));

  // The school's next sync: P's records are purged, D's own stay, and the tablet knows what is withheld.
  school.sync();
  for (const auto& r : {s.p, s.note_p, s.k1, s.rel}) {
    INFO("withheld from the school: " << r);
    CHECK_FALSE(holds(school, r));
  }
  for (const auto& r : {s.d, s.note_d, s.k2, s.ep, c3}) {
    INFO("still shared with the school: " << r);
    CHECK(holds(school, r));
  }
  auto withheld = must(school.store->withheld(s.family));
  CHECK(std::find(withheld.begin(), withheld.end(), s.note_p) != withheld.end());
  std::string family = school.family_json(s.family);
  CHECK_THAT(family, !Contains("marker-P"));
  CHECK_THAT(family, Contains("marker-D2"));

  // The lead agency's own record is untouched by the withdrawal (DOMAIN.md §6.2).
  std::string full = s.lead.family_json(s.family);
  CHECK_THAT(full, Contains("marker-P"));
  CHECK_THAT(full, Contains("marker-D"));
}

TEST_CASE("Roles: a team member's edits reserved for the lead are held at the server, not applied", "[e2e][security]") {
  ServerProcess server;
  S2 s(server);
  Tablet school(server, "dsl-1");
  school.sync();
  // The school's DSL makes herself lead professional: held for the lead, who decides.
  must(school.store->update(s.ep, "lead_professional", "dsl-1"));
  auto r = school.sync();
  CHECK(r.held == 1);
  s.lead.sync();
  CHECK_THAT(must(s.lead.store->get(s.ep)).json, Contains("\"lead_professional\":\"yw-2\""));
  std::string flags = server.admin({"flags"});
  CHECK_THAT(flags, Contains("held_for_decision"));
}
