#pragma once
// The sync service in process: a SyncService over a fresh SQLite storage and a fake clock, and
// devices that enrol, push and pull through HttpRequest values (no sockets, no TLS).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../support/fake_clock.hpp"
#include "../support/must.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"
#include "hearth/platform/encoding.hpp"
#include "hearth/sync/encoding.hpp"
#include "storage/storage.hpp"
#include "sync_service.hpp"

namespace hearth::test {

struct ServiceHarness {
  TempDir dir;
  FakeClock clock;
  std::unique_ptr<server::Storage> store = must(server::open_sqlite_storage(dir.file("server.db")));
  server::SyncService service{*store, clock.fn()};

  ServiceHarness() {
    must(store->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
    for (const char* p : {"hv-1", "yw-1", "tm-1"})
      must(store->caseload().add_practitioner(p, "org-hv", p, "PRACTITIONER"));
  }

  server::HttpResponse post(const std::string& path, const std::string& body, const std::string& token = "") {
    server::HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.body = body;
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return service.handle(r);
  }
};

// A device enrolled with the in-process service; its ops are made by a Replica.
struct Device {
  ServiceHarness& h;
  Replica replica;
  std::string token;
  std::map<std::string, int64_t> cursors;

  Device(ServiceHarness& harness, const std::string& id, const std::string& practitioner)
      : h(harness), replica(id, practitioner, harness.clock) {
    std::string code = must(h.service.issue_enrol_code(practitioner));
    auto r = h.post("/v1/enrol", nlohmann::json{{"code", code}, {"device_id", id}}.dump());
    REQUIRE(r.status == 200);
    token = nlohmann::json::parse(r.body)["device_token"];
  }

  // Pushes ops; returns each op's result object (status, reason, note).
  std::vector<nlohmann::json> push(const std::vector<sync::Op>& ops) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& op : ops) list.push_back(platform::base64(sync::encode(op)));
    auto r = h.post("/v1/push", nlohmann::json{{"ops", list}, {"device_time", h.clock.now()}}.dump(), token);
    REQUIRE(r.status == 200);
    auto body = nlohmann::json::parse(r.body);
    return std::vector<nlohmann::json>(body["results"].begin(), body["results"].end());
  }
  nlohmann::json push_one(const sync::Op& op) { return push({op}).at(0); }

  // Pulls until the server has nothing more; returns the families it was told to purge.
  std::vector<std::string> pull() {
    std::vector<std::string> purge;
    for (int round = 0; round < 100; ++round) {
      auto r = h.post("/v1/pull", nlohmann::json{{"cursors", cursors}}.dump(), token);
      REQUIRE(r.status == 200);
      auto body = nlohmann::json::parse(r.body);
      for (const auto& f : body["families"]) {
        for (const auto& o : f["ops"]) replica.receive(must(sync::decode(must(platform::unbase64(o.get<std::string>())))));
        cursors[f["family"]] = f["cursor"];
      }
      for (const auto& f : body["purge"]) purge.push_back(f);
      if (!body["more"].get<bool>()) break;
    }
    return purge;
  }
};

}  // namespace hearth::test
