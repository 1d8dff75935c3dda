#pragma once
// The SQL seam under the server's storage: one database connection, prepared statements and
// transactions, the same for embedded SQLite (the default, one server) and PostgreSQL (the
// scale-out store, several servers on one database; ARCHITECTURE.md). The storage code is
// written once against it; where the two dialects differ it asks dialect().
//
// Statements bind with SQLite's `?` placeholders (numbered from 1); the PostgreSQL connection
// rewrites them as $1, $2, ... Values are text, 64-bit integers, blobs (BYTEA) or NULL.
// Errors are ErrorCode::storage naming the database and what failed; never an exception.
// Thread-safety: confined to one thread at a time, like the connection it wraps.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "hearth/core/error.hpp"

namespace hearth::platform {
class Database;
}

namespace hearth::server::sql {

enum class Dialect { sqlite, postgres };

// What a connection's statement does; Statement below is the value callers hold.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void bind(int i, std::string_view text) = 0;
  virtual void bind_blob(int i, std::string_view bytes) = 0;
  virtual void bind(int i, int64_t v) = 0;
  virtual void bind_null(int i) = 0;
  virtual Result<bool> step() = 0;
  virtual void reset() = 0;  // back to before the first step, bindings cleared
  virtual std::string text(int col) const = 0;
  virtual std::string blob(int col) const = 0;
  virtual int64_t integer(int col) const = 0;
  virtual bool is_null(int col) const = 0;
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementImpl> impl) : impl_(std::move(impl)) {}

  Statement& bind(int i, std::string_view text) {
    impl_->bind(i, text);
    return *this;
  }
  Statement& bind_blob(int i, std::string_view bytes) {
    impl_->bind_blob(i, bytes);
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    impl_->bind(i, v);
    return *this;
  }
  Statement& bind_null(int i) {
    impl_->bind_null(i);
    return *this;
  }
  // true: a row is ready; false: done.
  Result<bool> step() { return impl_->step(); }
  // Steps to completion, then resets.
  Result<void> run() {
    auto r = step();
    reset();
    if (!r) return r.error();
    return {};
  }
  // Steps through every row, calling on_row(*this) for each; on_row may return a Result<void>
  // to stop with an error.
  template <typename F>
  Result<void> each(F on_row) {
    while (true) {
      auto row = step();
      if (!row) return row.error();
      if (!*row) return {};
      if constexpr (std::is_same_v<decltype(on_row(*this)), Result<void>>) {
        if (auto r = on_row(*this); !r) return r;
      } else {
        on_row(*this);
      }
    }
  }
  void reset() { impl_->reset(); }

  std::string text(int col) const { return impl_->text(col); }
  std::string blob(int col) const { return impl_->blob(col); }
  int64_t integer(int col) const { return impl_->integer(col); }
  bool is_null(int col) const { return impl_->is_null(col); }

 private:
  std::unique_ptr<StatementImpl> impl_;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one or more statements without arguments or rows.
  virtual Result<void> exec(const std::string& sql) = 0;
  virtual Result<Statement> prepare(std::string_view sql) = 0;
  // A statement prepared once and kept for the life of the connection, reset and ready.
  // Not re-entrant: finish with it before asking for the same SQL again. Keyed by the
  // literal's address: pass string literals only.
  virtual Result<Statement*> cached(const char* sql) = 0;
  // BEGIN (SQLite: BEGIN IMMEDIATE, so writers queue at the start), COMMIT, ROLLBACK.
  virtual Result<void> begin() = 0;
  virtual Result<void> commit() = 0;
  virtual Result<void> rollback() = 0;
  // Serialises writers of one family across every connection and server until this
  // transaction ends (PostgreSQL: a transaction-level advisory lock on the family's id).
  // SQLite: nothing to do, BEGIN IMMEDIATE already admits one writer at a time.
  virtual Result<void> lock_family(const std::string& family) = 0;
  // The SQLite database under this connection, for what only SQLite has (online backup,
  // PRAGMAs, in-place upgrades of old layouts); nullptr on PostgreSQL.
  virtual platform::Database* sqlite() { return nullptr; }
  // Where the connection goes, for messages: the SQLite path, or PostgreSQL's host, port and
  // database name (never a password).
  virtual std::string describe() const = 0;
};

// BEGIN ... COMMIT, rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Result<void> begin() {
    auto r = db_.begin();
    open_ = static_cast<bool>(r);
    return r;
  }
  Result<void> commit() {
    auto r = db_.commit();
    if (r) open_ = false;
    return r;
  }
  ~Transaction() {
    if (open_) (void)db_.rollback();
  }

 private:
  Connection& db_;
  bool open_ = false;
};

// Opens (creating when missing) the SQLite database at `path`, waiting up to 5 s for a lock.
Result<std::unique_ptr<Connection>> open_sqlite(const std::string& path);
// The same over a database already open.
std::unique_ptr<Connection> adopt_sqlite(std::unique_ptr<platform::Database> db);

// Connects to PostgreSQL. `uri`: a libpq connection string, "postgresql://user@host:port/db"
// or "host=... dbname=...". Errors name the host and database, never a password.
Result<std::unique_ptr<Connection>> open_postgres(const std::string& uri);

// "PostgreSQL database DB on HOST:PORT" for messages: never the user's password or options.
std::string postgres_location(const std::string& uri);

// True when `database` (a configuration value) names PostgreSQL rather than a SQLite file.
bool is_postgres_uri(std::string_view database);

}  // namespace hearth::server::sql
