// Faults on the way: connections cut, the server killed, the client killed. In every case the
// next sync completes with every operation present exactly once on server and tablets.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "../support/tcp_proxy.hpp"
#include "hearth/platform/encoding.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;

namespace {

int64_t server_count(const ServerProcess& s, const std::string& where) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(s.db().c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string sql = "SELECT count(*), count(DISTINCT device || ':' || counter) FROM ops WHERE " + where;
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  CHECK(n == sqlite3_column_int64(st, 1));  // never twice
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

// Every op the tablet made is on the server exactly once, and its outbox is empty.
void exactly_once(Tablet& t, const ServerProcess& s) {
  size_t made = 0;
  for (const auto& id : must(sync_port(*t.store).op_ids()))
    if (id.device == t.store->device_id()) ++made;
  CHECK(server_count(s, "device = '" + t.store->device_id() + "'") == static_cast<int64_t>(made));
  CHECK(must(t.store->status()).unsynced == 0);
}

std::string busy_family(Tablet& t, int visits) {
  std::string fam = must(t.store->create_family(family_fields()));
  for (int i = 0; i < visits; ++i)
    // random text: request bodies are gzipped, and byte thresholds must track the work done
    must(t.store->create(fam, "Contact", contact_fields("2026-11-2" + std::to_string(i % 9) + "T10:00:00Z",
                                                      "visit " + must(platform::random_hex(100)))));
  return fam;
}

// waitpid with a deadline: on timeout the child is killed and reaped, and false returned.
bool wait_bounded(pid_t pid, int& status, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return false;
}

client::SyncOptions small_batches(int attempts) {
  client::SyncOptions o;
  o.push_batch = 50;
  o.page_bytes = 8192;
  o.max_attempts = attempts;
  o.backoff_ms = 10;
  return o;
}

}  // namespace

TEST_CASE("Fault: the connection cut at many points in a push and a pull", "[fault][e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string fam = busy_family(hv, 10);
  hv.sync();  // the family exists on the server; yw joins it
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});

  size_t cuts = 0;
  for (size_t at : {300u, 1500u, 4000u, 9000u, 15000u}) {
    for (bool upstream : {true, false}) {
      for (int i = 0; i < 40; ++i)  // each round has real work to push and to pull
        must(hv.store->create(fam, "Contact", contact_fields("2026-11-23T10:00:00Z", must(platform::random_hex(100)))));
      must(hv.store->update(fam, "phone", "0770" + std::to_string(at) + (upstream ? "1" : "2")));
      for (Tablet* t : {&hv, &yw}) {
        std::atomic<bool> cut{false};
        TcpProxy proxy(server.port(), [&](size_t up, size_t down) {
          if (cut || (upstream ? up : down) < at) return false;
          cut = true;
          return true;
        });
        // one attempt per request: the cut fails the sync, and a later one must mend it
        (void)t->sync_via(proxy.port(), small_batches(1));
        cuts += proxy.cuts();
      }
    }
  }
  CHECK(cuts >= 12);  // cut before, inside and after requests and answers, in both directions
  hv.sync();
  yw.sync();
  exactly_once(hv, server);
  CHECK(yw.family_json(fam) == hv.family_json(fam));
}

TEST_CASE("Fault: a cut connection is retried within the same sync", "[fault][e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  std::string fam = busy_family(hv, 200);
  std::atomic<int> cut{0};
  TcpProxy proxy(server.port(), [&](size_t up, size_t) { return up > 5000 && cut++ < 2; });
  auto r = must(hv.sync_via(proxy.port(), small_batches(4)));
  CHECK(r.pushed + r.duplicates == 201);
  CHECK(proxy.cuts() >= 1);
  exactly_once(hv, server);
}

TEST_CASE("Fault: the server killed in the middle of a push, and of a pull", "[fault][e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string fam = busy_family(hv, 400);
  std::atomic<bool> killed{false};
  {
    TcpProxy proxy(server.port(), [&](size_t up, size_t) {
      if (!killed && up > 40000) {
        killed = true;
        server.kill_hard();  // mid-push: some batches stored, one maybe stored without an answer
      }
      return false;
    });
    auto r = hv.sync_via(proxy.port(), small_batches(1));
    CHECK_FALSE(r.ok());
  }
  REQUIRE(killed);
  server.start();
  hv.sync();
  exactly_once(hv, server);

  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  killed = false;
  {
    TcpProxy proxy(server.port(), [&](size_t, size_t down) {
      if (!killed && down > 30000) {
        killed = true;
        server.kill_hard();  // mid-pull: some pages applied with their cursors
      }
      return false;
    });
    auto r = yw.sync_via(proxy.port(), small_batches(1));
    CHECK_FALSE(r.ok());
  }
  REQUIRE(killed);
  CHECK(must(sync_port(*yw.store).cursors()).families.count(fam) == 1);  // it got part of the family
  server.start();
  yw.sync();
  hv.sync();  // the office's TeamMember record for yw-1
  CHECK(yw.family_json(fam) == hv.family_json(fam));
  CHECK(must(sync_port(*yw.store).op_ids()).size() == must(sync_port(*hv.store).op_ids()).size());
}

TEST_CASE("Fault: the tablet killed after sending a push, before its answer", "[fault][e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  busy_family(hv, 120);
  hv.store.reset();  // the child process opens the same store file
  std::atomic<pid_t> child{0};
  size_t down_when_sent = SIZE_MAX;
  TcpProxy proxy(server.port(), [&](size_t up, size_t down) {
    // A large push has gone up; the first bytes coming back after it are its answer, so the
    // server has stored the batch. The tablet dies before reading them.
    if (up > 20000 && down_when_sent == SIZE_MAX) down_when_sent = down;
    else if (down_when_sent != SIZE_MAX && down > down_when_sent && child > 0) ::kill(child, SIGKILL);
    return false;
  }, TcpProxy::Start::later);  // no thread may run while we fork
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    hv.open();
    (void)hv.sync_via(proxy.port(), small_batches(1));
    _exit(0);  // not reached when killed in time
  }
  child = pid;
  proxy.start();
  int status = 0;
  bool ended = wait_bounded(pid, status, std::chrono::seconds(120));
  REQUIRE(ended);  // a tablet still syncing after two minutes is a hang, not a slow machine
  CHECK(WIFSIGNALED(status));
  hv.open();
  CHECK(must(hv.store->status()).unsynced > 0);  // the answer never arrived, so the ops are still queued
  auto r = hv.sync();
  CHECK(r.duplicates > 0);                 // the server already had them: acknowledged, not stored again
  exactly_once(hv, server);
}

TEST_CASE("Fault: the server's data directory copied back by hand after a push, and every replica converges",
          "[fault][e2e]") {
  namespace fs = std::filesystem;
  ServerProcess server;
  Tablet a(server, "hv-1"), b(server, "yw-1");
  std::string fam = must(a.store->create_family(family_fields()));
  a.sync();
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  b.sync();
  std::string epoch = must(sync_port(*a.store).cursors()).history_epoch;
  REQUIRE_FALSE(epoch.empty());

  // the data directory copied aside (the server stopped, as for a file-level backup)
  TempDir backup;
  server.stop();
  fs::copy(server.data(), backup.file("data"), fs::copy_options::recursive);
  server.start();

  // A pushes visits that the backup does not hold; B receives them
  must(a.store->create(fam, "Contact", contact_fields("2026-11-20T10:00:00Z", "A: visit after the backup")));
  must(a.store->create(fam, "Contact", contact_fields("2026-11-21T10:00:00Z", "A: second visit after the backup")));
  a.sync();
  b.sync();

  // the directory copied back by hand: the old history with its old epoch
  server.stop();
  fs::remove_all(server.data());
  fs::copy(backup.file("data"), server.data(), fs::copy_options::recursive);
  server.start();

  // B pushes before A syncs; then A syncs; then everyone syncs
  must(b.store->create(fam, "Contact", contact_fields("2026-11-22T10:00:00Z", "B: visit after the restore", "yw-1")));
  b.sync();
  a.sync();
  CHECK(must(sync_port(*a.store).cursors()).history_epoch != epoch);  // the server found its history went back
  for (Tablet* t : {&b, &a, &b}) t->sync();

  std::string fa = a.family_json(fam);
  CHECK(fa == b.family_json(fam));
  for (const char* text : {"A: visit after the backup", "A: second visit after the backup", "B: visit after the restore"})
    CHECK_THAT(fa, Catch::Contains(text));
  exactly_once(a, server);
  exactly_once(b, server);
}
