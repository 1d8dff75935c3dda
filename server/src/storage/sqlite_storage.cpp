// The default storage: one SQLite database (one connection). Its schema (written in SQLite's
// dialect, translated for PostgreSQL by pg_storage.cpp), its upgrades from earlier layouts and
// sealing a plain database in place are here; the interfaces' queries are in sql_*.cpp.
#include "sql_storage.hpp"
#include "sql_util.hpp"
#include "sqlite_restore.hpp"
#include "storage.hpp"

#include <functional>
#include <optional>

namespace hearth::server {

namespace {

using sql::Connection;
using sql::Statement;
using sql::Transaction;

}  // namespace

namespace sql {
const char* kServerSchema = R"SQL(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS organisations(id TEXT PRIMARY KEY, name TEXT NOT NULL, org_type TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS practitioners(id TEXT PRIMARY KEY, organisation TEXT NOT NULL REFERENCES organisations(id),
  display_name TEXT NOT NULL, role TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memberships(id INTEGER PRIMARY KEY, family TEXT NOT NULL, practitioner TEXT NOT NULL,
  lead INTEGER NOT NULL, joined_at INTEGER NOT NULL, removed_at INTEGER, from_records INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS memberships_current ON memberships(family, practitioner) WHERE removed_at IS NULL;
CREATE INDEX IF NOT EXISTS memberships_by_family ON memberships(family, practitioner);
CREATE INDEX IF NOT EXISTS memberships_by_practitioner ON memberships(practitioner, family) WHERE removed_at IS NULL;
CREATE TABLE IF NOT EXISTS enrol_codes(code_hash TEXT PRIMARY KEY, practitioner TEXT NOT NULL, expires_at INTEGER NOT NULL,
  spent INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices(id TEXT PRIMARY KEY, practitioner TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
  enrolled_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL, last_pull_at INTEGER NOT NULL DEFAULT 0,
  wipe_requested_at INTEGER NOT NULL DEFAULT 0, wipe_discard INTEGER NOT NULL DEFAULT 0,
  wipe_acknowledged_at INTEGER NOT NULL DEFAULT 0, wipe_unsynced_lost INTEGER NOT NULL DEFAULT 0,
  wipe_quarantined_lost INTEGER NOT NULL DEFAULT 0, lease_until INTEGER NOT NULL DEFAULT 0,
  views_through INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ops(seq INTEGER PRIMARY KEY AUTOINCREMENT, family TEXT NOT NULL, device TEXT NOT NULL,
  counter INTEGER NOT NULL, body BLOB NOT NULL, UNIQUE(device, counter));
CREATE INDEX IF NOT EXISTS ops_by_family ON ops(family, seq);
CREATE TABLE IF NOT EXISTS feeds(practitioner TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flags(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, family TEXT NOT NULL, kind TEXT NOT NULL,
  op_id TEXT NOT NULL, practitioner TEXT NOT NULL, device TEXT NOT NULL, detail TEXT NOT NULL, UNIQUE(kind, op_id));
CREATE INDEX IF NOT EXISTS flags_by_family ON flags(family, id);
CREATE TABLE IF NOT EXISTS tenant_settings(key TEXT PRIMARY KEY, value TEXT NOT NULL, set_at INTEGER NOT NULL,
  set_by TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS held_ops(op_id TEXT PRIMARY KEY, at INTEGER NOT NULL, family TEXT NOT NULL,
  practitioner TEXT NOT NULL, device TEXT NOT NULL, route_to TEXT NOT NULL, reason TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS due_families(family TEXT PRIMARY KEY, next_due INTEGER) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS due_families_by_time ON due_families(next_due) WHERE next_due IS NOT NULL;
CREATE TABLE IF NOT EXISTS break_glass_grants(id TEXT PRIMARY KEY, family TEXT NOT NULL, practitioner TEXT NOT NULL,
  expires_at INTEGER NOT NULL, ended_at INTEGER) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS break_glass_by_practitioner ON break_glass_grants(practitioner, family) WHERE ended_at IS NULL;
CREATE TABLE IF NOT EXISTS erased_counters(device TEXT PRIMARY KEY, counter INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS office_credentials(name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,
  issued_at INTEGER NOT NULL, revoked_at INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS office_inbound(id TEXT PRIMARY KEY, body_hash TEXT NOT NULL, at INTEGER NOT NULL,
  credential TEXT NOT NULL, family TEXT NOT NULL, answer TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records(id TEXT PRIMARY KEY, type TEXT NOT NULL, family TEXT NOT NULL,
  revision INTEGER NOT NULL, updated_at INTEGER NOT NULL, occurred TEXT NOT NULL, deleted INTEGER NOT NULL,
  persons TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_revision ON records(revision);
CREATE INDEX IF NOT EXISTS records_by_type ON records(type, revision);
CREATE INDEX IF NOT EXISTS records_by_family ON records(family, revision);
CREATE TABLE IF NOT EXISTS record_persons(person TEXT NOT NULL, id TEXT NOT NULL, family TEXT NOT NULL,
  PRIMARY KEY(person, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS record_persons_by_id ON record_persons(id);
)SQL";
}  // namespace sql

namespace {

// Earlier layouts: `teams` without history, devices without last_pull_at, the server counter
// in meta. Run once per open, inside a transaction; each step is a no-op when already done.
Result<void> upgrade(Connection& db) {
  auto has_teams = sql::exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", "teams");
  if (!has_teams) return has_teams.error();
  if (*has_teams) {
    if (auto r = db.exec("INSERT INTO memberships(family, practitioner, lead, joined_at) "
                         "SELECT family, practitioner, lead, 0 FROM teams; DROP TABLE teams;");
        !r)
      return r;
  }
  auto has_pull = sql::exists(db, "SELECT 1 FROM pragma_table_info('devices') WHERE name = ?", "last_pull_at");
  if (!has_pull) return has_pull.error();
  if (!*has_pull) {
    if (auto r = db.exec("ALTER TABLE devices ADD COLUMN last_pull_at INTEGER NOT NULL DEFAULT 0"); !r) return r;
  }
  // Memberships derived from the family's records are told apart from those made directly.
  auto has_origin = sql::exists(db, "SELECT 1 FROM pragma_table_info('memberships') WHERE name = ?", "from_records");
  if (!has_origin) return has_origin.error();
  if (!*has_origin) {
    if (auto r = db.exec("ALTER TABLE memberships ADD COLUMN from_records INTEGER NOT NULL DEFAULT 0"); !r) return r;
  }
  // Time-driven events (storage/time_index.hpp): every family held before the index existed is
  // looked at once, at the first run of the due events.
  auto indexed = sql::exists(db, "SELECT 1 FROM meta WHERE key = ?", "due_index");
  if (!indexed) return indexed.error();
  if (!*indexed) {
    if (auto r = db.exec("INSERT OR IGNORE INTO due_families(family, next_due) SELECT DISTINCT family, 0 FROM ops;"
                         "INSERT INTO meta(key, value) VALUES('due_index', '1');");
        !r)
      return r;
  }
  // Held ops carry the decision taken on them (usecases/held.hpp); the op itself is kept.
  auto has_decision = sql::exists(db, "SELECT 1 FROM pragma_table_info('held_ops') WHERE name = ?", "decision");
  if (!has_decision) return has_decision.error();
  if (!*has_decision) {
    if (auto r = db.exec("ALTER TABLE held_ops ADD COLUMN decision TEXT; ALTER TABLE held_ops ADD COLUMN decided_at INTEGER; "
                         "ALTER TABLE held_ops ADD COLUMN decided_by TEXT; ALTER TABLE held_ops ADD COLUMN decision_note TEXT; "
                         "ALTER TABLE held_ops ADD COLUMN decision_ops TEXT;");
        !r)
      return r;
  }
  // Remote wipe and the key lease (N5): devices enrolled before them have none of either.
  auto has_wipe = sql::exists(db, "SELECT 1 FROM pragma_table_info('devices') WHERE name = ?", "wipe_requested_at");
  if (!has_wipe) return has_wipe.error();
  if (!*has_wipe) {
    if (auto r = db.exec("ALTER TABLE devices ADD COLUMN wipe_requested_at INTEGER NOT NULL DEFAULT 0;"
                         "ALTER TABLE devices ADD COLUMN wipe_discard INTEGER NOT NULL DEFAULT 0;"
                         "ALTER TABLE devices ADD COLUMN wipe_acknowledged_at INTEGER NOT NULL DEFAULT 0;"
                         "ALTER TABLE devices ADD COLUMN wipe_unsynced_lost INTEGER NOT NULL DEFAULT 0;"
                         "ALTER TABLE devices ADD COLUMN wipe_quarantined_lost INTEGER NOT NULL DEFAULT 0;"
                         "ALTER TABLE devices ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;");
        !r)
      return r;
  }
  // The views a device's pushes delivered (audit of T2/T3 views): a retried push records none twice.
  auto has_views = sql::exists(db, "SELECT 1 FROM pragma_table_info('devices') WHERE name = ?", "views_through");
  if (!has_views) return has_views.error();
  if (!*has_views)
    if (auto r = db.exec("ALTER TABLE devices ADD COLUMN views_through INTEGER NOT NULL DEFAULT 0;"); !r) return r;
  // The server's own op counters start above anything they ever issued: "server" for restamps,
  // "hearth-server" for the ops it writes as the office's authority device.
  return db.exec(
      "INSERT OR IGNORE INTO counters(name, value) SELECT 'server', max("
      "coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'server_counter'), 0), "
      "coalesce((SELECT max(counter) FROM ops WHERE device = 'server'), 0));"
      "DELETE FROM meta WHERE key = 'server_counter';"
      "INSERT OR IGNORE INTO counters(name, value) "
      "SELECT 'hearth-server', coalesce(max(counter), 0) FROM ops WHERE device = 'hearth-server';");
}

// Encryption at rest (keys/keyring.hpp). meta 'at_rest' records how the database's personal
// columns are written: 'sealed' or 'plain'. A new database takes the keyring's mode; a plain
// one opened with encryption on is sealed in place, every row in this one transaction, and
// `vacuum` asks the caller to rewrite the file without the freed plaintext pages.
Result<void> seal_at_rest(Connection& db, ServerKeys& keys, const std::function<Result<void>()>& drop_erased,
                          bool& vacuum) {
  auto st = db.prepare("SELECT value FROM meta WHERE key = 'at_rest'");
  if (!st) return st.error();
  auto stored = st->step();
  if (!stored) return stored.error();
  std::string mode = *stored ? st->text(0) : "";
  st->reset();
  const std::string wanted = keys.enabled() ? "sealed" : "plain";
  if (mode == "sealed" && keys.enabled()) {
    // The keyring must be the one the data was sealed under: a keyring made afresh (its file
    // lost) or another server's holds none of these keys, and new work sealed under its keys
    // would be lost once the right keyring is back.
    auto id = db.prepare("SELECT value FROM meta WHERE key = 'keyring_id'");
    if (!id) return id.error();
    auto found = id->step();
    if (!found) return found.error();
    std::string sealed_under = *found ? id->text(0) : "";
    id->reset();
    if (sealed_under.empty())  // sealed before keyrings had an identity: this one is adopted
      return sql::run(db, "INSERT INTO meta(key, value) VALUES('keyring_id', ?)", {keys.id()});
    if (sealed_under != keys.id())
      return make_error(ErrorCode::locked,
                        "this database was sealed under the keyring " + sealed_under + ", and the keyring given is " +
                            keys.id() + " (made afresh, or another server's): it holds none of this database's keys. "
                            "Put back the keyring that goes with this database (its file, or its backup), or restore "
                            "a backup of this server (docs/server-encryption.md, \"Key ceremony\")");
    return {};
  }
  if (mode == wanted) return {};
  if (mode == "sealed")
    return make_error(ErrorCode::locked, "this database is encrypted at rest: hearth-server needs its key-encryption key "
                                         "(KEK) to open it (docs/server-encryption.md)");
  if (mode == "plain" || mode.empty()) {
    if (keys.enabled()) {
      // Rows of families erased meanwhile (a plain backup restored) cannot be sealed: they go.
      if (auto r = drop_erased(); !r) return r;
      // The current records are derived from the op log: dropped here and rebuilt sealed at the
      // next open of the service (usecases/current_records.hpp).
      if (auto r = db.exec("DELETE FROM records; DELETE FROM record_persons; DELETE FROM meta WHERE key = 'records_built';");
          !r)
        return r;
      vacuum = true;
      // Every personal column under its family's key (practitioners' names under the
      // directory's), in batches read whole before they are rewritten.
      struct Column {
        const char* select;  // ?1: the last key of the previous batch; the key is column 0
        const char* update;  // ?1: the sealed value, ?2: the key
        bool text_key;       // the key is a text id (practitioners), else the rowid
        std::function<std::string(Statement&)> family, aad;
      };
      const std::vector<Column> columns = {
          {"SELECT rowid, body, family, device, counter FROM ops WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE ops SET body = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sql::op_aad(r.text(2), r.text(3), static_cast<uint64_t>(r.integer(4))); }},
          {"SELECT id, display_name, id FROM practitioners WHERE id > ?1 ORDER BY id LIMIT 256",
           "UPDATE practitioners SET display_name = ?1 WHERE id = ?2", true,
           [](Statement&) { return std::string(kDirectoryPartition); },
           [](Statement& r) { return sql::practitioner_aad(r.text(2)); }},
          {"SELECT rowid, detail, family, kind, op_id FROM flags WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE flags SET detail = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sql::flag_aad(r.text(3), r.text(4)); }},
          {"SELECT rowid, reason, family, op_id FROM held_ops WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE held_ops SET reason = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sql::held_aad(r.text(3), "reason"); }},
          {"SELECT rowid, body, family, op_id FROM held_ops WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE held_ops SET body = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sql::held_aad(r.text(3), "body"); }},
          {"SELECT rowid, decision_note, family, op_id FROM held_ops WHERE decision_note IS NOT NULL AND rowid > ?1 "
           "ORDER BY rowid LIMIT 256",
           "UPDATE held_ops SET decision_note = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sql::held_aad(r.text(3), "decision_note"); }},
          {"SELECT rowid, payload, family, key FROM office_outbox WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE office_outbox SET payload = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sql::outbox_aad(r.text(3)); }},
          {"SELECT rowid, office_ref, family, record FROM office_refs WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE office_refs SET office_ref = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sql::office_ref_aad(r.text(3)); }},
      };
      struct Row {
        std::string text_key;
        int64_t int_key = 0;
        bool text = false;
        std::string family, value, aad;
      };
      for (const auto& c : columns) {
        auto read = db.prepare(c.select);
        if (!read) return read.error();
        auto write = db.prepare(c.update);
        if (!write) return write.error();
        Row last;
        last.text = c.text_key;
        for (;;) {  // bounded: each batch moves the key forward, or ends the loop
          std::vector<Row> batch;
          if (last.text) read->bind(1, last.text_key);
          else read->bind(1, last.int_key);
          auto done = read->each([&](Statement& r) {
            Row row;
            row.text = c.text_key;
            if (row.text) row.text_key = r.text(0);
            else row.int_key = r.integer(0);
            row.family = c.family(r);
            row.value = r.blob(1);
            row.aad = c.aad(r);
            batch.push_back(std::move(row));
          });
          read->reset();
          if (!done) return done.error();
          for (const auto& row : batch) {
            auto sealed = keys.seal(row.family, row.value, row.aad);
            if (!sealed) return make_error(sealed.error().code, row.aad + ": " + sealed.error().message);
            write->bind_blob(1, *sealed);
            if (row.text) write->bind(2, row.text_key);
            else write->bind(2, row.int_key);
            if (auto w = write->run(); !w) return w.error();
            vacuum = true;
          }
          if (batch.size() < 256) break;
          last = batch.back();
        }
      }
      // The freed plaintext pages go with a VACUUM after this transaction; remembered, so a
      // stop before it does not leave them for good.
      if (vacuum)
        if (auto r = sql::run(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('vacuum_pending', ?)", {"1"}); !r)
          return r;
    }
  }
  if (keys.enabled())
    if (auto r = sql::run(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('keyring_id', ?)", {keys.id()}); !r)
      return r;
  return sql::run(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('at_rest', ?)", {wanted});
}

// Creates or upgrades the schema, brings the at-rest mode in line with the keyring, and opens
// the audit trail: everything opening a SQLite database does before it is used.
Result<void> init(sql::SqlStorage& storage, audit::AuditKey audit_key) {
  Connection& db = storage.database();
  if (auto r = db.exec(sql::kServerSchema); !r) return r;
  if (auto r = db.exec(sql::kOutboxSchema); !r) return r;
  if (auto r = sql::create_duplicate_tables(db); !r) return r;
  auto upgraded = storage.transaction([&]() -> Result<void> {
    if (auto r = upgrade(db); !r) return r;
    // A database with no ops has every record it will ever have built as ops arrive.
    if (auto r = db.exec("INSERT OR IGNORE INTO meta(key, value) SELECT 'records_built', '1' "
                         "WHERE NOT EXISTS (SELECT 1 FROM ops)");
        !r)
      return r;
    auto epoch = storage.ops().history_epoch();  // made once, when the database is created
    if (!epoch) return epoch.error();
    return {};
  });
  if (!upgraded) return upgraded;
  bool vacuum = false;
  auto drop_erased = [&]() -> Result<void> {
    auto erased = storage.keys().erasures();
    if (!erased) return erased.error();
    for (const auto& e : *erased)
      if (auto r = storage.delete_family(e.family); !r) return r.error();
    return {};
  };
  if (auto r = storage.transaction([&]() -> Result<void> { return seal_at_rest(db, storage.keys(), drop_erased, vacuum); });
      !r)
    return r;
  // Pages that held the plaintext are free now; VACUUM rewrites the file without them, and
  // the checkpoint empties the WAL of the old images.
  auto pending = sql::exists(db, "SELECT 1 FROM meta WHERE key = ?", "vacuum_pending");
  if (!pending) return pending.error();
  if (vacuum || *pending)
    if (auto r = db.exec("VACUUM; PRAGMA wal_checkpoint(TRUNCATE); DELETE FROM meta WHERE key = 'vacuum_pending';"); !r)
      return r;
  return storage.open_audit(std::move(audit_key));
}

}  // namespace

Result<std::unique_ptr<Storage>> open_sqlite_storage(const std::string& path, audit::AuditKey audit_key,
                                                     std::shared_ptr<ServerKeys> keys) {
  if (!keys) {
    auto throwaway = SqliteKeyring::open(":memory:", nullptr);
    if (!throwaway) return throwaway.error();
    keys = std::move(*throwaway);
  }
  auto db = sql::open_sqlite(path);
  if (!db) return db.error();
  auto storage = std::make_unique<sql::SqlStorage>(std::move(db.value()), std::move(keys));
  if (auto r = init(*storage, std::move(audit_key)); !r) return r.error();
  return std::unique_ptr<Storage>(std::move(storage));
}

Result<RestoringStorage> open_sqlite_storage_for_restore(const std::string& path, audit::AuditKey audit_key,
                                                         std::shared_ptr<ServerKeys> keys) {
  if (!keys) return make_error(ErrorCode::invalid_argument, "a restore needs the server's keyring");
  auto db = sql::open_sqlite(path);
  if (!db) return db.error();
  auto storage = std::make_unique<sql::SqlStorage>(std::move(db.value()), std::move(keys));
  if (auto r = init(*storage, std::move(audit_key)); !r) return r.error();
  Connection* connection = &storage->database();
  return RestoringStorage{std::move(storage), connection};
}

}  // namespace hearth::server
