// hearth-server backup and restore (server/src/admin/), in process: the backup is one
// consistent snapshot taken while another connection writes, and never overwrites a file; a
// restore refuses while the server runs and refuses a file that is not a server database,
// keeps the database it replaces aside, carries over the devices and enrolment state the
// backup lacks, renews the history epoch and raises the server's own op counters.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "../support/audit_key.hpp"
#include "../support/db_count.hpp"
#include "../support/must.hpp"
#include "../support/temp_dir.hpp"
#include "admin/backup.hpp"
#include "admin/restore.hpp"
#include "admin/serve_lock.hpp"
#include "audit/audit_chain.hpp"
#include "storage/storage.hpp"

using namespace hearth;
using namespace hearth::server;
using hearth::test::must;
using hearth::test::TempDir;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kNow = 1'796'000'000'000;  // 2026-12-01, ms

struct DataDir {
  TempDir dir;
  // Encrypted at rest, as hearth-server runs: the keyring is kept apart and outlives restores.
  std::shared_ptr<ServerKeys> keys = must(SqliteKeyring::open(
      dir.file("keyring.db"), must(keys::FileKek::from_secret(std::string(32, 'k'), "the test KEK"))));
  std::string db() const { return dir.file("hearth-server.db"); }
  fs::path checkpoints() const { return dir.path() / "audit-checkpoints"; }
  std::unique_ptr<Storage> open() const { return must(open_sqlite_storage(db(), hearth::test::audit_key(), keys)); }
  admin::RestoreRequest restore_from(const std::string& source, int64_t now = kNow) const {
    return admin::RestoreRequest{dir.path(), source, checkpoints(), hearth::test::audit_key(), keys, &Schema::v1(), now};
  }
};

void add_ops(Storage& s, const std::string& device, uint64_t from, uint64_t to) {
  for (uint64_t c = from; c <= to; ++c) must(s.ops().append(StoredOp{0, "fam-1", device, c, "body " + std::to_string(c)}));
}

std::unique_ptr<Storage> with_people(const DataDir& d) {
  auto s = d.open();
  must(s->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
  must(s->caseload().add_practitioner("hv-1", "org-hv", "hv-1", "PRACTITIONER"));
  return s;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Read as a file, without keys (the epoch is not personal data).
std::string epoch_of(const std::string& db) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE key = 'history_epoch'", -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

}  // namespace

TEST_CASE("Backup: refuses a DEST that exists and leaves it as it was", "[unit]") {
  DataDir data;
  auto store = with_people(data);
  add_ops(*store, "dev-a", 1, 3);
  TempDir out;
  std::ofstream(out.file("taken.db")) << "an earlier backup";
  auto refused = admin::back_up(data.db(), out.file("taken.db"), store->audit(), kNow);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::conflict);
  CHECK_THAT(refused.error().message, Contains("already exists"));
  CHECK(slurp(out.file("taken.db")) == "an earlier backup");
  CHECK_FALSE(fs::exists(out.file("taken.db.tmp")));
  // A DEST.tmp left by an earlier run is not written over either.
  std::ofstream(out.file("new.db.tmp")) << "left over";
  auto left = admin::back_up(data.db(), out.file("new.db"), store->audit(), kNow);
  REQUIRE_FALSE(left.ok());
  CHECK_THAT(left.error().message, Contains("new.db.tmp"));
  CHECK_FALSE(fs::exists(out.file("new.db")));
  CHECK(slurp(out.file("new.db.tmp")) == "left over");
}

TEST_CASE("Backup: one consistent snapshot while another connection writes, mode 0600, audited", "[unit]") {
  DataDir data;
  auto store = with_people(data);
  add_ops(*store, "dev-a", 1, 200);
  // A writer on a connection of its own, as `serve` is, appending until the backup is done.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{200};
  std::thread writer([&] {
    auto own = data.open();
    for (uint64_t c = 201; c <= 5000 && !stop; ++c) {  // bounded in count
      if (!own->ops().append(StoredOp{0, "fam-1", "dev-a", c, std::string(200, 'x')})) break;
      written = c;
    }
  });
  TempDir out;
  auto made = admin::back_up(data.db(), out.file("b.db"), store->audit(), kNow, 1);  // one page a step
  stop = true;
  writer.join();
  REQUIRE(made.ok());
  CHECK(made->last_seq >= 200);
  CHECK(made->bytes == fs::file_size(out.file("b.db")));
  CHECK((fs::status(out.file("b.db")).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK_FALSE(fs::exists(out.file("b.db.tmp")));
  CHECK_FALSE(fs::exists(out.file("b.db-wal")));
  // The copy holds exactly the ops up to its last seq, without a gap: one moment of the log.
  CHECK(test::db_count(out.file("b.db"), "SELECT count(*) FROM ops") == made->last_seq);
  CHECK(test::db_count(out.file("b.db"), "SELECT max(seq) FROM ops") == made->last_seq);
  CHECK(test::db_count(out.file("b.db"), "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'backup_last_seq'") ==
        made->last_seq);
  REQUIRE(admin::check_server_database(out.file("b.db"), "the backup").ok());
  CHECK(test::db_count(data.db(), "SELECT count(*) FROM audit_events WHERE action = 'backup' AND detail LIKE ?",
                       {"%b.db, " + std::to_string(made->bytes) + " bytes, last seq " + std::to_string(made->last_seq)}) == 1);
}

TEST_CASE("Restore: refuses while the serve lock is held and touches nothing", "[unit]") {
  DataDir data;
  auto store = with_people(data);
  add_ops(*store, "dev-a", 1, 3);
  TempDir out;
  must(admin::back_up(data.db(), out.file("b.db"), store->audit(), kNow));
  add_ops(*store, "dev-a", 4, 5);
  store.reset();
  {
    auto serving = must(admin::ServeLock::take(data.dir.path(), "serve"));
    auto refused = admin::restore(data.restore_from(out.file("b.db")));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::conflict);
    CHECK_THAT(refused.error().message, Contains("stop hearth-server first"));
    CHECK(test::db_count(data.db(), "SELECT count(*) FROM ops") == 5);
    for (const auto& e : fs::directory_iterator(data.dir.path()))
      CHECK(e.path().filename().string().find("before-restore") == std::string::npos);
    // A second serve on the same data directory is refused too.
    auto second = admin::ServeLock::take(data.dir.path(), "serve");
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == ErrorCode::conflict);
  }
  CHECK(admin::restore(data.restore_from(out.file("b.db"))).ok());  // the lock released
}

TEST_CASE("Restore: refuses a file that is not a server database and keeps the current one", "[unit]") {
  DataDir data;
  auto store = with_people(data);
  add_ops(*store, "dev-a", 1, 3);
  store.reset();
  TempDir out;
  std::ofstream(out.file("junk.db")) << std::string(8192, 'j');
  // A SQLite database, but not the server's.
  {
    auto other = must(sql::open_sqlite(out.file("other.db")));
    must(other->exec("CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('hello');"));
  }
  for (const char* file : {"junk.db", "other.db", "missing.db"}) {
    INFO(file);
    auto refused = admin::restore(data.restore_from(out.file(file)));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == (std::string(file) == "missing.db" ? ErrorCode::not_found : ErrorCode::corrupt));
    CHECK(test::db_count(data.db(), "SELECT count(*) FROM ops") == 3);
    for (const auto& e : fs::directory_iterator(data.dir.path())) {
      CHECK(e.path().filename().string().find("before-restore") == std::string::npos);
      CHECK(e.path().filename().string().find(".restoring") == std::string::npos);
    }
  }
  CHECK_THAT(admin::restore(data.restore_from(out.file("other.db"))).error().message,
             Contains("not a Hearth server database"));
}

TEST_CASE("Restore: keeps the old database aside and carries over devices, codes and revocations", "[unit]") {
  DataDir data;
  auto store = with_people(data);
  must(store->devices().add_device("dev-a", "hv-1", "token-a", kNow - 5000, kNow + 1'000'000));
  must(store->devices().add_device("dev-b", "hv-1", "token-b", kNow - 5000, kNow + 1'000'000));
  add_ops(*store, "dev-a", 1, 3);
  must(store->ops().next_authority_counter());
  TempDir out;
  must(admin::back_up(data.db(), out.file("b.db"), store->audit(), kNow - 4000));
  const std::string old_epoch = must(store->ops().history_epoch());
  // After the backup: more ops, a device enrolled, one revoked, a code issued, an office
  // credential issued, a practitioner added, the server's own counters moved on.
  add_ops(*store, "dev-a", 4, 9);
  must(store->caseload().add_practitioner("hv-2", "org-hv", "hv-2", "PRACTITIONER"));
  must(store->devices().add_device("dev-c", "hv-2", "token-c", kNow - 3000, kNow + 1'000'000));
  must(store->devices().revoke_device("dev-b"));
  must(store->devices().add_enrol_code("code-hash", "hv-1", kNow + 1'000'000));
  must(store->office().issue("case-system", "office-hash", kNow - 3000));
  for (int i = 0; i < 5; ++i) must(store->ops().next_authority_counter());
  for (const char* action : {"add-practitioner", "revoke", "office-credential-issue"})
    must(store->audit().append(AuditEvent{kNow - 2500, "admin", "", action, "", "after the backup"}));
  store.reset();
  // A checkpoint exported after the backup (as `serve` does every hour and at shutdown).
  audit::Checkpoint later;
  {
    auto trail = must(audit::open_trail_file(data.db(), hearth::test::audit_key()));
    later = must(trail.trail->checkpoint(kNow - 2000));
    must(audit::write_checkpoint_file(audit::checkpoint_file_in(data.checkpoints(), later), later));
  }

  auto done = admin::restore(data.restore_from(out.file("b.db")));
  REQUIRE(done.ok());
  REQUIRE(done->kept_aside);
  CHECK(done->previous_read);
  CHECK(done->kept_aside->filename().string().rfind("hearth-server.db.before-restore-", 0) == 0);
  // The database before the restore, whole, on its own (its log folded in).
  CHECK_FALSE(fs::exists(done->kept_aside->string() + "-wal"));
  CHECK(test::db_count(done->kept_aside->string(), "SELECT count(*) FROM ops") == 9);
  // The restored database: the backup's ops, a new epoch, and what the backup lacked.
  CHECK(test::db_count(data.db(), "SELECT count(*) FROM ops") == 3);
  CHECK(done->backup_last_seq == 3);
  CHECK(epoch_of(data.db()) != old_epoch);
  CHECK(done->epoch == epoch_of(data.db()));
  CHECK(test::db_count(data.db(), "SELECT count(*) FROM meta WHERE key LIKE 'backup_%'") == 0);
  auto restored = data.open();
  auto c = must(restored->devices().device_by_token("token-c"));
  REQUIRE(c);  // enrolled after the backup: still known
  CHECK(c->practitioner == "hv-2");
  CHECK(must(restored->caseload().practitioner_exists("hv-2")));
  auto b = must(restored->devices().device_by_token("token-b"));
  REQUIRE(b);
  CHECK(b->revoked);  // revoked after the backup: stays revoked
  CHECK(must(restored->devices().spend_enrol_code("code-hash", kNow)) == std::optional<std::string>("hv-1"));
  CHECK(must(restored->office().by_token("office-hash")).has_value());
  // The server's own counters start above anything it issued, after the backup included.
  CHECK(must(restored->ops().next_authority_counter()) > static_cast<uint64_t>(kNow) * 1000);
  CHECK(must(restored->ops().next_server_counter()) > static_cast<uint64_t>(kNow) * 1000);
  // One audit event says what was restored and what was carried over.
  CHECK(test::db_count(data.db(), "SELECT count(*) FROM audit_events WHERE action = 'restore' AND detail LIKE ?",
                       {"%last seq 3%devices 2,%new history epoch " + done->epoch + "%"}) == 1);
  CHECK(must(restored->audit().verify()) > 0);

  // The audit trail: the later checkpoint kept apart, not overwritten by the restored trail's
  // own, which verifies clean; checked against the later one, the truncation at the backup is
  // reported, and the restore event explains it.
  REQUIRE(done->checkpoints_moved_to);
  CHECK(done->checkpoints_moved == 1);
  const fs::path moved = *done->checkpoints_moved_to / audit::checkpoint_file_in("", later).filename();
  REQUIRE(fs::exists(moved));
  REQUIRE(done->checkpoint_exported);
  auto trail = must(audit::open_trail_file(data.db(), hearth::test::audit_key()));
  CHECK(must(trail.trail->verify({must(audit::read_checkpoint_file(*done->checkpoint_exported))})).clean());
  auto against_later = must(trail.trail->verify({must(audit::read_checkpoint_file(moved))}));
  bool truncated = false;
  for (const auto& f : against_later.findings) truncated = truncated || f.kind == audit::Finding::Kind::truncated;
  CHECK(truncated);
  auto notes = must(admin::restore_notes(*trail.db));
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Contains("restored from") && Contains(done->kept_aside->filename().string()));
}

TEST_CASE("Restore: another server's backup is refused, sealed under a keyring this server does not have", "[unit]") {
  DataDir other;
  auto elsewhere = with_people(other);
  add_ops(*elsewhere, "dev-x", 1, 3);
  TempDir out;
  must(admin::back_up(other.db(), out.file("other.db"), elsewhere->audit(), kNow - 4000));
  elsewhere.reset();
  DataDir data;
  auto store = with_people(data);
  add_ops(*store, "dev-a", 1, 3);
  store.reset();
  auto done = admin::restore(data.restore_from(out.file("other.db")));
  REQUIRE_FALSE(done.ok());
  CHECK_THAT(done.error().message, Contains("sealed under the keyring") && Contains("another server's"));
  CHECK(test::db_count(data.db(), "SELECT count(*) FROM ops WHERE device = 'dev-a'") == 3);  // the current one stays
}

TEST_CASE("Restore: the server's own ops are carried over only from a database that continues the backup", "[unit]") {
  // A backup of another history under the same keyring (say, of a server restored before):
  // its log is not this database's past.
  DataDir data;
  DataDir other;
  other.keys = data.keys;
  auto elsewhere = with_people(other);
  add_ops(*elsewhere, "dev-x", 1, 3);
  TempDir out;
  must(admin::back_up(other.db(), out.file("other.db"), elsewhere->audit(), kNow - 4000));
  elsewhere.reset();

  auto store = with_people(data);
  add_ops(*store, "dev-a", 1, 3);
  add_ops(*store, "hearth-server", 1, 2);  // not ops a restore of that backup may take
  store.reset();
  auto done = admin::restore(data.restore_from(out.file("other.db")));
  REQUIRE(done.ok());
  CHECK(done->previous_read);
  CHECK(done->server_ops_carried == 0);
  CHECK(test::db_count(data.db(), "SELECT count(*) FROM ops WHERE device = 'hearth-server'") == 0);
  REQUIRE(done->warnings.size() == 1);
  CHECK_THAT(done->warnings[0], Contains("does not continue the backup's history"));
  CHECK(test::db_count(data.db(), "SELECT count(*) FROM audit_events WHERE action = 'restore' AND detail LIKE ?",
                       {"%warning: the database kept aside does not continue%"}) == 1);
}
