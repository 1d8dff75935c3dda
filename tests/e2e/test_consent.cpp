// Consent, roles and need-to-know end to end (DOMAIN.md §6, §7, §13 S2): a real hearth-server
// over TLS decides from the family's own records what each practitioner's tablet receives.
#include <catch2/catch.hpp>

#include "hearth/client/store.hpp"
#include "family_g.hpp"
#include "tablet.hpp"
#include "../support/fake_clock.hpp"

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
    auto g = family_g::create(*lead.store, "Family G", "07700 900123", {"org-housing", "org-school", "org-ys"});
    family = g.family;
    p = g.p;
    d = g.d;
    rel = g.rel;
    ep = g.ep;
    k1 = g.k1;
    k2 = g.k2;
    auto& st = *lead.store;
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

  static FieldValues visit(const std::string& who, const std::string& narrative) { return family_g::visit(who, narrative); }
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

namespace {

// A sharing act queued on a tablet (DOMAIN.md §6.8), as `hearth share` makes it.
FieldValues share_fields(const std::string& kind, const std::string& to, FieldValues extra = {}) {
  FieldValues f{{"kind", kind}, {"recipient", to}, {"requested_by", "yw-2"}, {"requested_at", "2026-11-20T11:00:00Z"}};
  for (auto& [k, v] : extra) f[k] = v;
  return f;
}

// The shown value of a text field of a record on the tablet ("" when unset or not held).
std::string field_text(Tablet& t, const std::string& record, const std::string& field) {
  auto view = t.store->get(record);
  if (!view) return "";
  const std::string key = "\"" + field + "\":\"";
  size_t at = view->json.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  std::string out;
  for (; at < view->json.size() && view->json[at] != '"'; ++at) {
    if (view->json[at] == '\\' && at + 1 < view->json.size()) ++at;
    out += view->json[at];
  }
  return out;
}

}  // namespace

TEST_CASE("S2: sharing acts queued offline after the withdrawal: the plan is cancelled and the TAF invitation held",
          "[e2e][security]") {
  ServerProcess server;
  S2 s(server);
  auto& st = *s.lead.store;
  // The plan YW2 holds: a whole-family document with an outcome for D.
  std::string plan = must(st.create(s.family, "FamilyPlan",
                                    {{"episode", s.ep}, {"version", 1}, {"based_on_assessment", "as-1"},
                                     {"review_interval_weeks", 6}, {"next_review_due", "2026-12-20"}}));
  must(st.create(s.family, "PlanOutcome",
                 {{"plan", plan}, {"statement", "D attends school every day"},
                  {"linked_needs", StringList{"SCHOOL_ATTENDANCE_EXCLUSION"}}, {"children", StringList{s.d}},
                  {"measure", "attendance"}, {"target", "95%"}, {"target_date", "2027-03-01"}, {"status", "IN_PROGRESS"}}));
  s.lead.sync();  // T+08:00: YW2's last sync, then offline

  // T+10:00 the father withdraws sharing with the school at the office.
  server.admin({"consent", "withdraw", "--family", s.family, "--consent", s.k1, "--recipients", "org-school",
                "--withdrawn-by", s.p, "--recorded-by", "duty-1", "--channel", "PHONE"});

  // T+11:00 YW2, offline with a 3-hour-old snapshot: C3 about D, (a) send the plan to the school,
  // (b) invite the school to the next TAF. The tablet allows both (the snapshot is fresh).
  must(st.may_share(s.family));
  std::string c3 = must(st.create(s.family, "Contact", s.visit(s.d, "marker-D2: D wants her mentor told")));
  std::string a = must(st.create(s.family, "SharingRequest", share_fields("SEND_PLAN", "org-school", {{"plan", plan}})));
  std::string b = must(st.create(s.family, "SharingRequest", share_fields("INVITE_TO_TAF", "org-school")));
  CHECK(field_text(s.lead, a, "status").empty());  // REQUESTED until the server decides

  // T+16:00 YW2 syncs: C3 accepted without a flag, (a) cancelled with the reason, (b) held.
  auto report = s.lead.sync();
  CHECK(report.held == 0);
  CHECK(report.rejected == 0);
  CHECK(holds(s.lead, c3));
  CHECK_THAT(server.admin({"flags", "--family", s.family}), !Contains(c3));
  CHECK(field_text(s.lead, a, "status") == "CANCELLED");
  std::string why_a = field_text(s.lead, a, "outcome_reason");
  CHECK_THAT(why_a, Contains(s.p) && Contains("org-school") && Contains("re-issue an extract scoped to " + s.d));
  CHECK(field_text(s.lead, b, "status") == "HELD");
  CHECK_THAT(field_text(s.lead, b, "outcome_reason"), Contains("lead professional yw-2") && Contains(s.p));
  CHECK_FALSE(field_text(s.lead, b, "decided_at").empty());
  // (b) is returned to YW2 as a decision task; (a) raises none. Besides, the school got the
  // withdrawal notice at 10:00 (§6.6, usecases/task_triggers.hpp).
  std::vector<std::string> tasks, notices;
  for (const auto& e : must(st.family(s.family)).entities)
    if (e.type == "Task")
      (field_text(s.lead, e.id, "task_type") == "CONSENT_WITHDRAWN_NOTICE" ? notices : tasks).push_back(e.id);
  REQUIRE(notices.size() == 1);
  CHECK(field_text(s.lead, notices[0], "assignee") == "dsl-1");
  REQUIRE(tasks.size() == 1);
  CHECK(field_text(s.lead, tasks[0], "task_type") == "SHARE_HELD");
  CHECK(field_text(s.lead, tasks[0], "assignee") == "yw-2");
  CHECK(field_text(s.lead, tasks[0], "about") == b);

  // The D-scoped extract YW2 is offered goes: D's own records are still covered by K2.
  std::string extract = must(st.create(s.family, "SharingRequest",
                                       share_fields("EXPORT_FOR_AGENCY", "org-school", {{"items", StringList{s.note_d, c3}}})));
  s.lead.sync();
  CHECK(field_text(s.lead, extract, "status") == "SENT");
  // The audit trail holds the decisions and verifies.
  CHECK_THAT(server.admin({"verify-audit"}), Contains("audit trail intact"));

  // A tablet cannot write the outcome itself: the server holds it for a decision.
  must(st.update(a, "status", "SENT"));
  CHECK(s.lead.sync().held == 1);
  Tablet other(server, "yw-2");  // the server's record does not have it
  other.sync();
  CHECK(field_text(other, a, "status") == "CANCELLED");
}

TEST_CASE("S2c: a tablet that does not sync: sharing refused after 24 hours, locked after 7 days, purged after 14, and "
          "unsynced work delivered, clock set back does not unlock",
          "[e2e][security]") {
  ServerProcess server;
  S2 s(server);
  Tablet school(server, "dsl-1");
  school.sync();
  const uint64_t hour = 3600ull * 1000, day = 24 * hour;
  FakeClock clock(wall_now_ms());
  s.lead.open(clock.fn());
  must(s.lead.store->may_share(s.family));

  // After 24 hours: sharing acts refused with the consent status time; recording works.
  clock.advance(25 * hour);
  auto refused = s.lead.store->create(s.family, "SharingRequest", share_fields("INVITE_TO_TAF", "org-school"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::forbidden);
  CHECK_THAT(refused.error().message, Contains("consent status as of") && Contains("sync first"));
  std::string n1 = must(s.lead.store->create(s.family, "Contact", s.visit(s.d, "marker-D-day1")));
  CHECK(holds(s.lead, s.note_p));

  // After 7 days: the family is locked (reads refused), recording still works, and a sync
  // delivers the unsynced work and unlocks it.
  clock.advance(7 * day);
  s.lead.open(clock.fn());
  auto locked = s.lead.store->get(s.note_p);
  REQUIRE_FALSE(locked);
  CHECK(locked.error().code == ErrorCode::locked);
  std::string n2 = must(s.lead.store->create(s.family, "Contact", s.visit(s.d, "marker-D-day7")));
  auto delivered = s.lead.sync();
  CHECK(delivered.pushed >= 2);
  school.sync();
  CHECK(holds(school, n1));
  CHECK(holds(school, n2));
  CHECK(holds(s.lead, s.note_p));  // unlocked by the sync
  CHECK(must(s.lead.store->offline_status()).state == client::OfflineState::fresh);

  // 8 days without a sync: locked; setting the clock back a week does not unlock it.
  clock.advance(8 * day);
  s.lead.open(clock.fn());
  CHECK(s.lead.store->get(s.note_p).error().code == ErrorCode::locked);
  std::string n3 = must(s.lead.store->create(s.family, "Contact", s.visit(s.d, "marker-D-day8")));
  clock.set(clock.now() - 7 * day);
  s.lead.open(clock.fn());
  CHECK(s.lead.store->get(s.note_p).error().code == ErrorCode::locked);
  CHECK(must(s.lead.store->offline_status()).age_ms > static_cast<int64_t>(7 * day + 23 * hour));
  auto share_back = s.lead.store->create(s.family, "SharingRequest", share_fields("INVITE_TO_TAF", "org-school"));
  CHECK_FALSE(share_back);

  // 14 days without a sync: the next unlock purges the synced records; the unsynced visit
  // survives, sealed, and the next sync delivers it and brings the family back.
  clock.set(clock.now() + 7 * day + 7 * day);
  s.lead.open(clock.fn());
  CHECK(must(s.lead.store->offline_status()).state == client::OfflineState::purge_due);
  auto status = must(s.lead.store->status());
  CHECK(status.unsynced >= 1);
  CHECK(status.ops == status.unsynced);  // only the work on no server is kept
  clock.set(clock.now() - 14 * day);  // the clock set back does not bring the purged records back either
  s.lead.open(clock.fn());
  CHECK(must(s.lead.store->offline_status()).state == client::OfflineState::purge_due);
  auto synced = s.lead.sync();
  CHECK(synced.pushed >= 1);
  school.sync();
  CHECK(holds(school, n3));
  CHECK(holds(s.lead, n3));
  CHECK(holds(s.lead, s.note_p));  // the family arrives again whole
  CHECK_THAT(s.lead.family_json(s.family), Contains("marker-D-day8") && Contains("marker-P"));
}
