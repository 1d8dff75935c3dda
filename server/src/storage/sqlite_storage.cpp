// The default storage: one SQLite database (one connection) implementing every storage
// interface. The schema and its upgrades from earlier layouts are here; each interface's
// queries are in its own sqlite_*.cpp.
#include "sqlite_audit_log.hpp"
#include "sqlite_parts.hpp"
#include "sqlite_util.hpp"
#include "storage.hpp"

namespace hearth::server {

namespace {

using platform::Database;
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
  expires_at INTEGER NOT NULL, last_pull_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS office_credentials(name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,
  issued_at INTEGER NOT NULL, revoked_at INTEGER) WITHOUT ROWID;
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

class SqliteStorage final : public Storage {
 public:
  explicit SqliteStorage(std::unique_ptr<Database> db)
      : db_(std::move(db)), ops_(*db_), caseload_(*db_), devices_(*db_), flags_(*db_), settings_(*db_), due_(*db_),
        office_(*db_) {}

  Result<void> init(audit::AuditKey audit_key, FamilySealer* sealer) {
    if (auto r = db_->exec(kSchema); !r) return r;
    auto trail = sqlite::make_sqlite_audit_log(*db_, std::move(audit_key), sealer);
    if (!trail) return trail.error();
    audit_ = std::move(*trail);
    return transaction([&]() -> Result<void> {
      if (auto r = upgrade(*db_); !r) return r;
      auto epoch = ops_.history_epoch();  // made once, when the database is created
      if (!epoch) return epoch.error();
      return {};
    });
  }

  OpLog& ops() override { return ops_; }
  Caseload& caseload() override { return caseload_; }
  Devices& devices() override { return devices_; }
  AuditLog& audit() override { return *audit_; }
  FlagLog& flags() override { return flags_; }
  TenantSettings& settings() override { return settings_; }
  TimeIndex& due() override { return due_; }
  OfficeCredentials& office() override { return office_; }

  Result<void> transaction(const std::function<Result<void>()>& body) override {
    Transaction tx(*db_);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = body(); !r) return r;
    return tx.commit();
  }

 private:
  std::unique_ptr<Database> db_;
  sqlite::SqliteOpLog ops_;
  sqlite::SqliteCaseload caseload_;
  sqlite::SqliteDevices devices_;
  sqlite::SqliteFlagLog flags_;
  sqlite::SqliteTenantSettings settings_;
  sqlite::SqliteTimeIndex due_;
  sqlite::SqliteOfficeCredentials office_;
  std::unique_ptr<AuditLog> audit_;  // on db_, declared after it: destroyed first
};

}  // namespace

Result<std::unique_ptr<Storage>> open_sqlite_storage(const std::string& path, audit::AuditKey audit_key,
                                                     FamilySealer* sealer) {
  auto db = Database::open(path);
  if (!db) return db.error();
  auto storage = std::make_unique<SqliteStorage>(std::move(db.value()));
  if (auto r = storage->init(std::move(audit_key), sealer); !r) return r.error();
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace hearth::server
