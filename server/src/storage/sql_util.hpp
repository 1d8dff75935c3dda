#pragma once
// Small helpers shared by the SQL implementations of the storage interfaces (SQLite and PostgreSQL).
#include <initializer_list>
#include <string>
#include <vector>

#include "storage/sql/connection.hpp"

namespace hearth::server::sql {


// Runs one statement with text arguments.
inline Result<void> run(Connection& db, const char* sql, std::initializer_list<std::string> args) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  int i = 1;
  for (const auto& a : args) st->bind(i++, a);
  return st->run();
}

// True when the query (one text argument) returns a row.
inline Result<bool> exists(Connection& db, const char* sql, const std::string& arg) {
  auto st = db.cached(sql);
  if (!st) return st.error();
  (*st)->bind(1, arg);
  auto row = (*st)->step();
  (*st)->reset();
  if (!row) return row.error();
  return *row;
}

// The first column of every row of the query (one text argument).
inline Result<std::vector<std::string>> strings(Connection& db, const char* sql, const std::string& arg) {
  std::vector<std::string> out;
  auto st = db.prepare(sql);
  if (!st) return st.error();
  st->bind(1, arg);
  auto done = st->each([&](Statement& r) { out.push_back(r.text(0)); });
  if (!done) return done.error();
  return out;
}

// The one integer a query returns (its first column), or `none` when it returns no row or NULL.
inline Result<int64_t> integer(Statement& st, int64_t none) {
  auto row = st.step();
  if (!row) {
    st.reset();
    return row.error();
  }
  int64_t v = *row && !st.is_null(0) ? st.integer(0) : none;
  st.reset();
  return v;
}

}  // namespace hearth::server::sql
