#include "hearth/platform/sqlite_db.hpp"

#include <sqlite3.h>

namespace hearth::platform {

namespace {
Error storage_error(sqlite3* db, const std::string& what) {
  return make_error(ErrorCode::storage, what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}
}  // namespace

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int i, std::string_view text) {
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_blob(int i, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = storage_error(db_, "sqlite step");
  sqlite3_reset(stmt_);
  return e;
}

Result<void> Statement::run() {
  auto r = step();
  reset();
  if (!r) return r.error();
  return {};
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}
std::string Statement::blob(int col) const {
  auto p = sqlite3_column_blob(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}
int64_t Statement::integer(int col) const { return sqlite3_column_int64(stmt_, col); }
bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = storage_error(db, "cannot open store database '" + path + "'");
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  cache_.clear();  // finalize before closing
  sqlite3_close(db_);
}

Result<Statement*> Database::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->reset();
    return it->second.get();
  }
  auto st = prepare(sql);
  if (!st) return st.error();
  auto owned = std::make_unique<Statement>(std::move(st.value()));
  Statement* raw = owned.get();
  cache_.emplace(sql, std::move(owned));
  return raw;
}

Result<void> Database::exec(const std::string& sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return make_error(ErrorCode::storage, "sqlite: " + m);
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return storage_error(db_, "sqlite prepare");
  return Statement(db_, stmt);
}

std::string Database::last_error() const { return sqlite3_errmsg(db_); }

Result<int64_t> Database::backup_to(const std::string& dest_path, int pages_per_step) {
  if (pages_per_step <= 0) return make_error(ErrorCode::invalid_argument, "backup: pages per step must be positive");
  sqlite3* dest = nullptr;
  int rc = sqlite3_open_v2(dest_path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Error e = storage_error(dest, "backup: cannot open the destination '" + dest_path + "'");
    sqlite3_close(dest);
    return e;
  }
  sqlite3_busy_timeout(dest, 5000);
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", db_, "main");
  if (!backup) {
    Error e = storage_error(dest, "backup: cannot start copying into '" + dest_path + "'");
    sqlite3_close(dest);
    return e;
  }
  // Bounded: each step copies pages_per_step pages or waits out a busy source; a database
  // that stays busy or locked for this many steps in a row is reported, not waited on for ever.
  int busy_steps = 0;
  do {
    rc = sqlite3_backup_step(backup, pages_per_step);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (++busy_steps > 200) break;
      sqlite3_sleep(25);
    } else {
      busy_steps = 0;
    }
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  int64_t pages = sqlite3_backup_pagecount(backup);
  sqlite3_backup_finish(backup);
  Result<int64_t> out = pages;
  if (rc != SQLITE_DONE)
    out = make_error(ErrorCode::storage, "backup into '" + dest_path + "' stopped: " + sqlite3_errstr(rc) +
                                             (rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? " (the database stayed busy)" : ""));
  sqlite3_close(dest);
  return out;
}

Result<void> Transaction::begin() {
  auto r = db_.exec("BEGIN IMMEDIATE");
  open_ = r.ok();
  return r;
}

Result<void> Transaction::commit() {
  auto r = db_.exec("COMMIT");
  if (r) open_ = false;
  return r;
}

Transaction::~Transaction() {
  if (open_) (void)db_.exec("ROLLBACK");
}

}  // namespace hearth::platform
