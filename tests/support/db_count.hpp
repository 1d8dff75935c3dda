#pragma once
// Raw access to a database file, as tests (and an attacker with the file) have it; or to a
// test's PostgreSQL database when given its URI.
// db_count: one number read from a database (the server's): `sql` with `args` bound as text, in
// order. Opened read-only with a busy timeout, so a server writing at the same time never makes
// the read fail. A query that does not answer one row fails the test.
// db_exec: runs `sql` on the file (tampering with rows, say); a failure fails the test.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "storage/sql/connection.hpp"

namespace hearth::test {

// A PostgreSQL URI (tests/support/test_database.hpp) is read through the storage's SQL seam.
inline int64_t pg_count(const std::string& uri, const std::string& sql, const std::vector<std::string>& args) {
  auto conn = server::sql::open_postgres(uri);
  REQUIRE(conn);
  auto st = (*conn)->prepare(sql);
  REQUIRE(st);
  for (size_t i = 0; i < args.size(); ++i) st->bind(static_cast<int>(i + 1), args[i]);
  auto row = st->step();
  INFO((row ? "" : row.error().message));
  REQUIRE(row);
  REQUIRE(*row);
  return st->integer(0);
}

inline int64_t db_count(const std::string& db_path, const std::string& sql, const std::vector<std::string>& args = {}) {
  if (server::sql::is_postgres_uri(db_path)) return pg_count(db_path, sql, args);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  for (size_t i = 0; i < args.size(); ++i)
    sqlite3_bind_text(st, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
  const int step = sqlite3_step(st);
  const int64_t n = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  sqlite3_close(db);
  REQUIRE(step == SQLITE_ROW);
  return n;
}

// A condition true when `column` (text or blob) holds `needle` (letters and digits only), in
// the dialect of the database at `db_path`.
inline std::string holds_text(const std::string& db_path, const std::string& column, const std::string& needle) {
  if (server::sql::is_postgres_uri(db_path))
    return "position(CAST('" + needle + "' AS BYTEA) IN CAST(" + column + " AS BYTEA)) > 0";
  return "instr(" + column + ", '" + needle + "') > 0";
}

inline void db_exec(const std::string& db_path, const std::string& sql) {
  if (server::sql::is_postgres_uri(db_path)) {
    auto conn = server::sql::open_postgres(db_path);
    REQUIRE(conn);
    auto done = (*conn)->exec(sql);
    INFO((done ? "" : done.error().message));
    REQUIRE(done);
    return;
  }
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &h) == SQLITE_OK);
  sqlite3_busy_timeout(h, 5000);
  char* err = nullptr;
  int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(h);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace hearth::test
