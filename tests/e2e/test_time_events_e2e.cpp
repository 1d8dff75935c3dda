// Time-driven events and break-glass end to end (issue 8 parts 2, 4, 5; DOMAIN.md §6.7, §7): a
// real hearth-server over TLS and real tablets. Expiry is driven by `hearth-server tick --as-of`
// (the server's clock cannot be moved in a real process); the ticker inside `serve` is shown
// with a referrer's feedback falling due at once.
#include <catch2/catch.hpp>

#include "../support/db_count.hpp"
#include <chrono>
#include <thread>

#include "hearth/core/civil_time.hpp"
#include "../support/fake_clock.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kHour = int64_t{3600} * 1000;

bool holds(Tablet& t, const std::string& record) { return t.store->get(record).ok(); }

bool holds_family(Tablet& t, const std::string& family) {
  auto families = must(t.store->families());
  return std::find(families.begin(), families.end(), family) != families.end();
}

// Audit events of one action for a family, read from the server's database.
int64_t audits(ServerProcess& server, const std::string& action, const std::string& family) {
  return db_count(server.db(), "SELECT count(*) FROM audit_events WHERE action = ? AND family = ?", {action, family});
}

void directory(ServerProcess& s) {
  // org-hv, org-ys and hv-1 come with every ServerProcess.
  s.admin({"add-practitioner", "--id", "ys-1", "--org", "org-ys", "--name", "Youth worker", "--role", "PRACTITIONER"});
  s.admin({"add-practitioner", "--id", "duty-1", "--org", "org-hv", "--name", "Duty worker", "--role", "PRACTITIONER"});
  s.admin({"add-practitioner", "--id", "mgr-1", "--org", "org-hv", "--name", "Team manager", "--role", "TEAM_MANAGER"});
  s.admin({"add-practitioner", "--id", "ig-1", "--org", "org-hv", "--name", "IG officer", "--role", "IG_OFFICER"});
}

std::string in_hours(int64_t hours) {
  return civil::format_datetime(static_cast<int64_t>(wall_now_ms()) + hours * kHour);
}

// A family on hv-1's tablet: a mother, a visit about her, and her consent to share with the
// health visiting and youth services, expiring at `expires`.
struct Family {
  std::string id, mother, visit, consent;
  Family(Tablet& lead, const std::string& expires) {
    auto& st = *lead.store;
    id = must(st.create_family({{"display_name", "Family H"}, {"phone", "07700 900456"}}));
    mother = must(st.create(id, "Person", person_fields("M", "1990-03-04")));
    visit = must(st.create(id, "Contact",
                           {{"practitioner", "hv-1"}, {"occurred_at", "2026-11-20T10:00:00Z"},
                            {"contact_type", "HOME_VISIT"}, {"persons_present", StringList{mother}},
                            {"narrative", "marker-M: talked about sleep"}, {"concern_raised", false}}));
    consent = must(st.create(id, "ConsentRecord",
                             {{"purposes", StringList{"RECEIVE_EARLY_HELP", "SHARE_WITH_TAF"}},
                              {"covers_persons", StringList{mother}}, {"given_by", mother},
                              {"capacity_basis", "SELF_ADULT"}, {"recipients", StringList{"org-hv", "org-ys"}},
                              {"data_scope", "ALL_EPISODE_RECORDS"}, {"method", "ON_DEVICE_SIGNATURE"},
                              {"explained_by", "hv-1"}, {"privacy_notice_version", "v3"},
                              {"given_at", "2026-09-01T10:00:00Z"}, {"expires_at", expires}, {"status", "ACTIVE"}}));
    lead.sync();
  }
};

}  // namespace

TEST_CASE("Break-glass: a practitioner outside the team is granted the family and loses it after expiry and a tick",
          "[e2e][security]") {
  ServerProcess server;
  directory(server);
  Tablet lead(server, "hv-1");
  Family f(lead, in_hours(24 * 365));
  Tablet duty(server, "duty-1");
  duty.sync();
  CHECK_FALSE(holds_family(duty, f.id));

  auto transport = must(client::transport_for(*duty.store));
  // Refusals are clear: a reason code the server does not define, a family it does not hold,
  // and the lead, who is on the team.
  auto bad = client::request_emergency_access(*duty.store, *transport, f.id, "CURIOSITY", "just looking");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("MISSING_CHILD"));
  auto none = client::request_emergency_access(*duty.store, *transport, "fam-none", "MISSING_CHILD", "child missing");
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message, Contains("holds no records of family"));
  auto lead_transport = must(client::transport_for(*lead.store));
  auto member = client::request_emergency_access(*lead.store, *lead_transport, f.id, "MISSING_CHILD", "child missing");
  REQUIRE_FALSE(member);
  CHECK(member.error().code == ErrorCode::conflict);

  auto granted = must(client::request_emergency_access(*duty.store, *transport, f.id, "OUT_OF_HOURS_EMERGENCY",
                                                       "police ask for the family's known addresses tonight"));
  CHECK(granted.family == f.id);
  const int64_t lasts = static_cast<int64_t>(granted.expires_at_ms) - static_cast<int64_t>(wall_now_ms());
  CHECK(lasts > 4 * kHour - 60000);
  CHECK(lasts <= 4 * kHour);
  duty.sync();
  CHECK(holds_family(duty, f.id));
  CHECK(holds(duty, f.mother));
  CHECK(audits(server, "break-glass", f.id) == 1);
  // The manager and the IG officer each have a review task in the family.
  lead.sync();
  std::string family = lead.family_json(f.id);
  CHECK_THAT(family, Contains("BREAK_GLASS_REVIEW"));
  CHECK_THAT(family, Contains("mgr-1"));
  CHECK_THAT(family, Contains("ig-1"));

  // A tick before the expiry ends nothing; one after it does, once.
  CHECK_THAT(server.admin({"tick"}), !Contains("break-glass grant"));
  duty.sync();
  CHECK(holds_family(duty, f.id));
  std::string later = in_hours(5);
  CHECK_THAT(server.admin({"tick", "--as-of", later}), Contains("break-glass grant " + granted.grant_id));
  CHECK_THAT(server.admin({"tick", "--as-of", later}), !Contains("break-glass grant"));
  auto report = duty.sync();
  CHECK(report.families_purged == 1);
  CHECK_FALSE(holds_family(duty, f.id));
  CHECK_FALSE(holds(duty, f.mother));
  CHECK(audits(server, "break-glass-expired", f.id) == 1);
  // The lead's tablet keeps everything.
  lead.sync();
  CHECK(holds(lead, f.visit));
}

TEST_CASE("Consent expiry: after the tick the recipient's next sync loses what the consent alone shared",
          "[e2e][security]") {
  ServerProcess server({"--tick-seconds", "1"});
  directory(server);
  Tablet lead(server, "hv-1");
  Family f(lead, in_hours(48));
  server.admin({"allocate", "--family", f.id, "--practitioner", "ys-1", "--scope", "FULL_EPISODE"});
  Tablet youth(server, "ys-1");
  youth.sync();
  REQUIRE(holds(youth, f.visit));
  youth.sync();  // nothing new: an empty sync
  CHECK(holds(youth, f.visit));

  // The ticker inside `serve` (every second here) raises the referrer's feedback task at once.
  must(lead.store->create(f.id, "Referral",
                          {{"received_at", in_hours(0)}, {"channel", "EARLY_HELP_HUB"}, {"referral_source_code", "1A"},
                           {"subject_persons", StringList{f.mother}}, {"presenting_needs", StringList{"PARENTING_SUPPORT"}},
                           {"reason_text", "asks for help with routines"}, {"significant_harm_suspected", false},
                           {"referrer_details", "School nurse"}}));
  lead.sync();
  bool raised = false;
  for (int i = 0; i < 40 && !raised; ++i) {  // bounded: 20 s
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    lead.sync();
    raised = lead.family_json(f.id).find("REFERRER_FEEDBACK_DUE") != std::string::npos;
  }
  CHECK(raised);

  std::string out = server.admin({"tick", "--as-of", in_hours(72)});
  CHECK_THAT(out, Contains("consent " + f.consent + " expired"));
  CHECK(audits(server, "consent-expired", f.id) == 1);
  youth.sync();
  CHECK_FALSE(holds(youth, f.visit));
  CHECK_FALSE(holds(youth, f.mother));
  CHECK(holds_family(youth, f.id));  // still on the team: the family stays, the mother's records go
  lead.sync();
  CHECK(holds(lead, f.visit));  // the lead agency's own record is untouched (§6.2)
  CHECK_THAT(lead.family_json(f.id), Contains("CONSENT_EXPIRING"));
}
