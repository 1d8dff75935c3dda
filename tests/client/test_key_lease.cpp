// The key lease (N5, docs/encryption.md): a store's keys may be used offline only until its
// lease ends; past it the store opens only to sync, a sync renews it, a clock set back does not
// extend it, and neither does editing the store's rows without its keys. Stores on an injected
// clock; the server in process (LoopbackServer) where a sync is needed.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "hearth/client/store.hpp"
#include "hearth/client/sync_client.hpp"
#include "hearth/platform/crypto.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "../support/db_count.hpp"
#include "../support/fake_clock.hpp"
#include "../support/loopback_transport.hpp"
#include "../support/must.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth;
using namespace hearth::client;
using Catch::Matchers::Contains;
using hearth::test::must;

namespace {

constexpr uint64_t kMinute = 60ull * 1000;
constexpr uint64_t kDay = 24 * 60 * kMinute;

std::unique_ptr<Store> open_store(const std::string& path, const test::FakeClock& clock) {
  StoreOptions o;
  o.practitioner_id = "hv-1";
  o.pin = "2468";
  o.kdf = KdfParams{1u << 10, 8, 1};
  o.clock = clock.fn();
  return must(Store::open(path, std::move(o)));
}

template <typename T>
Error error_of(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error();
}

// Every call of the app's API that needs the keys is refused, naming the lease and the sync.
void check_opens_only_to_sync(Store& s, const std::string& family) {
  for (const Error& e :
       {error_of(s.get(family)), error_of(s.family(family)), error_of(s.families()), error_of(s.export_family(family)),
        error_of(s.open_conflicts()), error_of(s.chronology(family)), error_of(s.history(family, "phone")),
        error_of(s.withheld(family)), error_of(s.held()), error_of(s.quarantine()), error_of(s.may_share(family)),
        error_of(s.create_family(test::family_fields())), error_of(s.update(family, "phone", "07700 900999")),
        error_of(s.create(family, "Contact", test::contact_fields("2026-01-03T10:00:00Z", "after the lease"))),
        error_of(s.atomically([&] { return s.update(family, "phone", "07700 900998"); })),
        error_of(s.change_pin("2468", "13579"))}) {
    CHECK(e.code == ErrorCode::locked);
    CHECK_THAT(e.message, Contains("key lease") && Contains("sync to renew it") && Contains("opens only to sync"));
  }
  // what a sync and the app's status screen need still answers
  must(s.status());
  CHECK(must(s.key_lease()).ended);
  must(s.offline_status());
  must(s.checkpoint());
}

}  // namespace

TEST_CASE("Key lease: a new store works for 14 days then opens only to sync and a clock set back does not extend it",
          "[unit][store][security]") {
  test::TempDir dir;
  test::FakeClock clock;
  const std::string path = dir.file("tablet.db");
  const uint64_t created = clock.now();
  auto tablet = open_store(path, clock);
  const std::string family = must(tablet->create_family(test::family_fields()));
  auto lease = must(tablet->key_lease());
  CHECK(lease.ends_at_ms == created + kDefaultKeyLeaseMs);
  CHECK_FALSE(lease.ended);

  clock.advance(13 * kDay);
  CHECK_THAT(must(tablet->get(family)).json, Contains("Family F"));  // within the lease
  CHECK(must(tablet->key_lease()).remaining_ms == static_cast<int64_t>(kDay));

  clock.advance(kDay);  // the lease's end: the open store refuses at once
  CHECK(error_of(tablet->get(family)).code == ErrorCode::locked);
  CHECK_THAT(error_of(tablet->get(family)).message, Contains("ended at 2026-01-15T00:00:00Z"));
  tablet.reset();
  tablet = open_store(path, clock);  // the store still opens (to sync)
  check_opens_only_to_sync(*tablet, family);

  // Setting the clock back ten days: the highest time the store saw counts.
  clock.set(clock.now() - 10 * kDay);
  tablet.reset();
  tablet = open_store(path, clock);
  check_opens_only_to_sync(*tablet, family);
  // Nothing recorded was lost: the edit made within the lease is still queued for the server.
  CHECK(must(tablet->status()).unsynced == 1);
}

TEST_CASE("Key lease: a sync past the end pushes first and renews the lease with the tenant's key_lease_days",
          "[unit][store][sync][security]") {
  test::LoopbackServer server;
  must(server.store().settings().set("key_lease_days", "20", static_cast<int64_t>(test::wall_now_ms()), "admin"));
  test::TempDir dir;
  test::FakeClock clock(test::wall_now_ms());
  const std::string path = dir.file("tablet.db");
  auto tablet = open_store(path, clock);
  test::LoopbackTransport transport(server.service());
  must(enrol(*tablet, transport, "https://loopback", "", server.enrol_code("hv-1")));
  const std::string family = must(tablet->create_family(test::family_fields()));
  SyncOptions quick;
  quick.backoff_ms = 1;
  must(client::sync(*tablet, transport, quick));
  auto lease = must(tablet->key_lease());
  CHECK(lease.ends_at_ms >= clock.now() + 20 * kDay - kMinute);
  CHECK(lease.ends_at_ms <= test::wall_now_ms() + 20 * kDay);
  // the server knows the lease it gave
  auto devices = must(server.store().devices().devices());
  REQUIRE(devices.size() == 1);
  CHECK(devices[0].lease_until == static_cast<int64_t>(lease.ends_at_ms));

  const size_t held_by_server = server.ops_of(family);
  must(tablet->update(family, "phone", "07700 900111"));  // recorded within the lease
  clock.advance(21 * kDay);
  tablet.reset();
  tablet = open_store(path, clock);
  check_opens_only_to_sync(*tablet, family);

  auto report = must(client::sync(*tablet, transport, quick));
  CHECK(report.pushed == 1);  // push first: the work recorded offline reached the server
  CHECK(server.ops_of(family) > held_by_server);
  lease = must(tablet->key_lease());
  CHECK_FALSE(lease.ended);
  CHECK(lease.ends_at_ms >= test::wall_now_ms() + 20 * kDay - kMinute);
  CHECK_THAT(must(tablet->get(family)).json, Contains("07700 900111"));
  must(tablet->update(family, "phone", "07700 900222"));
}

TEST_CASE("Key lease: editing the store's files without its keys does not extend it", "[unit][store][security]") {
  test::TempDir dir;
  test::FakeClock clock;
  const std::string path = dir.file("tablet.db");
  auto tablet = open_store(path, clock);
  const std::string family = must(tablet->create_family(test::family_fields()));
  clock.advance(15 * kDay);
  tablet.reset();

  SECTION("the lease row deleted: the lease counts as ended") {
    test::db_exec(path, "DELETE FROM secrets WHERE name = 'key_lease'");
    tablet = open_store(path, clock);
    auto e = error_of(tablet->get(family));
    CHECK(e.code == ErrorCode::locked);
    CHECK_THAT(e.message, Contains("record is missing"));
    CHECK(must(tablet->key_lease()).ended);
  }
  SECTION("the highest time seen deleted and the clock set back: still ended") {
    test::db_exec(path, "DELETE FROM secrets WHERE name = 'seen'");
    clock.set(clock.now() - 10 * kDay);
    tablet = open_store(path, clock);
    check_opens_only_to_sync(*tablet, family);
  }
  SECTION("another sealed number moved into the lease row: refused as corrupt, never a longer lease") {
    test::db_exec(path, "UPDATE secrets SET value = (SELECT value FROM secrets WHERE name = 'seen') WHERE name = 'key_lease'");
    tablet = open_store(path, clock);
    auto e = error_of(tablet->get(family));
    CHECK(e.code == ErrorCode::corrupt);
    CHECK_THAT(e.message, Contains("key lease"));
  }
}

TEST_CASE("Key lease: a store made before the lease gets one at its first open and keeps it", "[unit][store][security]") {
  test::TempDir dir;
  test::FakeClock clock;
  const std::string path = dir.file("tablet.db");
  auto tablet = open_store(path, clock);
  const std::string family = must(tablet->create_family(test::family_fields()));
  tablet.reset();
  // Make it as an earlier build did: the master key wrapped under the first label, no lease,
  // no highest time seen (the test holds the PIN, so it can re-wrap).
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT salt, n, r, p, wrapped_master FROM vault", -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    auto blob = [&](int col) {
      return std::string(static_cast<const char*>(sqlite3_column_blob(st, col)), static_cast<size_t>(sqlite3_column_bytes(st, col)));
    };
    std::string salt = blob(0), wrapped = blob(4);
    platform::ScryptParams kdf{static_cast<uint64_t>(sqlite3_column_int64(st, 1)), static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
                               static_cast<uint64_t>(sqlite3_column_int64(st, 3))};
    sqlite3_finalize(st);
    auto kek = must(platform::derive_key("2468", salt, kdf));
    auto master = must(platform::open(kek, wrapped, "hearth master key v1|lease"));
    auto old = must(platform::seal(kek, master, "hearth master key v1"));
    REQUIRE(sqlite3_prepare_v2(db, "UPDATE vault SET wrapped_master = ?", -1, &st, nullptr) == SQLITE_OK);
    sqlite3_bind_blob(st, 1, old.data(), static_cast<int>(old.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    REQUIRE(sqlite3_exec(db, "DELETE FROM secrets WHERE name IN ('key_lease', 'seen')", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  clock.advance(kDay);
  tablet = open_store(path, clock);  // upgraded: a lease from now, and the wrapping says so
  CHECK(must(tablet->key_lease()).ends_at_ms == clock.now() + kDefaultKeyLeaseMs);
  CHECK_THAT(must(tablet->get(family)).json, Contains("Family F"));
  tablet.reset();
  // From now on deleting the lease row ends it rather than starting a new one.
  test::db_exec(path, "DELETE FROM secrets WHERE name = 'key_lease'");
  tablet = open_store(path, clock);
  CHECK(must(tablet->key_lease()).ended);
  CHECK(error_of(tablet->get(family)).code == ErrorCode::locked);
}

TEST_CASE("Key lease: a tablet whose clock ran a year ahead is corrected by its next sync and not locked out",
          "[unit][store][sync][security]") {
  test::LoopbackServer server;
  test::TempDir dir;
  test::FakeClock clock(test::wall_now_ms());
  const std::string path = dir.file("tablet.db");
  auto tablet = open_store(path, clock);
  test::LoopbackTransport transport(server.service());
  must(enrol(*tablet, transport, "https://loopback", "", server.enrol_code("hv-1")));
  const std::string family = must(tablet->create_family(test::family_fields()));
  SyncOptions quick;
  quick.backoff_ms = 1;
  must(client::sync(*tablet, transport, quick));
  clock.advance(365 * kDay);  // the clock is wrong, not a year gone: nothing is queued
  tablet.reset();
  tablet = open_store(path, clock);
  CHECK(error_of(tablet->get(family)).code == ErrorCode::locked);
  // nothing to push, yet one empty push measures the clock before the pull renews the lease
  auto report = must(client::sync(*tablet, transport, quick));
  CHECK(report.pushed == 0);
  CHECK(report.clock_offset_ms < -static_cast<int64_t>(360 * kDay));
  CHECK_FALSE(must(tablet->key_lease()).ended);
  must(tablet->update(family, "phone", "07700 900444"));
  CHECK_THAT(must(tablet->get(family)).json, Contains("07700 900444"));
}
