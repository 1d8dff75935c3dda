// Held ops decided at the office, and the office credential, end to end (DOMAIN.md §6.6, §7;
// issue 8 parts 1/4 and 3): a real hearth-server over TLS, real tablets, the admin CLI.
#include <catch2/catch.hpp>

#include <sstream>

#include "../support/db_count.hpp"
#include "../support/marker_scan.hpp"
#include "../support/process.hpp"
#include "hearth/client/store.hpp"
#include "hearth/client/transport.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "family_g.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

// The family of S2 (as test_consent.cpp): father P, daughter D, 15, both consenting to share with
// the school; lead yw-2 of the Youth Service, the school's DSL on the team with FULL_EPISODE.
struct Family {
  ServerProcess& server;
  Tablet lead;
  std::string family, p, d, ep, k1, note_p, note_d;

  explicit Family(ServerProcess& s) : server(s), lead((setup(s), s), "yw-2") {
    auto g = family_g::create(*lead.store, "Family H", "07700 900124", {"org-school", "org-ys"});
    family = g.family;
    p = g.p;
    d = g.d;
    ep = g.ep;
    k1 = g.k1;
    auto& st = *lead.store;
    note_p = must(st.create(family, "Contact", visit(p, "marker-P: talked about his work stress")));
    note_d = must(st.create(family, "Contact", visit(d, "marker-D: mentor sessions at school going well")));
    lead.sync();
    server.admin({"allocate", "--family", family, "--practitioner", "dsl-1", "--scope", "FULL_EPISODE"});
  }

  static void setup(ServerProcess& s) {
    s.admin({"add-org", "--id", "org-school", "--name", "Hillside School", "--type", "SCHOOL"});
    s.admin({"add-practitioner", "--id", "yw-2", "--org", "org-ys", "--name", "Youth worker", "--role", "PRACTITIONER"});
    s.admin({"add-practitioner", "--id", "dsl-1", "--org", "org-school", "--name", "School DSL", "--role", "PRACTITIONER"});
    s.admin({"add-practitioner", "--id", "duty-1", "--org", "org-ys", "--name", "Duty worker", "--role", "PRACTITIONER"});
  }
  static FieldValues visit(const std::string& who, const std::string& narrative) { return family_g::visit(who, narrative); }
};

// The admin CLI, whatever its exit code.
ProcessResult admin_run(ServerProcess& s, std::vector<std::string> args) {
  args.insert(args.begin(), {"--data", s.data()});
  return run_process(build_binary("server/hearth-server"), args);
}

// Audit events of `action` whose detail holds `text`, as the IG query lists them (family
// details are sealed in the database: `hearth-server audit` opens them with the keyring).
int64_t audited(ServerProcess& s, const std::string& action, const std::string& text) {
  std::istringstream lines(s.admin({"audit", "--from", "2000-01-01"}));
  int64_t n = 0;
  for (std::string line; std::getline(lines, line);) {
    // <time>  <actor>  <device>  <family>  <action>  <record>  <detail>
    std::vector<std::string> cols;
    size_t at = 0;
    while (cols.size() < 6) {
      size_t next = line.find("  ", at);
      if (next == std::string::npos) break;
      cols.push_back(line.substr(at, next - at));
      at = next + 2;
    }
    if (cols.size() == 6 && cols[4] == action && line.find(text, at) != std::string::npos) ++n;
  }
  return n;
}

std::string level_of(Tablet& t, const std::string& ep) { return must(t.store->get(ep)).json; }

// The school's DSL changes the level of need, which only the lead or a manager writes (§7):
// held at the server for the lead. Returns the held op as the school's tablet lists it.
client::HeldOp school_raises_level(Family& f, Tablet& school, const std::string& level) {
  must(school.store->update(f.ep, "level_of_need", level));
  auto r = school.sync();
  REQUIRE(r.held == 1);
  auto held = must(school.store->held());
  REQUIRE_FALSE(held.empty());
  return held.back();
}

}  // namespace

TEST_CASE("Held ops: the author's tablet does not show a held value as current and lists why", "[e2e][security]") {
  ServerProcess server;
  Family f(server);
  Tablet school(server, "dsl-1");
  school.sync();
  auto h = school_raises_level(f, school, "L3");
  // The record shows what the server holds; the edit is kept and listed, not lost.
  CHECK_THAT(level_of(school, f.ep), Contains("\"level_of_need\":\"L2\""));
  CHECK(h.route_to == "yw-2");
  CHECK_FALSE(h.reason.empty());
  CHECK(h.outcome.empty());
  CHECK(h.entity_id == f.ep);
  CHECK_THAT(h.what, Contains("level_of_need") && Contains("L3"));
  CHECK(must(school.store->status()).held == 1);
  CHECK(must(school.store->status()).unsynced == 0);
  // The op is still in the tablet's log (sealed), only out of the view.
  auto ops = must(client::sync_port(*school.store).op_ids());
  CHECK(std::find_if(ops.begin(), ops.end(), [&](const sync::OpId& id) { return id.to_string() == h.op_id; }) != ops.end());
  // It stays out of the view when the store is opened again (rebuilt from the log).
  school.open();
  CHECK_THAT(level_of(school, f.ep), Contains("\"level_of_need\":\"L2\""));
  // The office sees it, in words.
  std::string listed = server.admin({"held", "list", "--family", f.family});
  CHECK_THAT(listed, Contains(h.op_id) && Contains("dsl-1") && Contains("yw-2") && Contains("level_of_need") &&
                         Contains("'L3'") && Contains("waiting for a decision"));
}

TEST_CASE("Held ops: apply by the lead writes the value to every tablet and the author sees the outcome",
          "[e2e][security]") {
  ServerProcess server;
  Family f(server);
  Tablet school(server, "dsl-1");
  school.sync();
  auto h = school_raises_level(f, school, "L3");

  // Not entitled: the author herself (a TAF member), and a practitioner off the team.
  for (const char* who : {"dsl-1", "duty-1"}) {
    INFO(who);
    auto refused = admin_run(server, {"held", "apply", "--op", h.op_id, "--by", who});
    CHECK(refused.code != 0);
    CHECK_THAT(refused.err, Contains("may not make this write"));
  }
  auto unknown = admin_run(server, {"held", "apply", "--op", "no-such:1", "--by", "yw-2"});
  CHECK(unknown.code == 3);
  f.lead.sync();
  CHECK_THAT(level_of(f.lead, f.ep), Contains("\"level_of_need\":\"L2\""));  // nothing was written

  std::string out = server.admin({"held", "apply", "--op", h.op_id, "--by", "yw-2", "--note", "agreed at the TAF meeting"});
  CHECK_THAT(out, Contains("applied held op " + h.op_id));
  // Decided once only.
  auto again = admin_run(server, {"held", "apply", "--op", h.op_id, "--by", "yw-2"});
  CHECK(again.code != 0);
  CHECK_THAT(again.err, Contains("already applied by yw-2"));

  CHECK(audited(server, "denied", "held-apply of " + h.op_id) == 2);
  CHECK(audited(server, "held-apply", h.op_id) == 1);
  f.lead.sync();
  CHECK_THAT(level_of(f.lead, f.ep), Contains("\"level_of_need\":\"L3\""));  // another tablet receives it
  school.sync();
  CHECK_THAT(level_of(school, f.ep), Contains("\"level_of_need\":\"L3\""));
  auto held = must(school.store->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].outcome == "applied");
  CHECK(held[0].decided_by == "yw-2");
  CHECK(held[0].decision_note == "agreed at the TAF meeting");
  CHECK(must(school.store->status()).held == 0);
  CHECK(must(school.store->export_family(f.family)) == must(f.lead.store->export_family(f.family)));
  CHECK_THAT(server.admin({"held", "list"}), Contains("APPLIED by yw-2"));
  CHECK_THAT(server.admin({"verify-audit"}), Contains("audit trail intact"));
}

TEST_CASE("Held ops: a dismissed op is kept and its author's tablet is told who dismissed it and why", "[e2e][security]") {
  ServerProcess server;
  Family f(server);
  Tablet school(server, "dsl-1");
  school.sync();
  auto h = school_raises_level(f, school, "L4");
  auto no_reason = admin_run(server, {"held", "dismiss", "--op", h.op_id, "--by", "yw-2"});
  CHECK(no_reason.code != 0);  // --reason is required
  server.admin({"held", "dismiss", "--op", h.op_id, "--by", "yw-2", "--reason", "level reviewed at the TAF: stays L2"});
  auto twice = admin_run(server, {"held", "dismiss", "--op", h.op_id, "--by", "yw-2", "--reason", "again"});
  CHECK(twice.code != 0);
  CHECK_THAT(twice.err, Contains("already dismissed"));
  auto late_apply = admin_run(server, {"held", "apply", "--op", h.op_id, "--by", "yw-2"});
  CHECK(late_apply.code != 0);

  CHECK(audited(server, "held-dismiss", h.op_id) == 1);
  // Nothing recorded is lost: the office still lists the op, marked dismissed.
  std::string listed = server.admin({"held", "list"});
  CHECK_THAT(listed, Contains(h.op_id) && Contains("DISMISSED by yw-2") && Contains("stays L2") && Contains("'L4'"));

  school.sync();
  auto held = must(school.store->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].op_id == h.op_id);
  CHECK(held[0].outcome == "dismissed");
  CHECK(held[0].decided_by == "yw-2");
  CHECK(held[0].decision_note == "level reviewed at the TAF: stays L2");
  CHECK_THAT(level_of(school, f.ep), Contains("\"level_of_need\":\"L2\""));
  f.lead.sync();
  CHECK_THAT(level_of(f.lead, f.ep), Contains("\"level_of_need\":\"L2\""));
  // A later sync asks no more about it and changes nothing.
  auto r = school.sync();
  CHECK(r.held_decided == 0);
  CHECK(must(school.store->held()).at(0).outcome == "dismissed");
}

TEST_CASE("Held ops: the author's tablet keeps sight of a held edit when the family is purged and learns the outcome",
          "[e2e][security]") {
  ServerProcess server;
  Family f(server);
  Tablet school(server, "dsl-1");
  school.sync();
  auto h = school_raises_level(f, school, "L3");
  REQUIRE(h.outcome.empty());

  std::string outcome, note;
  SECTION("a view change: P withdraws consent to share with the school, the family is purged and sent again") {
    server.admin({"consent", "withdraw", "--family", f.family, "--consent", f.k1, "--recipients", "org-school",
                  "--withdrawn-by", f.p, "--recorded-by", "duty-1", "--channel", "PHONE"});
    outcome = "applied";
    note = "agreed at the TAF meeting";
  }
  SECTION("a removal: the school is taken off the team and the family leaves the tablet") {
    server.admin({"deallocate", "--family", f.family, "--practitioner", "dsl-1"});
    outcome = "dismissed";
    note = "level reviewed at the TAF: stays L2";
  }
  CHECK(school.sync().families_purged == 1);

  // Still listed, without the value (the purge may be a withdrawal or an erasure).
  auto held = must(school.store->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].op_id == h.op_id);
  CHECK(held[0].family_purged);
  CHECK(held[0].route_to == "yw-2");
  CHECK(held[0].entity_id == f.ep);
  CHECK_THAT(held[0].what, Contains("level_of_need") && !Contains("L3"));
  CHECK_THAT(held[0].reason, !Contains("L3"));
  CHECK(held[0].outcome.empty());
  CHECK(must(school.store->status()).held == 1);
  CHECK(must(client::sync_port(*school.store).held_waiting(10)) == std::vector<std::string>{h.op_id});

  // The lead decides at the office; the school's next sync asks and records the outcome.
  if (outcome == "applied")
    server.admin({"held", "apply", "--op", h.op_id, "--by", "yw-2", "--note", note});
  else
    server.admin({"held", "dismiss", "--op", h.op_id, "--by", "yw-2", "--reason", note});
  CHECK(school.sync().held_decided == 1);
  held = must(school.store->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].family_purged);
  CHECK(held[0].outcome == outcome);
  CHECK(held[0].decided_by == "yw-2");
  CHECK(held[0].decision_note == note);
  CHECK(must(school.store->status()).held == 0);
  if (outcome == "applied") CHECK_THAT(level_of(school, f.ep), Contains("\"level_of_need\":\"L3\""));
  // asked about no more
  CHECK(school.sync().held_decided == 0);
  CHECK(must(school.store->held()).at(0).outcome == outcome);
}

TEST_CASE("Office credential: withdraws consent over TLS, and absent, wrong, revoked or device credentials are refused",
          "[e2e][security]") {
  ServerProcess server;
  Family f(server);
  Tablet school(server, "dsl-1");
  school.sync();
  REQUIRE(school.store->get(f.note_p).ok());

  std::string issued = server.admin({"office-credential", "issue", "--name", "case-system"});
  std::string token = issued.substr(0, issued.find('\n'));
  REQUIRE(token.size() > 32);
  CHECK_THAT(server.admin({"office-credential", "list"}), Contains("case-system"));
  // Only a hash is stored.
  CHECK(admin_run(server, {"office-credential", "issue", "--name", "case-system"}).code != 0);

  auto transport = must(client::make_curl_transport(client::CurlOptions{server.url(), server.ca_pem()}));
  const std::string body = "{\"family\":\"" + f.family + "\",\"consent\":\"" + f.k1 +
                           "\",\"recipients\":[\"org-school\"],\"withdrawn_by\":\"" + f.p +
                           "\",\"recorded_by\":\"duty-1\",\"channel\":\"PHONE\"}";
  const std::string path = "/v1/office/consent/withdraw";
  auto device_token = must(client::sync_port(*school.store).secret("device_token"));
  REQUIRE(device_token);
  for (const auto& [what, bearer] : std::vector<std::pair<std::string, std::string>>{
           {"absent", ""}, {"wrong", "office-0000"}, {"a device's", *device_token}}) {
    INFO(what << " credential");
    auto r = must(transport->post(path, body, bearer));
    CHECK(r.status == 401);
    CHECK_THAT(r.body, Contains("office credential"));
  }
  CHECK(audited(server, "denied", "office credential on /v1/office/consent/withdraw") == 3);
  // The office token does not work on device endpoints.
  CHECK(must(transport->post("/v1/pull", "{}", token)).status == 401);
  CHECK(must(transport->post("/v1/push", "{\"ops\":[]}", token)).status == 401);
  // Bad arguments are named.
  auto bad = must(transport->post(path, "{\"family\":\"" + f.family + "\"}", token));
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Contains("consent"));
  school.sync();
  CHECK(school.store->get(f.note_p).ok());  // nothing was withdrawn by the refused calls

  auto good = must(transport->post(path, body, token));
  INFO(good.body);
  REQUIRE(good.status == 200);
  CHECK_THAT(good.body, Contains("hearth-server:"));
  CHECK_THAT(server.admin({"consent", "list", "--family", f.family}), Contains("withdrawn recipients: org-school"));

  // The school's next pull: the father's records go, the daughter's stay.
  school.sync();
  CHECK_FALSE(school.store->get(f.note_p).ok());
  CHECK_FALSE(school.store->get(f.p).ok());
  CHECK(school.store->get(f.note_d).ok());
  CHECK(school.store->get(f.d).ok());

  server.admin({"office-credential", "revoke", "--name", "case-system"});
  CHECK_THAT(server.admin({"office-credential", "list"}), Contains("REVOKED"));
  auto revoked = must(transport->post(path, body, token));
  CHECK(revoked.status == 401);
  CHECK_THAT(revoked.body, Contains("revoked"));
  CHECK(audited(server, "denied", "revoked office credential 'case-system'") == 1);
  CHECK(audited(server, "consent-withdraw", "via office credential case-system") == 1);
  CHECK_THAT(server.admin({"verify-audit"}), Contains("audit trail intact"));
}

TEST_CASE("Held ops: an alert's removal held for a manager is applied by a manager on the team, not by the lead",
          "[e2e][security]") {
  ServerProcess server;
  Family f(server);
  server.admin({"add-practitioner", "--id", "mgr-1", "--org", "org-ys", "--name", "Team manager", "--role", "TEAM_MANAGER"});
  server.admin({"allocate", "--family", f.family, "--practitioner", "mgr-1"});
  FieldValues alert = alert_fields("WARNING");
  alert["subject"] = f.family;
  alert["set_by"] = "yw-2";
  std::string a = must(f.lead.store->create(f.family, "Alert", alert));
  f.lead.sync();
  // Removing an alert needs a manager (DOMAIN.md §8.3 C-15): the lead's removal is held.
  must(f.lead.store->delete_entity(a));
  auto r = f.lead.sync();
  REQUIRE(r.held == 1);
  auto held = must(f.lead.store->held());
  REQUIRE(held.size() == 1);
  CHECK_THAT(held[0].what, Contains("delete Alert"));
  CHECK_FALSE(must(f.lead.store->get(a)).deleted);  // still shown: the removal is not in force

  auto by_lead = admin_run(server, {"held", "apply", "--op", held[0].op_id, "--by", "yw-2"});
  CHECK(by_lead.code != 0);
  CHECK_THAT(by_lead.err, Contains("may not make this write"));
  server.admin({"held", "apply", "--op", held[0].op_id, "--by", "mgr-1", "--note", "risk reviewed"});
  Tablet manager(server, "mgr-1");
  manager.sync();
  f.lead.sync();
  auto gone = f.lead.store->get(a);
  CHECK((!gone.ok() || gone->deleted));
  CHECK(must(f.lead.store->held()).at(0).outcome == "applied");
  CHECK(must(f.lead.store->export_family(f.family)) == must(manager.store->export_family(f.family)));
}

TEST_CASE("Held ops: the held edit, its reason and the decision's words are sealed in the server's files", "[e2e][security]") {
  ServerProcess server;
  Family f(server);
  Tablet school(server, "dsl-1");
  school.sync();
  must(school.store->update(f.ep, "closure_summary", std::string("MRKheldsummaryQZX")));
  auto r = school.sync();
  REQUIRE(r.held == 1);
  auto h = must(school.store->held()).back();
  server.admin({"held", "dismiss", "--op", h.op_id, "--by", "yw-2", "--reason", "MRKdismissreasonQZX"});
  CHECK_THAT(server.admin({"held", "list", "--family", f.family}), Contains("MRKdismissreasonQZX"));  // the office reads it
  auto hits = files_revealing(server.data(), {"MRKheldsummaryQZX", "MRKdismissreasonQZX", "marker-P", "marker-D"});
  for (const auto& hit : hits) UNSCOPED_INFO(hit);
  CHECK(hits.empty());
}
