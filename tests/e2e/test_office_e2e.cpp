// The office feed end to end (DOMAIN.md §11.2, §6.6; docs/office.md): a real hearth-server over
// TLS, a tablet syncing, and the office stub (scripts/office-stub.py) over TLS receiving the
// repeater's posts or reading the pull feed. Delivery is exactly once in effect across server
// restarts; an endpoint that fails fills the dead-letter queue and `office retry` recovers it;
// acknowledgements repeat harmlessly; a withdrawal cancels a queued item.
#include <catch2/catch.hpp>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <thread>

#include "tablet.hpp"
#include "../support/raw_http.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kScript = std::string(HEARTH_SOURCE_DIR) + "/scripts/office-stub.py";

// scripts/office-stub.py serve, over TLS with the server's development certificate.
struct OfficeStub {
  TempDir dir;
  pid_t pid = -1;
  uint16_t port = 0;

  OfficeStub(const std::string& certs, int fail_first) {
    const std::string port_file = dir.file("port");
    pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen(dir.file("stub.log").c_str(), "a", stdout);
      (void)f;
      std::string cert = certs + "/server.crt", key = certs + "/server.key", fail = std::to_string(fail_first);
      execl("/usr/bin/env", "env", "python3", kScript.c_str(), "serve", "--cert", cert.c_str(), "--key", key.c_str(),
            "--port-file", port_file.c_str(), "--token", "stub-token", "--fail-first", fail.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && port == 0; ++i) {  // bounded: 10 s
      std::ifstream in(port_file);
      int p = 0;
      if (in >> p && p > 0) port = static_cast<uint16_t>(p);
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (port == 0) throw std::runtime_error("the office stub did not start; see " + dir.file("stub.log"));
  }
  ~OfficeStub() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
  json received() {
    auto r = raw_exchange(port, true, http_request("GET", "/_received"));
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
  void fail(int n) {
    auto r = raw_exchange(port, true, http_request("POST", "/_control", json{{"fail", n}}.dump()));
    REQUIRE(r.status == 200);
  }
};

// Polls `done` every 100 ms for at most `seconds`.
bool eventually(const std::function<bool()>& done, int seconds = 20) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// The counts line of `hearth-server office status`.
struct Counts {
  int64_t queued = -1, sent = -1, dead = -1, cancelled = -1;
};
Counts counts(ServerProcess& server) {
  std::string out = server.admin({"office", "status", "--limit", "0"});
  std::smatch m;
  Counts c;
  if (std::regex_search(out, m, std::regex(R"((\d+) queued .* (\d+) sent by the repeater, (\d+) dead .* (\d+) cancelled)"))) {
    c.queued = std::stoll(m[1]);
    c.sent = std::stoll(m[2]);
    c.dead = std::stoll(m[3]);
    c.cancelled = std::stoll(m[4]);
  }
  return c;
}

// A family with a few records, synced from the health visitor's tablet.
std::string record_family(Tablet& hv) {
  auto& s = *hv.store;
  std::string family = must(s.create_family(family_fields("Family O")));
  must(s.create(family, "Person", person_fields("Mother", "1990-02-03"), "mother-o"));
  must(s.create(family, "Person", person_fields("Child", "2022-04-05"), "child-o"));
  must(s.create(family, "Contact", contact_fields("2026-11-23T10:00:00Z", "HV: home visit")));
  hv.sync();
  return family;
}

// `scripts/office-stub.py pull --json`: one page of the pull feed, acknowledged unless `ack` is false.
json pull(ServerProcess& server, const std::string& token, int64_t after, int limit, bool ack) {
  std::vector<std::string> args{"python3", kScript, "pull", "--url", server.url(), "--ca", server.data() + "/certs/ca.crt",
                                "--token", token, "--after", std::to_string(after), "--limit", std::to_string(limit), "--json"};
  if (!ack) args.push_back("--no-ack");
  auto r = run_process("/usr/bin/env", args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("Office e2e: the repeater delivers each item once over TLS through failure, dead letter, retry and restarts",
          "[e2e][fault]") {
  ServerProcess server;
  OfficeStub stub(server.data() + "/certs", 1000);  // down until told otherwise
  server.configure([&](json& c) {
    c["office_endpoint"] = {{"url", "https://127.0.0.1:" + std::to_string(stub.port) + "/hearth/items"},
                            {"ca_file", server.data() + "/certs/ca.crt"},
                            {"token", "stub-token"},
                            {"name", "stub-office"},
                            {"max_attempts", 3},
                            {"retry_base_ms", 100},
                            {"retry_max_ms", 200},
                            {"idle_ms", 100}};
  });
  server.stop();
  server.start();
  Tablet hv(server, "hv-1");
  std::string family = record_family(hv);

  // Every item fails three times and lands in the dead-letter queue; nothing is lost.
  REQUIRE(eventually([&] {
    Counts c = counts(server);
    return c.dead > 0 && c.queued == 0;
  }));
  const int64_t total = counts(server).dead;
  CHECK(total >= 4);
  CHECK(stub.received()["items"].empty());
  CHECK_THAT(server.admin({"office", "status", "--state", "dead"}), Contains("attempt 3 of 3"));

  // The office recovers; the administrator requeues the dead letters.
  stub.fail(0);
  CHECK_THAT(server.admin({"office", "retry", "--all"}), Contains(std::to_string(total) + " items back in the queue"));
  REQUIRE(eventually([&] { return stub.received()["items"].size() == static_cast<size_t>(total); }));
  json got = stub.received();
  std::set<std::string> keys;
  for (const auto& item : got["items"]) keys.insert(item["key"].get<std::string>());
  CHECK(keys.size() == static_cast<size_t>(total));
  CHECK(got["duplicates"] == 0);
  CHECK(counts(server).sent == total);
  std::string log = server.admin({"office", "disclosures", "--family", family});
  CHECK_THAT(log, Contains("to stub-office by push"));
  CHECK_THAT(server.admin({"audit", "--family", family}), Contains("office-disclosed"));

  // A restart sends nothing again; a new record after it is sent once.
  const int64_t posts = got["posts"].get<int64_t>();
  server.stop();
  server.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(stub.received()["posts"] == posts);
  must(hv.store->create(family, "Contact", contact_fields("2026-11-24T10:00:00Z", "HV: second visit")));
  hv.sync();
  REQUIRE(eventually([&] { return stub.received()["items"].size() == static_cast<size_t>(total + 1); }));
  CHECK(stub.received()["duplicates"] == 0);
  // The office's ids from the stub's answers are stored for the records.
  CHECK(counts(server).sent == total + 1);
}

TEST_CASE("Office e2e: the pull feed reads every item once across a restart, acknowledgements repeat harmlessly, and "
          "a withdrawal cancels a queued item",
          "[e2e][security]") {
  ServerProcess server;
  std::string token = server.admin({"office-credential", "issue", "--name", "case-system"});
  token = token.substr(0, token.find('\n'));
  // The council's code for a contact type rides on each item beside Hearth's value.
  CHECK_THAT(server.admin({"office", "map", "set", "Contact.contact_type", "HOME_VISIT", "HV01"}), Contains("mapped"));
  CHECK_THAT(server.admin({"office", "map", "list"}), Contains("Contact.contact_type  HOME_VISIT -> HV01"));
  Tablet hv(server, "hv-1");
  std::string family = record_family(hv);

  // Two at a time, with a restart of the server in the middle: the office's cursor carries on.
  std::set<std::string> keys;
  int64_t cursor = 0;
  bool restarted = false;
  for (int page = 0; page < 20; ++page) {  // bounded
    json p = pull(server, token, cursor, 2, false)["page"];
    for (const auto& item : p["items"]) {
      CHECK(keys.insert(item["key"].get<std::string>()).second);
      if (item["type"] == "Contact") CHECK(item["codes"]["contact_type"] == "HV01");
    }
    cursor = p["next_cursor"].get<int64_t>();
    if (!restarted) {
      server.stop();
      server.start();
      restarted = true;
    }
    if (!p["more"].get<bool>()) break;
  }
  CHECK(keys.size() >= 4);
  CHECK(pull(server, token, cursor, 10, false)["page"]["items"].empty());

  // Acknowledge everything, twice: the second time is "already", nothing changes.
  json first = pull(server, token, 0, 100, true)["acks"]["results"];
  json second = pull(server, token, 0, 100, true)["acks"]["results"];
  REQUIRE(first.size() == keys.size());
  REQUIRE(second.size() == keys.size());
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i]["status"] == "acknowledged");
    CHECK(second[i]["status"] == "already");
  }
  CHECK_THAT(server.admin({"office", "disclosures", "--family", family}), Contains("to case-system by pull"));

  // A consent to register the family on the council's system, then its withdrawal at the
  // office: the mother's new, unread item is cancelled and never reaches the feed.
  FieldValues consent = consent_fields();
  consent["purposes"] = StringList{"REGISTER_ON_INDEX"};
  consent["covers_persons"] = StringList{"mother-o"};
  consent["given_by"] = "mother-o";
  std::string k = must(hv.store->create(family, "ConsentRecord", consent));
  must(hv.store->update("mother-o", "given_names", std::string("Mair")));
  hv.sync();
  server.admin({"consent", "withdraw", "--family", family, "--consent", k, "--purposes", "REGISTER_ON_INDEX",
                "--withdrawn-by", "mother-o", "--recorded-by", "hv-1", "--channel", "PHONE"});
  std::string cancelled = server.admin({"office", "status", "--state", "cancelled"});
  CHECK_THAT(cancelled, Contains("mother-o:") && Contains(k));
  const json after = pull(server, token, cursor, 100, false);  // kept: a range-for over a temporary's member dangles
  for (const auto& item : after["page"]["items"]) CHECK(item["record"] != "mother-o");
  CHECK_THAT(server.admin({"audit", "--family", family}), Contains("office-cancelled"));
}

TEST_CASE("Office e2e: a submitted step-up's package reaches the office stub before the ordinary items, later contacts "
          "follow as supplementary updates",
          "[e2e]") {
  ServerProcess server;
  OfficeStub stub(server.data() + "/certs", 0);
  server.configure([&](json& c) {
    c["office_endpoint"] = {{"url", "https://127.0.0.1:" + std::to_string(stub.port) + "/hearth/items"},
                            {"ca_file", server.data() + "/certs/ca.crt"},
                            {"token", "stub-token"},
                            {"idle_ms", 100}};
  });
  server.stop();
  server.start();
  Tablet hv(server, "hv-1");
  auto& st = *hv.store;
  std::string fam = must(st.create_family(family_fields("Family H")));
  must(st.create(fam, "Person", person_fields("R", "2023-01-01"), "child-r"));
  FieldValues episode = episode_fields({"child-r"});
  episode["allocated_org"] = std::string("org-hv");
  std::string ep = must(st.create(fam, "EarlyHelpEpisode", episode));
  std::string c4 = must(st.create(fam, "Contact", contact_fields("2026-12-01T09:30:00Z", "Disclosure during the visit")));
  std::string su = must(st.create(fam, "StepUpRequest",
                                  {{"episode", ep}, {"children", StringList{"child-r"}}, {"kind", "UNPLANNED_INCIDENT"},
                                   {"reason", "assault disclosed"}, {"significant_harm", true},
                                   {"consent_position", "NOT_SOUGHT_WOULD_INCREASE_RISK"},
                                   {"submitted_at", "2026-12-01T09:45:00Z"}}));
  must(st.transition(su, "SUBMITTED"));
  hv.sync();  // one push: every item is queued in the same transaction

  REQUIRE(eventually([&] { return stub.received()["items"].size() >= 5; }));
  json items = stub.received()["items"];
  REQUIRE(items[0]["kind"] == "package");  // priority: first, though queued with the rest
  CHECK(items[0]["record"] == su);
  bool has_c4 = false;
  for (const auto& c : items[0]["package"]["chronology"]) has_c4 |= c["id"] == c4;
  CHECK(has_c4);
  CHECK(items[0]["package"]["consent_position"] == "NOT_SOUGHT_WOULD_INCREASE_RISK");

  std::string c5 = must(st.create(fam, "Contact", contact_fields("2026-12-01T10:10:00Z", "Stay and play")));
  hv.sync();
  json supplementary;
  REQUIRE(eventually([&] {
    json got = stub.received();
    for (const auto& item : got["items"])
      if (item["record"] == c5) supplementary = item;
    return !supplementary.is_null();
  }));
  CHECK(supplementary["supplementary_to"] == su);
  CHECK_THAT(server.admin({"audit", "--family", fam}), Contains("office-package-queued"));
}
