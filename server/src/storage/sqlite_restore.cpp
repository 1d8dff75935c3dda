#include "sqlite_restore.hpp"

#include <set>

#include "sql_util.hpp"

namespace hearth::server {

namespace {

using sql::Connection;
using sql::Statement;

// SQL text quoting for an identifier or a file name read from the database or the caller.
std::string quoted(const std::string& s, char quote) {
  std::string out(1, quote);
  for (char c : s) {
    out += c;
    if (c == quote) out += c;
  }
  return out + quote;
}

Result<std::vector<std::string>> columns_of(Connection& db, const std::string& schema, const std::string& table) {
  auto st = db.prepare("SELECT name FROM pragma_table_info(?, ?) ORDER BY cid");
  if (!st) return st.error();
  st->bind(1, table).bind(2, schema);
  std::vector<std::string> out;
  auto done = st->each([&](Statement& r) { out.push_back(r.text(0)); });
  if (!done) return done.error();
  return out;
}

Result<int64_t> one_integer(Connection& db, const std::string& sql) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  return sql::integer(*st, 0);
}

}  // namespace

Result<void> attach_previous(Connection& db, const std::string& path) {
  return db.exec("ATTACH DATABASE " + quoted(path, '\'') + " AS previous");
}

Result<void> detach_previous(Connection& db) { return db.exec("DETACH DATABASE previous"); }

Result<bool> previous_continues(Connection& db, int64_t last_seq) {
  if (last_seq <= 0) return true;
  auto same = one_integer(db, "SELECT count(*) FROM main.ops m JOIN previous.ops p ON p.seq = m.seq "
                              "AND p.device = m.device AND p.counter = m.counter WHERE m.seq = " + std::to_string(last_seq));
  if (!same) return same.error();
  return *same == 1;
}

Result<std::vector<CarriedTable>> carry_over_directory(Connection& db) {
  std::vector<CarriedTable> out;
  for (const char* table : {"organisations", "practitioners", "enrol_codes", "devices", "office_credentials",
                            "tenant_settings", "held_ops"}) {
    auto here = columns_of(db, "main", table);
    if (!here) return here.error();
    auto there = columns_of(db, "previous", table);
    if (!there) return there.error();
    std::set<std::string> theirs(there->begin(), there->end());
    std::string cols;
    for (const auto& c : *here)
      if (theirs.count(c)) cols += (cols.empty() ? "" : ", ") + quoted(c, '"');
    if (here->empty() || cols.empty()) {
      out.push_back(CarriedTable{table, 0});
      continue;
    }
    const std::string differing = "SELECT " + cols + " FROM previous." + table + " EXCEPT SELECT " + cols + " FROM main." + table;
    auto rows = one_integer(db, "SELECT count(*) FROM (" + differing + ")");
    if (!rows) return rows.error();
    if (*rows > 0)
      if (auto r = db.exec("INSERT OR REPLACE INTO main." + std::string(table) + "(" + cols + ") " + differing); !r)
        return r.error();
    out.push_back(CarriedTable{table, *rows});
  }
  return out;
}

Result<int64_t> raise_server_counters(Connection& db, int64_t floor, bool previous_attached) {
  if (previous_attached) {
    auto cols = columns_of(db, "previous", "counters");
    if (!cols) return cols.error();
    previous_attached = !cols->empty();  // a layout older than the counters table
  }
  std::string from_previous =
      previous_attached ? ", coalesce((SELECT value FROM previous.counters p WHERE p.name = n.name), 0)" : "";
  auto st = db.prepare(
      "INSERT INTO counters(name, value) SELECT n.name, max(?, coalesce((SELECT value FROM counters c WHERE c.name = n.name), 0)" +
      from_previous +
      ") FROM (SELECT 'server' AS name UNION ALL SELECT 'hearth-server') n WHERE true "
      "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
  if (!st) return st.error();
  st->bind(1, floor);
  if (auto r = st->run(); !r) return r.error();
  return one_integer(db, "SELECT min(value) FROM counters WHERE name IN ('server', 'hearth-server')");
}

}  // namespace hearth::server
