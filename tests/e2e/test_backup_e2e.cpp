// End to end over TLS on 127.0.0.1: `hearth-server backup` while the server serves, more work
// after it (from two tablets, an office write and a tablet enrolled later), then `restore`:
// every replica syncs again and converges, with nothing lost (issue 9 part 3;
// docs/deployment.md, "Backup and restore").
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <set>

#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "../support/db_count.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// Every op id a server database holds ("device:counter").
std::set<std::string> op_ids(const std::string& db_path) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT device || ':' || counter FROM ops", -1, &st, nullptr) == SQLITE_OK);
  std::set<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) out.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

// Every op id a tablet holds.
std::set<std::string> op_ids(Tablet& t) {
  std::set<std::string> out;
  for (const auto& id : must(sync_port(*t.store).op_ids())) out.insert(id.device + ":" + std::to_string(id.counter));
  return out;
}

}  // namespace

TEST_CASE("E2E: backed up while serving, restored after more work, every replica converges with nothing lost",
          "[e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string fam = must(hv.store->create_family(family_fields("Family B")));
  must(hv.store->create(fam, "Contact", contact_fields("2026-11-20T10:00:00Z", "HV: before the backup")));
  hv.sync();
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  yw.sync();
  hv.sync();
  const std::string epoch = must(sync_port(*hv.store).cursors()).history_epoch;

  // The backup, taken while the server serves.
  TempDir backups;
  const std::string file = backups.file("hearth-2026-11-30.db");
  CHECK_THAT(server.admin({"backup", file}), Contains("backed up") && Contains("holds no key"));
  CHECK((fs::status(file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  const int64_t ops_in_backup = db_count(file, "SELECT count(*) FROM ops");
  CHECK_THROWS(server.admin({"backup", file}));  // never over an existing file

  // After the backup: both tablets record visits, the office allocates a third practitioner,
  // whose tablet is enrolled after the backup.
  must(hv.store->create(fam, "Contact", contact_fields("2026-11-21T10:00:00Z", "HV: after the backup")));
  must(hv.store->update(fam, "phone", "07700 900123"));
  auto yw_visit = contact_fields("2026-11-22T15:00:00Z", "YW: after the backup", "yw-1");
  must(yw.store->create(fam, "Contact", yw_visit));
  hv.sync();
  yw.sync();
  CHECK_THAT(server.admin({"allocate", "--family", fam, "--practitioner", "tm-1"}), Contains("1 op"));
  Tablet tm(server, "tm-1");
  tm.sync();
  REQUIRE(must(tm.store->status()).families == 1);
  for (Tablet* t : {&hv, &yw}) t->sync();
  const std::set<std::string> before_restore = op_ids(server.db());
  REQUIRE(static_cast<int64_t>(before_restore.size()) > ops_in_backup);

  // The restore: refused while the server runs, done once it is stopped.
  CHECK_THROWS_WITH(server.admin({"restore", file}), Contains("stop hearth-server first"));
  server.stop();
  std::string restored = server.admin({"restore", file});
  CHECK_THAT(restored, Contains("kept as") && Contains("new history epoch"));
  CHECK(static_cast<int64_t>(op_ids(server.db()).size()) < static_cast<int64_t>(before_restore.size()));
  server.start();

  // Every replica syncs: the tablets send again what the restored server lacks.
  for (int round = 0; round < 2; ++round)
    for (Tablet* t : {&yw, &tm, &hv}) t->sync();
  CHECK(must(sync_port(*hv.store).cursors()).history_epoch != epoch);

  // Nothing lost: every op the server held before the restore is held again, once.
  const std::set<std::string> after = op_ids(server.db());
  for (const auto& id : before_restore) {
    INFO(id);
    CHECK(after.count(id) == 1);
  }
  CHECK(db_count(server.db(), "SELECT count(*) FROM ops") == static_cast<int64_t>(after.size()));
  // Every tablet holds the same records and ops, all of which the server holds.
  const std::string json = hv.family_json(fam);
  for (const char* text : {"HV: before the backup", "HV: after the backup", "YW: after the backup", "07700 900123"})
    CHECK_THAT(json, Contains(text));
  CHECK(yw.family_json(fam) == json);
  CHECK(tm.family_json(fam) == json);
  CHECK_THAT(json, Contains(fam + "/team/tm-1"));  // the office write after the backup
  for (Tablet* t : {&hv, &yw, &tm}) {
    INFO(t->who);
    CHECK(op_ids(*t) == op_ids(hv));
    for (const auto& id : op_ids(*t)) CHECK(after.count(id) == 1);
    CHECK(must(t->store->status()).unsynced == 0);
  }

  // The office writes again: a new op id, never one a tablet already holds.
  server.admin({"allocate", "--family", fam, "--practitioner", "tm-1", "--lead"});
  for (Tablet* t : {&hv, &yw, &tm}) t->sync();
  CHECK(op_ids(tm) == op_ids(hv));
  size_t fresh = 0;
  for (const auto& id : op_ids(server.db())) {
    if (after.count(id)) continue;
    ++fresh;
    INFO(id);
    REQUIRE(id.rfind("hearth-server:", 0) == 0);
    CHECK(std::stoull(id.substr(14)) > 1'700'000'000'000'000ull);  // above the restore time in ms x 1000
  }
  CHECK(fresh >= 1);
  CHECK(tm.family_json(fam) == hv.family_json(fam));

  // The audit trail: the restore is recorded, and the restored trail verifies against the
  // checkpoint the restore exported (docs/audit.md, "After a restore").
  CHECK(db_count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'restore'") == 1);
  CHECK_THAT(server.admin({"verify-audit"}), Contains("audit trail intact") && Contains("note: the trail was restored"));
}
