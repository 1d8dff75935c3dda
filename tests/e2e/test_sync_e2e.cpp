// End to end over TLS on 127.0.0.1: a real hearth-server process and real tablets.
#include <catch2/catch.hpp>

#include <set>

#include <thread>

#include "../support/fake_clock.hpp"
#include "tablet.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

// What the health visitor sets up before both go offline (S1's "given").
struct CaseOfS1 {
  std::string family, mother, baby, son, episode, a2, eha, section;
  explicit CaseOfS1(client::Store& s) {
    family = must(s.create_family(family_fields("Family F")));
    mother = must(s.create(family, "Person", person_fields("M", "1994-03-02")));
    baby = must(s.create(family, "Person", person_fields("B", "2026-07-20")));
    son = must(s.create(family, "Person", person_fields("Y", "2012-05-11")));
    episode = must(s.create(family, "EarlyHelpEpisode", episode_fields({baby, son})));
    must(s.add_element(episode, "taf_members", "yw-1"));
    FieldValues action = action_fields("IN_PROGRESS");
    action["owner_practitioner"] = "yw-1";  // A2 is the youth worker's action
    a2 = must(s.create(family, "PlanAction", action));
    FieldValues reassessment = assessment_fields(episode);
    reassessment["co_authors"] = StringList{"yw-1"};  // she co-authors the re-assessment
    eha = must(s.create(family, "Assessment", reassessment));
    must(s.transition(eha, "IN_PROGRESS"));
    section = client::finding_id(eha, "FEF_FAMILY_HISTORY_FUNCTIONING");
    must(s.create(family, "AssessmentFinding", {{"assessment", eha}, {"domain", "FEF_FAMILY_HISTORY_FUNCTIONING"}}, section));
  }
};

std::vector<sync::Conflict> conflicts_of(Tablet& t, const std::string& family) { return must(t.store->open_conflicts(family)); }

}  // namespace

TEST_CASE("E2E: S1, two workers visit the same family offline on the same day", "[e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  CaseOfS1 c(*hv.store);
  hv.sync();
  server.admin({"allocate", "--family", c.family, "--practitioner", "yw-1"});
  yw.sync();
  hv.sync();  // the office's TeamMember record for yw-1 reaches the lead's tablet too
  REQUIRE(yw.family_json(c.family) == hv.family_json(c.family));

  // 10:00 HV offline
  must(hv.store->create(c.family, "Contact", contact_fields("2026-11-23T10:00:00Z", "HV: B seen", "hv-1")));
  must(hv.store->update(c.a2, "status", "NOT_DONE"));
  must(hv.store->update(c.family, "phone", "07700 900001"));
  must(hv.store->create(c.family, "Alert", alert_fields("WARNING")));
  must(hv.store->update(c.section, "needs_worries", "HV: argument with ex-partner"));
  must(hv.store->update(c.episode, "level_of_need", "L4"));
  // 15:00 YW offline
  auto yw_contact = contact_fields("2026-11-23T15:00:00Z", "YW: Y seen alone", "yw-1");
  yw_contact["contact_type"] = "DETACHED_YOUTH_WORK";
  must(yw.store->create(c.family, "Contact", yw_contact));
  must(yw.store->create(c.family, "OutcomeMeasurement",
                      {{"episode", c.episode}, {"subject_kind", "PERSON"}, {"person", c.son}, {"tool", "MY_STAR"},
                       {"reading_type", "REVIEW"}, {"completed_on", "2026-11-23"}, {"completion_mode", "COLLABORATIVE"},
                       {"scores", StringList{"WELLBEING=6"}}}));
  must(yw.store->update(c.a2, "status", "DONE"));
  must(yw.store->update(c.family, "phone", "07700 900002"));
  must(yw.store->update(c.section, "needs_worries", "YW: Y says home is tense"));
  // The level of need is the lead professional's to change (DOMAIN.md §7): a TAF member's change
  // is held at the server for the lead, not applied (S1b's conflict comes from a manager).
  must(yw.store->update(c.episode, "level_of_need", "L2"));

  auto r1 = yw.sync();  // 17:00
  CHECK(r1.pushed == 5);
  CHECK(r1.held == 1);
  CHECK(r1.rejected == 0);
  hv.sync();            // 18:00
  yw.sync();            // 18:30
  hv.sync();

  std::string converged = hv.family_json(c.family);
  auto chron = must(hv.store->chronology(c.family));
  REQUIRE(chron.size() == 3);  // the day's reading (a date sorts first in its day), then the visits in order
  CHECK_THAT(chron[0].json, Contains("MY_STAR"));
  CHECK_THAT(chron[1].json, Contains("HV: B seen"));
  CHECK_THAT(chron[2].json, Contains("YW: Y seen alone"));
  CHECK_THAT(must(hv.store->get(c.family)).json, Contains("07700 900002"));   // the later write (C-2)
  CHECK(must(hv.store->history(c.family, "phone")).size() == 3);               // the other kept
  CHECK_THAT(converged, Contains("DOMESTIC_ABUSE_RISK"));                      // C-15
  CHECK_THAT(must(hv.store->get(c.episode)).json, Contains("\"level_of_need\":\"L4\""));  // the lead's
  auto cs = conflicts_of(hv, c.family);
  REQUIRE(cs.size() == 2);  // A2 status (C-10), the EHA section (C-7)
  std::set<std::string> fields;
  for (const auto& k : cs) fields.insert(k.entity_type + "." + k.field);
  CHECK(fields == std::set<std::string>{"PlanAction.status", "AssessmentFinding.needs_worries"});
  CHECK_THAT(server.admin({"flags"}), Contains("held_for_decision"));
  auto blocked = hv.store->transition(c.eha, "COMPLETED");
  REQUIRE_FALSE(blocked.ok());
  // the lead resolves A2 after talking to YW; both tablets agree afterwards
  for (const auto& k : cs)
    if (k.field == "status") must(hv.store->resolve_conflict(k.id, Value("DONE")));
  hv.sync();
  yw.sync();
  CHECK(conflicts_of(yw, c.family).size() == 1);
  CHECK(server.admin({"verify-audit"}).find("audit trail intact") != std::string::npos);
}

TEST_CASE("E2E: a practitioner taken off the team has the family purged from the tablet", "[e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string fam = must(hv.store->create_family(family_fields()));
  must(hv.store->create(fam, "Contact", contact_fields("2026-11-23T10:00:00Z", "a visit")));
  hv.sync();
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  yw.sync();
  REQUIRE(must(yw.store->status()).families == 1);
  server.admin({"deallocate", "--family", fam, "--practitioner", "yw-1"});
  auto r = yw.sync();
  CHECK(r.families_purged == 1);
  CHECK(must(yw.store->status()).families == 0);
  CHECK_FALSE(yw.store->get(fam).ok());
  CHECK(must(sync_port(*yw.store).encoded_ops(fam)).empty());
  auto again = yw.sync();  // acknowledged: not purged twice, nothing sent
  CHECK(again.families_purged == 0);
  CHECK(again.pulled == 0);
  CHECK(must(hv.store->status()).families == 1);  // the lead keeps it
}

TEST_CASE("E2E: a visit recorded offline after being taken off the team reaches the lead, flagged", "[e2e][fault]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string fam = must(hv.store->create_family(family_fields()));
  hv.sync();
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  yw.sync();
  REQUIRE(must(yw.store->status()).families == 1);
  // taken off the team while the tablet is offline; the visit is recorded before it syncs
  server.admin({"deallocate", "--family", fam, "--practitioner", "yw-1"});
  must(yw.store->create(fam, "Contact", contact_fields("2026-11-24T10:00:00Z", "visit after removal", "yw-1")));
  auto r = yw.sync();
  CHECK(r.pushed == 1);
  CHECK(r.rejected == 0);
  hv.sync();
  CHECK_THAT(hv.family_json(fam), Catch::Contains("visit after removal"));
  std::string flags = server.admin({"flags", "--family", fam});
  CHECK_THAT(flags, Catch::Contains("recorded_after_team_removal") && Catch::Contains("yw-1"));
}

TEST_CASE("E2E: a newly allocated family arrives whole, an unchanged sync costs nothing", "[e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string fam = must(hv.store->create_family(family_fields()));
  for (int i = 0; i < 40; ++i)
    must(hv.store->create(fam, "Contact", contact_fields("2026-11-2" + std::to_string(i % 9) + "T1" +
                                                           std::to_string(i / 9) + ":00:00Z",  // none within minutes (C-1)
                                                       "visit " + std::to_string(i))));
  auto pushed = hv.sync();
  CHECK(pushed.pushed == 41);
  auto nothing = yw.sync();
  CHECK(nothing.pulled == 0);
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  client::SyncOptions small_pages;
  small_pages.page_bytes = 4096;  // several pages, each leaving the tablet consistent
  auto whole = yw.sync(small_pages);
  CHECK(whole.pulled == 43);  // the tablet's 41, and the TeamMember records of its creator and of yw-1
  CHECK(whole.pages > 1);
  hv.sync();  // the office's record for yw-1
  CHECK(yw.family_json(fam) == hv.family_json(fam));
  auto empty = yw.sync();
  CHECK(empty.pulled == 0);
  CHECK(empty.pushed == 0);
  CHECK(empty.pages == 1);
}

TEST_CASE("E2E: a tablet offline for 180 days syncs like any other", "[e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  std::string fam = must(hv.store->create_family(family_fields()));
  hv.sync();
  // the tablet's clock and stamps are 180 days old when it comes back (and its clock is right)
  const uint64_t day = 24ull * 3600 * 1000;
  test::FakeClock old(wall_now_ms() - 180 * day);
  hv.open(old.fn());
  for (int i = 0; i < 30; ++i) {
    must(hv.store->create(fam, "Contact", contact_fields("2026-05-2" + std::to_string(i % 9) + "T10:00:00Z", "offline " + std::to_string(i))));
    old.advance(static_cast<uint64_t>(6 * day));
  }
  auto r = hv.sync();
  CHECK(r.pushed == 30);
  CHECK(r.rejected == 0);
  Tablet other(server, "tm-1");
  server.admin({"allocate", "--family", fam, "--practitioner", "tm-1"});
  other.sync();
  hv.sync();  // the office's TeamMember record for tm-1
  CHECK(other.family_json(fam) == hv.family_json(fam));
}

TEST_CASE("E2E: a tablet whose clock is years ahead is corrected and does not win every conflict", "[e2e]") {
  ServerProcess server;
  Tablet honest(server, "hv-1");
  std::string fam = must(honest.store->create_family(family_fields()));
  honest.sync();
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  const uint64_t five_years = 5ull * 365 * 24 * 3600 * 1000;
  test::FakeClock ahead(wall_now_ms() + five_years);
  Tablet skewed(server, "yw-1");
  skewed.open(ahead.fn());
  // Five years on by its clock, its key lease (N5) has ended: its first sync measures and
  // corrects the clock (an empty push) before the pull renews the lease.
  auto told = skewed.sync();
  CHECK(told.clock_offset_ms < -static_cast<int64_t>(4 * 365ll * 24 * 3600 * 1000));  // told
  must(skewed.store->update(fam, "phone", "from the skewed tablet"));  // earlier in real time
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  must(honest.store->update(fam, "phone", "from the honest tablet"));  // later in real time, concurrent
  skewed.sync();
  honest.sync();
  skewed.sync();
  CHECK_THAT(must(honest.store->get(fam)).json, Contains("from the honest tablet"));
  CHECK(honest.family_json(fam) == skewed.family_json(fam));
}

TEST_CASE("E2E: a cancelled sync stops and the next one completes", "[e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  must(hv.store->create_family(family_fields()));
  std::atomic<bool> cancel{true};
  client::SyncOptions o;
  o.cancel = &cancel;
  auto r = hv.try_sync(o);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("cancelled"));
  CHECK(must(hv.store->status()).unsynced == 1);
  std::vector<client::SyncProgress> seen;
  client::SyncOptions p;
  p.progress = [&](const client::SyncProgress& s) { seen.push_back(s); };
  auto done = hv.sync(p);
  CHECK(done.pushed == 1);
  REQUIRE_FALSE(seen.empty());
  CHECK(std::string(seen.front().phase) == "push");
  CHECK(seen.back().bytes_up > 0);
}
