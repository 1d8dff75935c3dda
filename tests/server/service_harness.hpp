#pragma once
// The sync service in process: a SyncService over a fresh storage (SQLite, or PostgreSQL in the
// "postgres: " run) and a fake clock, and
// devices that enrol, push and pull through HttpRequest values (no sockets, no TLS).
#include <catch2/catch.hpp>

#include "../support/audit_key.hpp"
#include "../support/fake_clock.hpp"
#include "../support/must.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"
#include "../support/test_database.hpp"
#include "hearth/platform/encoding.hpp"
#include "hearth/sync/encoding.hpp"
#include "hearth/sync/protocol.hpp"
#include "storage/storage.hpp"
#include "sync_service.hpp"
#include "usecases/authority_write.hpp"
#include "usecases/team.hpp"

namespace hearth::test {

struct ServiceHarness {
  TempDir dir;
  TestDatabase db{dir};  // SQLite, or PostgreSQL in the "postgres: " run of the tests
  FakeClock clock;
  std::unique_ptr<server::Storage> store;
  server::SyncService service;

  // `keys`: the keyring sealing data at rest (nullptr: encryption off).
  explicit ServiceHarness(std::shared_ptr<server::ServerKeys> keys = nullptr)
      : store(must(server::open_storage(db.location(), hearth::test::audit_key(), std::move(keys)))),
        service(*store, clock.fn()) {
    must(store->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
    for (const char* p : {"hv-1", "yw-1", "tm-1"})
      must(store->caseload().add_practitioner(p, "org-hv", p, "PRACTITIONER"));
  }

  // Puts a practitioner on a family's team as `hearth-server allocate` does: a TeamMember record
  // written by the office (the team index follows the record).
  void allocate(const std::string& family, const std::string& practitioner, bool lead = false) {
    server::Allocation a{family, practitioner, lead, std::nullopt, server::kOfficeAuthor};
    must(service.with_context([&](server::ServiceContext& ctx) { return server::authority_write(ctx, {server::allocation(a)}); }));
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
    auto r = h.post("/v1/enrol", sync::protocol::encode(sync::protocol::EnrolRequest{code, id, ""}));
    REQUIRE(r.status == 200);
    token = must(sync::protocol::decode_enrol_reply(r.body)).device_token;
  }

  // Pushes ops; returns each op's result.
  std::vector<sync::protocol::OpResult> push(const std::vector<sync::Op>& ops) {
    sync::protocol::PushRequest request;
    request.device_time_ms = h.clock.now();
    for (const auto& op : ops) request.ops.push_back(sync::encode(op));
    auto r = h.post("/v1/push", sync::protocol::encode(request), token);
    REQUIRE(r.status == 200);
    return must(sync::protocol::decode_push_reply(r.body)).results;
  }
  sync::protocol::OpResult push_one(const sync::Op& op) { return push({op}).at(0); }

  // Pulls until the server has nothing more; returns the families it was told to purge.
  std::vector<std::string> pull() {
    std::vector<std::string> purge;
    for (int round = 0; round < 100; ++round) {
      sync::protocol::PullRequest request;
      request.cursors = cursors;
      auto r = h.post("/v1/pull", sync::protocol::encode(request), token);
      REQUIRE(r.status == 200);
      auto reply = must(sync::protocol::decode_pull_reply(r.body));
      for (const auto& f : reply.families) {
        for (const auto& o : f.ops) replica.receive(must(sync::decode(o)));
        cursors[f.family] = f.cursor;
      }
      purge.insert(purge.end(), reply.purge.begin(), reply.purge.end());
      if (!reply.more) break;
    }
    return purge;
  }
};

}  // namespace hearth::test
