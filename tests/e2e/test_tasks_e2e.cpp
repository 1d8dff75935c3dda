// Tasks routed to named people end to end (DOMAIN.md §3.23, §6.5, §6.6, §13 S2b; N6): a real
// hearth-server over TLS raises them as the office, `hearth-server tasks` lists them, the
// tablets receive them at their next sync and `hearth tasks` / `hearth update` work on them.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hearth/client/store.hpp"
#include "../support/process.hpp"
#include "family_g.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

// S2b's family G: father P (with parental responsibility) and daughter D, 15, competent; each
// agreed to early help and to sharing with the school. Lead professional yw-2 of the Youth
// Service (the lead agency); its manager mgr-2 and the school's dsl-1 are on the team.
struct S2b {
  ServerProcess& server;
  Tablet lead;
  std::string family, p, d, ep, k1, k2;

  explicit S2b(ServerProcess& s) : server(s), lead((setup(s), s), "yw-2") {
    auto g = family_g::create(*lead.store, "Family G", "07700 900123", {"org-school", "org-ys"});
    family = g.family;
    p = g.p;
    d = g.d;
    ep = g.ep;
    k1 = g.k1;
    k2 = g.k2;
    lead.sync();
    server.admin({"allocate", "--family", family, "--practitioner", "dsl-1", "--scope", "FULL_EPISODE"});
    server.admin({"allocate", "--family", family, "--practitioner", "mgr-2", "--scope", "FULL_EPISODE"});
  }

  static void setup(ServerProcess& s) {
    s.admin({"add-org", "--id", "org-school", "--name", "Hillside School", "--type", "SCHOOL"});
    s.admin({"add-practitioner", "--id", "yw-2", "--org", "org-ys", "--name", "Youth worker", "--role", "PRACTITIONER"});
    s.admin({"add-practitioner", "--id", "mgr-2", "--org", "org-ys", "--name", "Team manager", "--role", "TEAM_MANAGER"});
    s.admin({"add-practitioner", "--id", "dsl-1", "--org", "org-school", "--name", "School DSL", "--role", "DSL"});
    s.admin({"add-practitioner", "--id", "duty-1", "--org", "org-ys", "--name", "Duty worker", "--role", "PRACTITIONER"});
  }


  // P withdraws in full at the office; D declines too, recorded on the lead's tablet.
  void both_withdraw() {
    server.admin({"consent", "withdraw", "--family", family, "--consent", k1, "--full", "--withdrawn-by", p,
                  "--recorded-by", "duty-1", "--channel", "PHONE"});
    lead.sync();
    must(lead.store->update(k2, "status", Value(std::string("WITHDRAWN"))));
    must(lead.store->update(k2, "withdrawn_by", Value(d)));
    lead.sync();
    lead.sync();  // the tasks the push raised
  }

  // The tablet's task records: id -> fields.
  std::map<std::string, nlohmann::json> tasks_on(Tablet& t) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& e : must(t.store->family(family)).entities)
      if (e.type == "Task") out[e.id] = nlohmann::json::parse(e.json)["fields"];
    return out;
  }
  std::vector<std::string> of_type(Tablet& t, const std::string& type) {
    std::vector<std::string> ids;
    for (const auto& [id, f] : tasks_on(t))
      if (f.value("task_type", "") == type) ids.push_back(id);
    return ids;
  }
};

// Runs the tablet CLI on `t`'s store (closed meanwhile) and reopens it.
ProcessResult hearth_cli(Tablet& t, std::vector<std::string> args) {
  t.store.reset();
  args.insert(args.end(), {"--store", t.path()});
  auto r = run_process(build_binary("client/hearth"), std::move(args), ".", {{"HEARTH_PIN", "2468"}});
  t.open();
  return r;
}

}  // namespace

TEST_CASE("S2b: a withdrawal of early help gives the lead a risk consideration and closing for "
          "FAMILY_WITHDREW_CONSENT waits for it", "[e2e][security]") {
  ServerProcess server;
  S2b s(server);
  s.both_withdraw();

  // One risk consideration per withdrawal, both for the lead; the school is told about P.
  auto risk = s.of_type(s.lead, "WITHDRAWAL_RISK_CONSIDERATION");
  REQUIRE(risk.size() == 2);
  for (const auto& id : risk) CHECK(s.tasks_on(s.lead)[id]["assignee"] == "yw-2");
  std::string office = server.admin({"tasks", "--family", s.family});
  CHECK_THAT(office, Contains("WITHDRAWAL_RISK_CONSIDERATION") && Contains("for yw-2"));
  CHECK_THAT(office, Contains("CONSENT_WITHDRAWN_NOTICE") && Contains("for dsl-1"));
  Tablet school(server, "dsl-1");
  school.sync();
  auto notices = s.of_type(school, "CONSENT_WITHDRAWN_NOTICE");
  REQUIRE(notices.size() == 2);  // P's and D's withdrawals, each in full
  for (const auto& id : notices)
    CHECK_THAT(s.tasks_on(school)[id].value("detail", ""), Contains("do not further use or share information about"));

  // `hearth tasks` on the lead's tablet: her own first, with due time and status.
  auto listed = hearth_cli(s.lead, {"tasks"});
  INFO(listed.err);
  REQUIRE(listed.code == 0);
  CHECK_THAT(listed.out, Contains("WITHDRAWAL_RISK_CONSIDERATION  for yw-2 (you)"));
  CHECK(listed.out.find("(you)") < listed.out.find("for dsl-1"));
  CHECK_THAT(listed.out, Contains("OPEN"));

  // The lead closes for FAMILY_WITHDREW_CONSENT at once: held, with the reason.
  must(s.lead.store->update(s.ep, "closure_reason", Value(std::string("FAMILY_WITHDREW_CONSENT"))));
  must(s.lead.store->transition(s.ep, "CLOSING"));
  s.lead.sync();
  auto held = must(s.lead.store->held());
  REQUIRE(held.size() == 1);
  CHECK_THAT(held[0].reason, Contains("risk consideration"));

  // The lead records the consideration (no safeguarding concern) and marks both tasks done
  // from the tablet; the school's DSL may not mark them.
  for (const auto& id : risk) {
    auto done = hearth_cli(s.lead, {"update", id, "status", "\"DONE\""});
    INFO(done.err);
    CHECK(done.code == 0);
  }
  s.lead.sync();
  must(school.store->update(notices[0], "status", Value(std::string("DONE"))));  // her own notice: hers to close
  school.sync();
  CHECK(must(school.store->held()).empty());
  CHECK_THAT(server.admin({"tasks", "--family", s.family, "--assignee", "yw-2"}), !Contains("OPEN  WITHDRAWAL"));

  // Now the manager closes the episode for that reason: accepted.
  Tablet manager(server, "mgr-2");
  manager.sync();
  must(manager.store->transition(s.ep, "CLOSING"));
  manager.sync();
  CHECK(must(manager.store->held()).empty());
  s.lead.sync();
  CHECK_THAT(must(s.lead.store->get(s.ep)).json, Contains("\"CLOSING\""));
}

TEST_CASE("S2b: a safeguarding concern instead: a disclosure without consent and a step-up and the manager's "
          "countersign task closed by the countersignature", "[e2e][security]") {
  ServerProcess server;
  S2b s(server);
  s.both_withdraw();

  // The lead's risk consideration finds a safeguarding concern.
  std::string isd = must(s.lead.store->create(
      s.family, "InformationSharingDecision",
      {{"decided_at", "2026-12-03T09:00:00Z"}, {"decided_by", "yw-2"}, {"decision", "SHARE"},
       {"with_consent", "NO_WITHDRAWN"}, {"recipients", StringList{"org-ys"}},
       {"items_summary", "the withdrawal and D's disclosure"}, {"purpose", "STEP_UP"},
       {"risk_description", "withdrawal follows D's disclosure at school"},
       {"necessity_proportionality", "what CSC needs to decide, nothing more"}, {"subject_informed", "NOT_INFORMED"},
       {"not_informed_reason", "WOULD_INCREASE_RISK_TO_CHILD"}, {"lawful_basis", "PUBLIC_TASK_6_1_E"},
       {"art9_condition", "SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING"}}));
  std::string step_up = must(s.lead.store->create(
      s.family, "StepUpRequest",
      {{"episode", s.ep}, {"children", StringList{s.d}}, {"kind", "UNPLANNED_INCIDENT"},
       {"reason", "safeguarding concern raised by the withdrawal"}, {"significant_harm", true},
       {"consent_position", "NOT_SOUGHT_WOULD_INCREASE_RISK"}, {"disclosure", isd}}));
  for (const auto& id : s.of_type(s.lead, "WITHDRAWAL_RISK_CONSIDERATION"))
    must(s.lead.store->update(id, "status", Value(std::string("DONE"))));
  s.lead.sync();
  CHECK(must(s.lead.store->held()).empty());  // the share is never held for the countersignature
  CHECK(s.lead.store->get(step_up).ok());

  // The manager's countersign task, due the next working day.
  std::string office = server.admin({"tasks", "--assignee", "mgr-2"});
  CHECK_THAT(office, Contains("OVERRIDE_COUNTERSIGN") && Contains("OPEN") && Contains("about: " + isd));
  Tablet manager(server, "mgr-2");
  manager.sync();
  auto sign = s.of_type(manager, "OVERRIDE_COUNTERSIGN");
  REQUIRE(sign.size() == 1);
  CHECK(s.tasks_on(manager)[sign[0]]["assignee"] == "mgr-2");
  CHECK(s.tasks_on(manager)[sign[0]]["status"] == "OPEN");

  must(manager.store->update(isd, "countersigned_by", Value(std::string("mgr-2"))));
  must(manager.store->update(isd, "countersigned_at", Value(std::string("2026-12-03T12:00:00Z"))));
  manager.sync();
  CHECK(must(manager.store->held()).empty());
  manager.sync();
  CHECK(s.tasks_on(manager)[sign[0]]["status"] == "DONE");
  CHECK_THAT(server.admin({"tasks", "--assignee", "mgr-2"}), Contains("DONE  OVERRIDE_COUNTERSIGN"));
  CHECK_THAT(server.admin({"tasks", "--overdue"}), Contains("no overdue tasks"));
}

TEST_CASE("Conflicts name their assignee and due time on the tablet", "[e2e]") {
  ServerProcess server;
  S2b s(server);
  Tablet other(server, "duty-1");
  server.admin({"allocate", "--family", s.family, "--practitioner", "duty-1", "--scope", "FULL_EPISODE"});
  other.sync();
  // The lead and the manager name the family differently at once: the lead is a party, so the
  // manager reviews it.
  Tablet manager(server, "mgr-2");
  manager.sync();
  must(s.lead.store->update(s.family, "display_name", Value(std::string("Family G (Hill Road)"))));
  must(manager.store->update(s.family, "display_name", Value(std::string("Family G-H"))));
  s.lead.sync();
  manager.sync();
  s.lead.sync();
  auto shown = hearth_cli(s.lead, {"conflicts", "--json"});
  INFO(shown.err);
  REQUIRE(shown.code == 0);
  auto j = nlohmann::json::parse(shown.out);
  REQUIRE(j["conflicts"].size() == 1);
  CHECK(j["conflicts"][0]["task"]["assignee"] == "mgr-2");
  CHECK(j["conflicts"][0]["task"]["status"] == "OPEN");
  CHECK_FALSE(j["conflicts"][0]["task"].value("due_at", "").empty());
  CHECK_THAT(hearth_cli(s.lead, {"conflicts"}).out, Contains("task: mgr-2 by "));
}
