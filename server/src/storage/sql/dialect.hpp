#pragma once
// Where SQLite and PostgreSQL speak differently, in one place. The schema is written once, in
// SQLite's dialect (the default store); PostgreSQL gets it translated: INTEGER becomes BIGINT
// (times are milliseconds), BLOB becomes BYTEA, an INTEGER PRIMARY KEY (SQLite's row id,
// numbered by the database when not given) becomes an identity column, WITHOUT ROWID and
// PRAGMA lines go, TEXT columns that hold sealed values become BYTEA, and held_ops keeps a
// rowid column for its insertion order. Queries keep to what both understand; the few that cannot ask dialect().
#include <string>
#include <string_view>

#include "connection.hpp"

namespace hearth::server::sql {

// `ddl` (CREATE TABLE / CREATE INDEX statements in SQLite's dialect, `;`-separated) as
// `dialect` understands it.
std::string schema_for(Dialect dialect, std::string_view ddl);

// The larger of two SQL expressions (SQLite's two-argument max(); PostgreSQL's GREATEST).
std::string greatest(Dialect dialect, const std::string& a, const std::string& b);

}  // namespace hearth::server::sql
