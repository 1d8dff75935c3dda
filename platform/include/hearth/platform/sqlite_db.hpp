#pragma once
// Minimal RAII over sqlite3: one connection, prepared statements, errors as values.
// Thread-safety: confined to the owner of the connection.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "hearth/core/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace hearth::platform {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind(int i, std::string_view text);
  Statement& bind_blob(int i, std::string_view bytes);
  Statement& bind(int i, int64_t v);
  Statement& bind_null(int i);
  // true: a row is ready; false: done. Errors become ErrorCode::storage.
  Result<bool> step();
  Result<void> run();  // step to completion, then reset
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
  void reset();

  std::string text(int col) const;
  std::string blob(int col) const;
  int64_t integer(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database(Database&&) = delete;
  Database& operator=(const Database&) = delete;

  Result<void> exec(const std::string& sql);
  Result<Statement> prepare(std::string_view sql);
  // A statement prepared once and kept for the life of the connection, reset and ready.
  // Not re-entrant: finish with it before asking for the same SQL again.
  Result<Statement*> cached(const char* sql);
  std::string last_error() const;

  // SQLite's online backup (sqlite3_backup_init/step/finish): copies this connection's main
  // database into the file at `dest_path` (created when missing, its contents replaced),
  // `pages_per_step` pages per step. To copy one consistent state while other connections or
  // processes write (WAL), hold a read transaction on this connection first: every step then
  // reads that snapshot, and no writer waits for the copy (a held snapshot only keeps the WAL
  // from being checkpointed past it). Returns the pages copied. Errors: ErrorCode::storage,
  // naming the step that failed.
  Result<int64_t> backup_to(const std::string& dest_path, int pages_per_step);

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<const char*, std::unique_ptr<Statement>> cache_;  // keyed by the literal's address
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) {}
  Result<void> begin();
  Result<void> commit();
  ~Transaction();

 private:
  Database& db_;
  bool open_ = false;
};

}  // namespace hearth::platform
