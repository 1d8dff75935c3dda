// The sync service's worker pool (issue 11, "no global lock"): requests run concurrently on
// workers with connections of their own, and still every op is stored exactly once and every
// replica converges. No Catch2 macro runs off the main thread (they are not thread-safe): the
// threads record what went wrong, checked after they are joined.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "../support/db_count.hpp"
#include <sqlite3.h>

#include "access/server_access_policy.hpp"
#include "service_harness.hpp"

using namespace hearth;
using namespace hearth::test;
using sync::protocol::OpStatus;

namespace {

// More connections to the harness's database (SQLite, or PostgreSQL in the "postgres:" run).
server::StorageFactory same_database(const TestDatabase& db) {
  std::string location = db.location();
  return [location] { return server::open_storage(location, hearth::test::audit_key()); };
}

// A device that syncs from a thread of its own: errors are returned as text, never asserted.
struct ThreadDevice {
  ServiceHarness& h;
  Replica replica;
  std::string token;
  std::map<std::string, int64_t> cursors;
  size_t busy_retries = 0;  // 503 answers retried

  ThreadDevice(ServiceHarness& harness, const std::string& id, const std::string& practitioner)
      : h(harness), replica(id, practitioner, harness.clock) {
    std::string code = must(h.service.issue_enrol_code(practitioner));
    auto r = h.post("/v1/enrol", sync::protocol::encode(sync::protocol::EnrolRequest{code, id, ""}));
    REQUIRE(r.status == 200);
    token = must(sync::protocol::decode_enrol_reply(r.body)).device_token;
  }

  // A request, sent again while the server answers 503 (busy), as the sync client does.
  server::HttpResponse post(const std::string& path, const std::string& body) {
    for (int attempt = 0;; ++attempt) {
      auto r = h.post(path, body, token);
      if (r.status != 503 || attempt == 50) return r;
      ++busy_retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::string push(const std::vector<sync::Op>& ops) {
    sync::protocol::PushRequest request;
    for (const auto& op : ops) request.ops.push_back(sync::encode(op));
    auto r = post("/v1/push", sync::protocol::encode(request));
    if (r.status != 200) return "push answered " + std::to_string(r.status) + ": " + r.body;
    auto reply = sync::protocol::decode_push_reply(r.body);
    if (!reply) return "push reply: " + reply.error().message;
    for (const auto& res : reply->results)
      if (res.status != OpStatus::accepted) return "op " + res.op_id + " was not accepted: " + res.reason;
    return "";
  }

  std::string pull() {
    for (int round = 0; round < 100; ++round) {
      sync::protocol::PullRequest request;
      request.cursors = cursors;
      auto r = post("/v1/pull", sync::protocol::encode(request));
      if (r.status != 200) return "pull answered " + std::to_string(r.status) + ": " + r.body;
      auto reply = sync::protocol::decode_pull_reply(r.body);
      if (!reply) return "pull reply: " + reply.error().message;
      for (const auto& f : reply->families) {
        for (const auto& o : f.ops) {
          auto op = sync::decode(o);
          if (!op) return "pulled op: " + op.error().message;
          replica.receive(*op);
        }
        cursors[f.family] = f.cursor;
      }
      if (!reply->more) return "";
    }
    return "pull did not finish in 100 pages";
  }
};

// Storage that delegates to a real one, and can hold the next transaction begun on any of its
// connections until the test releases it (outside SQLite's write lock: nothing else waits on
// it). Records the families locked, in order.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool armed = false, held = false, open = false;
  std::vector<std::string> locked;  // every lock_family call, in order
  std::vector<uint64_t> locked_in;  // the transaction each was made in (0: outside one)
};

class GatedStorage final : public server::Storage {
 public:
  GatedStorage(std::unique_ptr<server::Storage> inner, Gate& gate) : inner_(std::move(inner)), gate_(gate) {}
  server::OpLog& ops() override { return inner_->ops(); }
  server::Caseload& caseload() override { return inner_->caseload(); }
  server::Devices& devices() override { return inner_->devices(); }
  server::AuditLog& audit() override { return inner_->audit(); }
  server::FlagLog& flags() override { return inner_->flags(); }
  server::TenantSettings& settings() override { return inner_->settings(); }
  server::TimeIndex& due() override { return inner_->due(); }
  server::OfficeCredentials& office() override { return inner_->office(); }
  server::OfficeOutbox& outbox() override { return inner_->outbox(); }
  server::ServerKeys& keys() override { return inner_->keys(); }
  server::RecordStore& records() override { return inner_->records(); }
  server::DuplicateStore& duplicates() override { return inner_->duplicates(); }
  Result<bool> delete_family(const std::string& family) override { return inner_->delete_family(family); }
  Result<void> lock_family(const std::string& family) override {
    {
      std::lock_guard<std::mutex> lock(gate_.m);
      gate_.locked.push_back(family);
      gate_.locked_in.push_back(inner_->transaction_id());
    }
    return inner_->lock_family(family);
  }
  Result<void> transaction(const std::function<Result<void>()>& body) override {
    {
      std::unique_lock<std::mutex> lock(gate_.m);
      if (gate_.armed) {  // this transaction is the one held
        gate_.armed = false;
        gate_.held = true;
        gate_.cv.notify_all();
        gate_.cv.wait_for(lock, std::chrono::seconds(30), [&] { return gate_.open; });
      }
    }
    return inner_->transaction(body);
  }
  uint64_t transaction_id() const override { return inner_->transaction_id(); }
  void before_commit(std::function<Result<void>()> step) override { inner_->before_commit(std::move(step)); }
  void after_rollback(std::function<void()> step) override { inner_->after_rollback(std::move(step)); }

 private:
  std::unique_ptr<server::Storage> inner_;
  Gate& gate_;
};

}  // namespace

// Two tablets per practitioner, each on a thread of its own, editing the same families at the
// same time for `rounds` rounds of push and pull; then everything is pulled once more.
struct Crowd {
  ServiceHarness& h;
  int families;
  std::vector<std::string> practitioners;
  std::vector<std::unique_ptr<ThreadDevice>> devices;
  std::vector<std::string> failures;  // per device, "" when all went well

  Crowd(ServiceHarness& harness, int practitioner_count, int family_count) : h(harness), families(family_count) {
    for (int p = 0; p < practitioner_count; ++p) {
      practitioners.push_back("pr-" + std::to_string(p));
      must(h.store->caseload().add_practitioner(practitioners.back(), "org-hv", practitioners.back(), "PRACTITIONER"));
    }
    for (const auto& p : practitioners)
      for (const char* tablet : {"a", "b"}) devices.push_back(std::make_unique<ThreadDevice>(h, "dev-" + p + tablet, p));
    for (size_t p = 0; p < practitioners.size(); ++p) {
      std::vector<sync::Op> created;
      for (int k = 0; k < families; ++k) {
        std::string fam = family_of(p, k);
        created.push_back(must(devices[2 * p]->replica.create(fam, "Family", fam, family_fields())));
      }
      CHECK(devices[2 * p]->push(created) == "");
    }
    for (auto& d : devices) CHECK(d->pull() == "");
    failures.resize(devices.size());
  }
  std::string family_of(size_t practitioner, int k) const {
    return "fam-" + practitioners[practitioner] + "-" + std::to_string(k);
  }

  void run(int rounds) {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < devices.size(); ++i) threads.emplace_back([this, i, rounds] { run_device(i, rounds); });
    for (auto& t : threads) t.join();
  }

  void run_device(size_t i, int rounds) {
    ThreadDevice& d = *devices[i];
    const std::string& p = practitioners[i / 2];
    for (int round = 0; round < rounds && failures[i].empty(); ++round) {
      // Each push touches two families (locked together) and edits one field both tablets edit.
      std::vector<sync::Op> ops;
      for (int k : {round % families, (round + 1) % families}) {
        std::string fam = family_of(i / 2, k);
        std::string note = d.replica.device() + " round " + std::to_string(round);
        std::string id = "c-" + d.replica.device() + "-" + std::to_string(round) + "-" + std::to_string(k);
        auto contact = d.replica.create(fam, "Contact", id, contact_fields("2026-11-20T10:00:00Z", note, p));
        auto named = d.replica.set(fam, "display_name", Value(note));
        if (!contact || !named) {
          failures[i] = "making ops: " + (contact ? named.error().message : contact.error().message);
          return;
        }
        ops.push_back(*contact);
        ops.push_back(*named);
      }
      if (auto e = d.push(ops); !e.empty()) failures[i] = e;
      else if (auto e2 = d.pull(); !e2.empty()) failures[i] = e2;
    }
  }
};

TEST_CASE("Service pool: devices pushing and pulling from many threads store every op once and converge", "[unit]") {
  ServiceHarness h;
  must(h.service.add_workers(same_database(h.db), 3));
  REQUIRE(h.service.workers() == 4);
  Crowd crowd(h, 4, 3);
  crowd.run(12);
  for (size_t i = 0; i < crowd.devices.size(); ++i) {
    INFO(crowd.devices[i]->replica.device());
    CHECK(crowd.failures[i] == "");
  }
  // Everything settled: each tablet pulls what the other pushed last.
  for (auto& d : crowd.devices) CHECK(d->pull() == "");

  for (size_t i = 0; i < crowd.devices.size(); ++i) {
    const ThreadDevice& d = *crowd.devices[i];
    const ThreadDevice& twin = *crowd.devices[i ^ 1u];
    INFO(d.replica.device());
    // Stored exactly once: as many ops in the log as the device made, each (device, counter) once.
    CHECK(db_count(h.db.location(), "SELECT count(*) FROM ops WHERE device = ?", {d.replica.device()}) ==
          static_cast<int64_t>(d.replica.made().size()));
    CHECK(db_count(h.db.location(), "SELECT count(DISTINCT counter) FROM ops WHERE device = ?",
                   {d.replica.device()}) == static_cast<int64_t>(d.replica.made().size()));
    // Its twin holds every op it made, and both see each family the same.
    for (const auto& op : d.replica.made()) CHECK(twin.replica.mat().contains(op.id));
    for (int k = 0; k < crowd.families; ++k) {
      std::string fam = crowd.family_of(i / 2, k);
      CHECK(must(d.replica.mat().render_family(fam)) == must(twin.replica.mat().render_family(fam)));
    }
  }
}

// Not a test (hidden tag; run with "[.pool-bench]"): the same crowd on 1, 2 and 4 workers.
TEST_CASE("Benchmark: sixteen tablets syncing from their own threads on one to four workers", "[.pool-bench]") {
  for (size_t workers : {1u, 2u, 4u}) {
    ServiceHarness h;
    must(h.service.add_workers(same_database(h.db), workers - 1));
    Crowd crowd(h, 8, 3);
    auto t0 = std::chrono::steady_clock::now();
    crowd.run(25);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    size_t ops = 0;
    for (const auto& d : crowd.devices) ops += d->replica.made().size();
    for (const auto& f : crowd.failures) CHECK(f == "");
    std::printf("%zu workers: %zu tablets x 25 rounds (push 4 ops + pull) in %.2f s = %.0f requests/s\n", workers,
                crowd.devices.size(), s, static_cast<double>(crowd.devices.size() * 25 * 2) / s);
    (void)ops;
  }
}

TEST_CASE("Service pool: a push held inside the storage does not stop a push for another family", "[unit]") {
  TempDir dir;
  Gate gate;
  FakeClock clock;
  auto gated = [&]() -> Result<std::unique_ptr<server::Storage>> {
    auto inner = server::open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key());
    if (!inner) return inner.error();
    return std::unique_ptr<server::Storage>(std::make_unique<GatedStorage>(std::move(*inner), gate));
  };
  auto first = must(gated());
  server::SyncService service(*first, clock.fn());
  must(service.add_workers(gated, 1));
  must(first->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
  for (const char* p : {"hv-1", "yw-1"}) must(first->caseload().add_practitioner(p, "org-hv", p, "PRACTITIONER"));
  auto post = [&](const std::string& path, const std::string& body, const std::string& token) {
    server::HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.body = body;
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return service.handle(r);
  };
  auto enrol = [&](const std::string& device, const std::string& practitioner) {
    std::string code = must(service.issue_enrol_code(practitioner));
    auto r = post("/v1/enrol", sync::protocol::encode(sync::protocol::EnrolRequest{code, device, ""}), "");
    REQUIRE(r.status == 200);
    return must(sync::protocol::decode_enrol_reply(r.body)).device_token;
  };
  std::string hv_token = enrol("dev-hv", "hv-1"), yw_token = enrol("dev-yw", "yw-1");
  Replica hv("dev-hv", "hv-1", clock), yw("dev-yw", "yw-1", clock);
  auto push_body = [](const std::vector<sync::Op>& ops) {
    sync::protocol::PushRequest request;
    for (const auto& op : ops) request.ops.push_back(sync::encode(op));
    return sync::protocol::encode(request);
  };
  // hv-1's push touches three families, listed out of order.
  std::vector<sync::Op> hv_ops;
  for (const char* fam : {"fam-c", "fam-a", "fam-b"}) hv_ops.push_back(must(hv.create(fam, "Family", fam, family_fields())));
  auto yw_op = must(yw.create("fam-yw", "Family", "fam-yw", family_fields()));
  std::string hv_body = push_body(hv_ops), yw_body = push_body({yw_op});

  {
    std::lock_guard<std::mutex> lock(gate.m);
    gate.armed = true;
  }
  auto held = std::async(std::launch::async, [&] { return post("/v1/push", hv_body, hv_token); });
  {
    std::unique_lock<std::mutex> lock(gate.m);
    REQUIRE(gate.cv.wait_for(lock, std::chrono::seconds(30), [&] { return gate.held; }));
  }
  // hv-1's push is inside the storage, not finished; yw-1's push for another family is served meanwhile.
  auto other = post("/v1/push", yw_body, yw_token);
  CHECK(other.status == 200);
  CHECK(must(sync::protocol::decode_push_reply(other.body)).results.at(0).status == OpStatus::accepted);
  CHECK(held.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  CHECK(must(first->ops().highest_seq("fam-yw")) > 0);
  CHECK(must(first->ops().highest_seq("fam-a")) == 0);
  {
    std::lock_guard<std::mutex> lock(gate.m);
    gate.open = true;
  }
  gate.cv.notify_all();
  auto answered = held.get();
  REQUIRE(answered.status == 200);
  for (const auto& r : must(sync::protocol::decode_push_reply(answered.body)).results) CHECK(r.status == OpStatus::accepted);
  // Each family was locked inside its push's transaction; hv-1's three in sorted order, first.
  std::lock_guard<std::mutex> lock(gate.m);
  for (uint64_t t : gate.locked_in) CHECK(t != 0);
  std::vector<std::string> hv_locks;
  for (const auto& f : gate.locked)
    if (f != "fam-yw") hv_locks.push_back(f);
  REQUIRE(hv_locks.size() >= 3);
  CHECK(std::vector<std::string>(hv_locks.begin(), hv_locks.begin() + 3) ==
        std::vector<std::string>{"fam-a", "fam-b", "fam-c"});
}

TEST_CASE("Service pool: a service deciding with the caller's access policy keeps one worker", "[unit]") {
  ServiceHarness h;
  server::ServerAccessPolicy policy(h.store->caseload(), h.store->ops());
  server::SyncService own(*h.store, policy, h.clock.fn());
  auto added = own.add_workers(same_database(h.db), 1);
  REQUIRE_FALSE(added);
  CHECK(added.error().code == ErrorCode::invalid_argument);
  CHECK(own.workers() == 1);
}

TEST_CASE("Service pool: a database kept busy past its timeout is answered 503, and the push sent again is stored",
          "[fault]") {
  ServiceHarness h;
  if (h.db.postgres()) {  // SQLite's busy timeout; PostgreSQL's lock waits are bounded by lock_timeout
    SUCCEED("SQLite only");
    return;
  }
  Device hv(h, "dev-hv", "hv-1");
  auto fam = must(hv.replica.create("fam-busy", "Family", "fam-busy", family_fields()));
  sync::protocol::PushRequest request;
  request.ops.push_back(sync::encode(fam));
  std::string body = sync::protocol::encode(request);
  // Another connection (another process, say) holds the write lock longer than the busy timeout.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(h.dir.file("server.db").c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto busy = h.post("/v1/push", body, hv.token);
  CHECK(busy.status == 503);
  CHECK(must(sync::protocol::decode_error_reply(busy.body)).code == sync::protocol::WireError::unavailable);
  REQUIRE(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  CHECK(must(h.store->ops().highest_seq("fam-busy")) == 0);  // nothing half-stored
  // The device sends the same push again: stored once.
  auto again = h.post("/v1/push", body, hv.token);
  REQUIRE(again.status == 200);
  CHECK(must(sync::protocol::decode_push_reply(again.body)).results.at(0).status == OpStatus::accepted);
  CHECK(db_count(h.db.location(), "SELECT count(*) FROM ops WHERE device = 'dev-hv'") == 1);
}
