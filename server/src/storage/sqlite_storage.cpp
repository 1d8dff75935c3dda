// The default storage: one SQLite database (one connection) implementing every storage
// interface. The schema and its upgrades from earlier layouts are here; each interface's
// queries are in its own sqlite_*.cpp.
#include "sqlite_audit_log.hpp"
#include "sqlite_duplicates.hpp"
#include "sqlite_parts.hpp"
#include "sqlite_util.hpp"
#include "sqlite_restore.hpp"
#include "storage.hpp"

#include <functional>
#include <optional>

namespace hearth::server {

namespace {

using platform::Database;
using platform::Statement;
using platform::Transaction;

const char* kSchema = R"SQL(
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

// Earlier layouts: `teams` without history, devices without last_pull_at, the server counter
// in meta. Run once per open, inside a transaction; each step is a no-op when already done.
Result<void> upgrade(Database& db) {
  auto has_teams = sqlite::exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", "teams");
  if (!has_teams) return has_teams.error();
  if (*has_teams) {
    if (auto r = db.exec("INSERT INTO memberships(family, practitioner, lead, joined_at) "
                         "SELECT family, practitioner, lead, 0 FROM teams; DROP TABLE teams;");
        !r)
      return r;
  }
  auto has_pull = sqlite::exists(db, "SELECT 1 FROM pragma_table_info('devices') WHERE name = ?", "last_pull_at");
  if (!has_pull) return has_pull.error();
  if (!*has_pull) {
    if (auto r = db.exec("ALTER TABLE devices ADD COLUMN last_pull_at INTEGER NOT NULL DEFAULT 0"); !r) return r;
  }
  // Memberships derived from the family's records are told apart from those made directly.
  auto has_origin = sqlite::exists(db, "SELECT 1 FROM pragma_table_info('memberships') WHERE name = ?", "from_records");
  if (!has_origin) return has_origin.error();
  if (!*has_origin) {
    if (auto r = db.exec("ALTER TABLE memberships ADD COLUMN from_records INTEGER NOT NULL DEFAULT 0"); !r) return r;
  }
  // Time-driven events (storage/time_index.hpp): every family held before the index existed is
  // looked at once, at the first run of the due events.
  auto indexed = sqlite::exists(db, "SELECT 1 FROM meta WHERE key = ?", "due_index");
  if (!indexed) return indexed.error();
  if (!*indexed) {
    if (auto r = db.exec("INSERT OR IGNORE INTO due_families(family, next_due) SELECT DISTINCT family, 0 FROM ops;"
                         "INSERT INTO meta(key, value) VALUES('due_index', '1');");
        !r)
      return r;
  }
  // Held ops carry the decision taken on them (usecases/held.hpp); the op itself is kept.
  auto has_decision = sqlite::exists(db, "SELECT 1 FROM pragma_table_info('held_ops') WHERE name = ?", "decision");
  if (!has_decision) return has_decision.error();
  if (!*has_decision) {
    if (auto r = db.exec("ALTER TABLE held_ops ADD COLUMN decision TEXT; ALTER TABLE held_ops ADD COLUMN decided_at INTEGER; "
                         "ALTER TABLE held_ops ADD COLUMN decided_by TEXT; ALTER TABLE held_ops ADD COLUMN decision_note TEXT; "
                         "ALTER TABLE held_ops ADD COLUMN decision_ops TEXT;");
        !r)
      return r;
  }
  // Remote wipe and the key lease (N5): devices enrolled before them have none of either.
  auto has_wipe = sqlite::exists(db, "SELECT 1 FROM pragma_table_info('devices') WHERE name = ?", "wipe_requested_at");
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
  auto has_views = sqlite::exists(db, "SELECT 1 FROM pragma_table_info('devices') WHERE name = ?", "views_through");
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
Result<void> seal_at_rest(Database& db, ServerKeys& keys, const std::function<Result<void>()>& drop_erased,
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
      return sqlite::run(db, "INSERT INTO meta(key, value) VALUES('keyring_id', ?)", {keys.id()});
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
           [](Statement& r) { return sqlite::op_aad(r.text(2), r.text(3), static_cast<uint64_t>(r.integer(4))); }},
          {"SELECT id, display_name, id FROM practitioners WHERE id > ?1 ORDER BY id LIMIT 256",
           "UPDATE practitioners SET display_name = ?1 WHERE id = ?2", true,
           [](Statement&) { return std::string(kDirectoryPartition); },
           [](Statement& r) { return sqlite::practitioner_aad(r.text(2)); }},
          {"SELECT rowid, detail, family, kind, op_id FROM flags WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE flags SET detail = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sqlite::flag_aad(r.text(3), r.text(4)); }},
          {"SELECT rowid, reason, family, op_id FROM held_ops WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE held_ops SET reason = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sqlite::held_aad(r.text(3), "reason"); }},
          {"SELECT rowid, body, family, op_id FROM held_ops WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE held_ops SET body = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sqlite::held_aad(r.text(3), "body"); }},
          {"SELECT rowid, decision_note, family, op_id FROM held_ops WHERE decision_note IS NOT NULL AND rowid > ?1 "
           "ORDER BY rowid LIMIT 256",
           "UPDATE held_ops SET decision_note = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sqlite::held_aad(r.text(3), "decision_note"); }},
          {"SELECT rowid, payload, family, key FROM office_outbox WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE office_outbox SET payload = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sqlite::outbox_aad(r.text(3)); }},
          {"SELECT rowid, office_ref, family, record FROM office_refs WHERE rowid > ?1 ORDER BY rowid LIMIT 256",
           "UPDATE office_refs SET office_ref = ?1 WHERE rowid = ?2", false, [](Statement& r) { return r.text(2); },
           [](Statement& r) { return sqlite::office_ref_aad(r.text(3)); }},
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
        if (auto r = sqlite::run(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('vacuum_pending', ?)", {"1"}); !r)
          return r;
    }
  }
  if (keys.enabled())
    if (auto r = sqlite::run(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('keyring_id', ?)", {keys.id()}); !r)
      return r;
  return sqlite::run(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('at_rest', ?)", {wanted});
}

class SqliteStorage final : public Storage {
 public:
  SqliteStorage(std::unique_ptr<Database> db, std::shared_ptr<ServerKeys> keys)
      : db_(std::move(db)), keys_(std::move(keys)), ops_(*db_, *keys_), caseload_(*db_, *keys_), devices_(*db_),
        flags_(*db_, *keys_), settings_(*db_), due_(*db_), office_(*db_), records_(*db_, *keys_),
        outbox_(*db_, *keys_),
        duplicates_(*db_, *keys_) {}

  Result<void> init(audit::AuditKey audit_key) {
    if (auto r = db_->exec(kSchema); !r) return r;
    if (auto r = db_->exec(sqlite::kOutboxSchema); !r) return r;
    if (auto r = sqlite::create_duplicate_tables(*db_); !r) return r;
    auto upgraded = transaction([&]() -> Result<void> {
      if (auto r = upgrade(*db_); !r) return r;
      // A database with no ops has every record it will ever have built as ops arrive.
      if (auto r = db_->exec("INSERT OR IGNORE INTO meta(key, value) SELECT 'records_built', '1' "
                             "WHERE NOT EXISTS (SELECT 1 FROM ops)");
          !r)
        return r;
      auto epoch = ops_.history_epoch();  // made once, when the database is created
      if (!epoch) return epoch.error();
      return {};
    });
    if (!upgraded) return upgraded;
    bool vacuum = false;
    auto drop_erased = [&]() -> Result<void> {
      auto erased = keys_->erasures();
      if (!erased) return erased.error();
      for (const auto& e : *erased)
        if (auto r = delete_family(e.family); !r) return r.error();
      return {};
    };
    if (auto r = transaction([&]() -> Result<void> { return seal_at_rest(*db_, *keys_, drop_erased, vacuum); }); !r)
      return r;
    // Pages that held the plaintext are free now; VACUUM rewrites the file without them, and
    // the checkpoint empties the WAL of the old images.
    auto pending = sqlite::exists(*db_, "SELECT 1 FROM meta WHERE key = ?", "vacuum_pending");
    if (!pending) return pending.error();
    if (vacuum || *pending)
      if (auto r = db_->exec("VACUUM; PRAGMA wal_checkpoint(TRUNCATE); DELETE FROM meta WHERE key = 'vacuum_pending';");
          !r)
        return r;
    // Family audit details are sealed under the family's key too (audit/audit_chain.hpp).
    auto trail = sqlite::make_sqlite_audit_log(*db_, std::move(audit_key), keys_.get());
    if (!trail) return trail.error();
    audit_ = std::move(*trail);
    return {};
  }

  Result<bool> delete_family(const std::string& family) override {
    bool any = false;
    // What each device had stored in the family stays counted (OpLog::highest_counter).
    if (auto r = sqlite::run(*db_,
                             "INSERT INTO erased_counters(device, counter) SELECT device, max(counter) FROM ops "
                             "WHERE family = ? GROUP BY device ON CONFLICT(device) DO UPDATE SET "
                             "counter = max(counter, excluded.counter)",
                             {family});
        !r)
      return r.error();
    if (auto r = sqlite::run(*db_,
                             "INSERT INTO erased_counters(device, counter) SELECT device, "
                             "max(CAST(substr(op_id, length(device) + 2) AS INTEGER)) FROM held_ops WHERE family = ? "
                             "GROUP BY device ON CONFLICT(device) DO UPDATE SET counter = max(counter, excluded.counter)",
                             {family});
        !r)
      return r.error();
    for (const char* sql : {"DELETE FROM ops WHERE family = ?", "DELETE FROM held_ops WHERE family = ?",
                            "DELETE FROM flags WHERE family = ?", "DELETE FROM memberships WHERE family = ?",
                            "DELETE FROM due_families WHERE family = ?", "DELETE FROM break_glass_grants WHERE family = ?",
                            "DELETE FROM records WHERE family = ?", "DELETE FROM record_persons WHERE family = ?",
                            "DELETE FROM office_outbox WHERE family = ?", "DELETE FROM office_refs WHERE family = ?",
                            "DELETE FROM office_disclosures WHERE family = ?", "DELETE FROM office_inbound WHERE family = ?",
                            sqlite::kDeleteFamilyDuplicates[0], sqlite::kDeleteFamilyDuplicates[1],
                            sqlite::kDeleteFamilyDuplicates[2], sqlite::kDeleteFamilyDuplicates[3]}) {
      auto st = db_->prepare(std::string(sql) + " RETURNING 1");
      if (!st) return st.error();
      st->bind(1, family);
      for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        any = true;
      }
    }
    return any;
  }

  OpLog& ops() override { return ops_; }
  Caseload& caseload() override { return caseload_; }
  Devices& devices() override { return devices_; }
  AuditLog& audit() override { return *audit_; }
  FlagLog& flags() override { return flags_; }
  TenantSettings& settings() override { return settings_; }
  TimeIndex& due() override { return due_; }
  OfficeCredentials& office() override { return office_; }
  OfficeOutbox& outbox() override { return outbox_; }
  ServerKeys& keys() override { return *keys_; }
  RecordStore& records() override { return records_; }
  DuplicateStore& duplicates() override { return duplicates_; }
  Database& database() { return *db_; }

  Result<void> transaction(const std::function<Result<void>()>& body) override {
    Transaction tx(*db_);
    if (auto r = tx.begin(); !r) return r;
    transaction_id_ = ++transactions_;
    before_commit_.clear();
    after_rollback_.clear();
    struct Ended {  // outside a transaction again, however this one ends
      SqliteStorage& s;
      bool committed = false;
      ~Ended() {
        s.transaction_id_ = 0;
        s.before_commit_.clear();
        auto rollback = std::move(s.after_rollback_);
        s.after_rollback_.clear();
        if (!committed)
          for (auto& step : rollback) step();
      }
    } ended{*this};
    // Keys made for new families during `body` are stored in one keyring transaction, committed
    // (durably) before this one: never a value on disk under a key that is not.
    keys_->defer_key_commits();
    auto done = body();
    for (size_t i = 0; done && i < before_commit_.size(); ++i) {
      auto step = std::move(before_commit_[i]);  // a step may register more (the vector may grow)
      done = step();
    }
    auto keys_stored = keys_->commit_deferred_keys();
    if (!done) return done;
    if (!keys_stored) return keys_stored;
    auto committed = tx.commit();
    ended.committed = committed.ok();
    return committed;
  }
  // BEGIN IMMEDIATE (platform::Transaction) lets one writer in at a time; the others wait
  // (busy_timeout, platform/sqlite_db.cpp), so a family needs no lock of its own.
  Result<void> lock_family(const std::string&) override { return {}; }
  uint64_t transaction_id() const override { return transaction_id_; }
  void before_commit(std::function<Result<void>()> step) override { before_commit_.push_back(std::move(step)); }
  void after_rollback(std::function<void()> step) override { after_rollback_.push_back(std::move(step)); }

 private:
  std::unique_ptr<Database> db_;
  std::shared_ptr<ServerKeys> keys_;
  sqlite::SqliteOpLog ops_;
  sqlite::SqliteCaseload caseload_;
  sqlite::SqliteDevices devices_;
  sqlite::SqliteFlagLog flags_;
  sqlite::SqliteTenantSettings settings_;
  sqlite::SqliteTimeIndex due_;
  sqlite::SqliteOfficeCredentials office_;
  sqlite::SqliteRecords records_;
  sqlite::SqliteOfficeOutbox outbox_;
  sqlite::SqliteDuplicateStore duplicates_;
  std::unique_ptr<AuditLog> audit_;  // on db_, declared after it: destroyed first
  uint64_t transactions_ = 0;    // transactions begun
  uint64_t transaction_id_ = 0;  // the current one's number, 0 outside one
  std::vector<std::function<Result<void>()>> before_commit_;
  std::vector<std::function<void()>> after_rollback_;
};

}  // namespace

Result<std::unique_ptr<Storage>> open_sqlite_storage(const std::string& path, audit::AuditKey audit_key,
                                                     std::shared_ptr<ServerKeys> keys) {
  if (!keys) {
    auto throwaway = SqliteKeyring::open(":memory:", nullptr);
    if (!throwaway) return throwaway.error();
    keys = std::move(*throwaway);
  }
  auto db = Database::open(path);
  if (!db) return db.error();
  auto storage = std::make_unique<SqliteStorage>(std::move(db.value()), std::move(keys));
  if (auto r = storage->init(std::move(audit_key)); !r) return r.error();
  return std::unique_ptr<Storage>(std::move(storage));
}

Result<RestoringStorage> open_sqlite_storage_for_restore(const std::string& path, audit::AuditKey audit_key,
                                                         std::shared_ptr<ServerKeys> keys) {
  if (!keys) return make_error(ErrorCode::invalid_argument, "a restore needs the server's keyring");
  auto db = Database::open(path);
  if (!db) return db.error();
  auto storage = std::make_unique<SqliteStorage>(std::move(db.value()), std::move(keys));
  if (auto r = storage->init(std::move(audit_key)); !r) return r.error();
  Database* connection = &storage->database();
  return RestoringStorage{std::move(storage), connection};
}

}  // namespace hearth::server
