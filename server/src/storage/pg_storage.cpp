// PostgreSQL, the scale-out store: several hearth-server processes share one database and take
// their sequence numbers from it (ARCHITECTURE.md). The schema is the SQLite one translated
// (sql/dialect.hpp), brought up by numbered migrations that run once, under a lock, whichever
// server starts first; the queries are the shared ones in sql_*.cpp.
#include "hearth/platform/encoding.hpp"
#include "sql/dialect.hpp"
#include "sql_storage.hpp"
#include "sql_util.hpp"
#include "storage.hpp"

namespace hearth::server {

namespace {

using sql::Connection;
using sql::Dialect;

// Held while migrations run, so two servers starting together never migrate at once
// (a session-level advisory lock; any constant no other program uses). The keyring takes the
// same lock to make its tables (keys/keyring.cpp).
constexpr int64_t kMigrationLock = 0x4845415254480001;  // "HEARTH" 1

struct Migration {
  int64_t version;
  const char* description;
  Result<void> (*apply)(Connection& db);
};

// Version 1: the whole schema as the SQLite store has it today, in one step.
Result<void> schema_v1(Connection& db) {
  for (const char* ddl : {sql::kServerSchema, sql::kOutboxSchema})
    if (auto r = db.exec(sql::schema_for(Dialect::postgres, ddl)); !r) return r;
  if (auto r = sql::create_duplicate_tables(db); !r) return r;
  // Columns SQLite's store gained by upgrades after kServerSchema was first written.
  return db.exec(
      "ALTER TABLE held_ops ADD COLUMN IF NOT EXISTS decision TEXT, ADD COLUMN IF NOT EXISTS decided_at BIGINT, "
      "ADD COLUMN IF NOT EXISTS decided_by TEXT, ADD COLUMN IF NOT EXISTS decision_note BYTEA, "
      "ADD COLUMN IF NOT EXISTS decision_ops TEXT;"
      "INSERT INTO counters(name, value) VALUES('server', 0), ('hearth-server', 0) ON CONFLICT DO NOTHING;"
      "INSERT INTO meta(key, value) VALUES('due_index', '1') ON CONFLICT DO NOTHING;");
}

// Every migration, in order. A new one is appended here with the next version; one that ran is
// never changed (a database records the versions it has).
const Migration kMigrations[] = {
    {1, "the server schema (ops, caseload, devices, flags, held ops, time index, office, records, duplicates)",
     schema_v1},
};

// Runs `body` holding the migration lock (a session-level advisory lock): servers starting
// together make and check the schema one at a time.
template <typename F>
Result<void> one_at_a_time(Connection& db, F body) {
  auto locked = db.prepare("SELECT pg_advisory_lock(?)");
  if (!locked) return locked.error();
  if (auto r = locked->bind(1, kMigrationLock).run(); !r) return r;
  Result<void> out = body();
  auto unlocked = db.prepare("SELECT pg_advisory_unlock(?)");
  if (unlocked) (void)unlocked->bind(1, kMigrationLock).run();
  return out;
}

Result<void> migrate(Connection& db) {
  auto run_all = [&]() -> Result<void> {
    if (auto r = db.exec("CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, "
                         "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
        !r)
      return r;
    auto st = db.prepare("SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (!st) return st.error();
    auto have = sql::integer(*st, 0);
    if (!have) return have.error();
    const int64_t newest = kMigrations[std::size(kMigrations) - 1].version;
    if (*have > newest)
      return make_error(ErrorCode::storage, db.describe() + " has schema version " + std::to_string(*have) +
                                                ", newer than this hearth-server knows (" + std::to_string(newest) +
                                                "): run the newer hearth-server, or restore the database it had");
    for (const auto& m : kMigrations) {
      if (m.version <= *have) continue;
      sql::Transaction tx(db);
      if (auto r = tx.begin(); !r) return r;
      if (auto r = m.apply(db); !r)
        return make_error(r.error().code, "schema migration " + std::to_string(m.version) + ": " + r.error().message);
      auto done = db.prepare("INSERT INTO schema_migrations(version, description) VALUES(?, ?)");
      if (!done) return done.error();
      if (auto r = done->bind(1, m.version).bind(2, m.description).run(); !r) return r;
      if (auto r = tx.commit(); !r) return r;
    }
    return {};
  };
  return run_all();
}

// The database's at-rest mode and the keyring it was sealed under (as the SQLite store's
// seal_at_rest, without sealing in place: a PostgreSQL store is made sealed or plain and stays so).
Result<void> check_at_rest(Connection& db, ServerKeys& keys) {
  auto read = [&](const char* key) -> Result<std::string> {
    auto st = db.prepare("SELECT value FROM meta WHERE key = ?");
    if (!st) return st.error();
    st->bind(1, key);
    auto row = st->step();
    if (!row) return row.error();
    return *row ? st->text(0) : std::string();
  };
  auto mode = read("at_rest");
  if (!mode) return mode.error();
  const std::string wanted = keys.enabled() ? "sealed" : "plain";
  if (mode->empty()) {
    if (auto r = sql::run(db, "INSERT INTO meta(key, value) VALUES('at_rest', ?)", {wanted}); !r) return r;
    if (keys.enabled())
      return sql::run(db, "INSERT INTO meta(key, value) VALUES('keyring_id', ?)", {keys.id()});
    return {};
  }
  if (*mode != wanted)
    return make_error(ErrorCode::locked,
                      *mode == "sealed"
                          ? db.describe() + " is encrypted at rest: hearth-server needs its key-encryption key (KEK) to "
                                            "open it (docs/server-encryption.md)"
                          : db.describe() + " was made with encryption at rest off, and a PostgreSQL store is not sealed "
                                            "in place: start it without a KEK, or begin a new database");
  if (!keys.enabled()) return {};
  auto sealed_under = read("keyring_id");
  if (!sealed_under) return sealed_under.error();
  if (*sealed_under != keys.id())
    return make_error(ErrorCode::locked, db.describe() + " was sealed under the keyring " + *sealed_under +
                                             ", and the keyring given is " + keys.id() +
                                             ": give the keyring that goes with this database (docs/server-encryption.md)");
  return {};
}

}  // namespace

Result<std::unique_ptr<Storage>> open_postgres_storage(const std::string& uri, audit::AuditKey audit_key,
                                                       std::shared_ptr<ServerKeys> keys) {
  if (!keys) {
    auto throwaway = SqlKeyring::open(":memory:", nullptr);
    if (!throwaway) return throwaway.error();
    keys = std::move(*throwaway);
  }
  auto db = sql::open_postgres(uri);
  if (!db) return db.error();
  auto storage = std::make_unique<sql::SqlStorage>(std::move(*db), std::move(keys));
  Connection& conn = storage->database();
  // The schema, the at-rest check and the audit trail's tables, one server at a time.
  auto ready = one_at_a_time(conn, [&]() -> Result<void> {
    if (auto r = migrate(conn); !r) return r;
    return storage->transaction([&]() -> Result<void> {
      if (auto r = check_at_rest(conn, storage->keys()); !r) return r;
      // A database with no ops has every record it will ever have built as ops arrive.
      if (auto r = conn.exec("INSERT INTO meta(key, value) SELECT 'records_built', '1' "
                             "WHERE NOT EXISTS (SELECT 1 FROM ops) ON CONFLICT DO NOTHING");
          !r)
        return r;
      auto epoch = storage->ops().history_epoch();  // made once, when the database is created
      if (!epoch) return epoch.error();
      return {};
    });
  });
  if (!ready) return ready.error();
  if (auto r = one_at_a_time(conn, [&] { return storage->open_audit(std::move(audit_key)); }); !r) return r.error();
  return std::unique_ptr<Storage>(std::move(storage));
}

Result<std::unique_ptr<Storage>> open_storage(const std::string& database, audit::AuditKey audit_key,
                                              std::shared_ptr<ServerKeys> keys) {
  if (sql::is_postgres_uri(database)) return open_postgres_storage(database, std::move(audit_key), std::move(keys));
  return open_sqlite_storage(database, std::move(audit_key), std::move(keys));
}

}  // namespace hearth::server
