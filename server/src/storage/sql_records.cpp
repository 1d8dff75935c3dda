// The server's current records in SQLite (storage/records.hpp). The table and its indexes are
// created in sqlite_storage.cpp; a record's JSON is sealed under its family's key with its
// family and id as associated data, so a row copied onto another record does not open.
#include <sstream>

#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

std::string record_aad(const std::string& family, const std::string& id) {
  return "hearth-server record v1|" + family + "|" + id;
}

namespace {

constexpr const char* kColumns = "id, type, family, revision, updated_at, occurred, deleted, persons, body";

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& p : ids) out += (out.empty() ? "" : " ") + p;
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string p; in >> p;) out.push_back(p);
  return out;
}

// The WHERE clause of a query, with only the conditions `q` sets (so SQLite picks the index
// that fits: by type, by family, by person), and its text arguments in order.
struct Where {
  std::string sql;
  std::vector<std::string> args;
};

Where where_of(const RecordQuery& q) {
  Where w;
  auto add = [&](const std::string& condition, std::initializer_list<std::string> args) {
    w.sql += (w.sql.empty() ? " WHERE " : " AND ") + condition;
    w.args.insert(w.args.end(), args);
  };
  if (!q.type.empty()) add("r.type = ?", {q.type});
  if (!q.family.empty()) add("r.family = ?", {q.family});
  if (!q.person.empty()) {
    if (q.family_wide)
      add("(r.id IN (SELECT id FROM record_persons WHERE person = ?) OR (r.persons = '' AND r.family IN "
          "(SELECT family FROM record_persons WHERE person = ?)))",
          {q.person, q.person});
    else
      add("r.id IN (SELECT id FROM record_persons WHERE person = ?)", {q.person});
  }
  if (!q.from.empty()) add("r.occurred >= ?", {q.from});
  if (!q.to.empty()) add("r.occurred < ?", {q.to});
  if (!q.include_deleted) add("r.deleted = 0", {});
  if (q.after_revision > 0) add("r.revision > " + std::to_string(q.after_revision), {});
  return w;
}

void bind(Statement& st, const Where& w) {
  int i = 1;
  for (const auto& a : w.args) st.bind(i++, a);
}

}  // namespace

Result<void> SqlRecords::put(const StoredRecord& r) {
  auto body = sealer_.seal(r.family, r.json, record_aad(r.family, r.id));
  if (!body) return make_error(body.error().code, "record " + r.id + ": " + body.error().message);
  auto st = db_.cached(
      "INSERT INTO records(id, type, family, revision, updated_at, occurred, deleted, persons, body) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET type = excluded.type, family = excluded.family, "
      "revision = excluded.revision, updated_at = excluded.updated_at, occurred = excluded.occurred, "
      "deleted = excluded.deleted, persons = excluded.persons, body = excluded.body");
  if (!st) return st.error();
  (*st)->bind(1, r.id).bind(2, r.type).bind(3, r.family).bind(4, r.revision).bind(5, r.updated_at);
  (*st)->bind(6, r.occurred).bind(7, int64_t{r.deleted ? 1 : 0}).bind(8, joined(r.persons)).bind_blob(9, *body);
  if (auto w = (*st)->run(); !w) return w;
  auto clear = db_.cached("DELETE FROM record_persons WHERE id = ?");
  if (!clear) return clear.error();
  (*clear)->bind(1, r.id);
  if (auto w = (*clear)->run(); !w) return w;
  auto add = db_.cached("INSERT INTO record_persons(person, id, family) VALUES(?, ?, ?) ON CONFLICT DO NOTHING");
  if (!add) return add.error();
  for (const auto& p : r.persons) {
    (*add)->bind(1, p).bind(2, r.id).bind(3, r.family);
    if (auto w = (*add)->run(); !w) return w;
  }
  return {};
}

Result<StoredRecord> SqlRecords::read(Statement& row) {
  StoredRecord r;
  r.id = row.text(0);
  r.type = row.text(1);
  r.family = row.text(2);
  r.revision = row.integer(3);
  r.updated_at = row.integer(4);
  r.occurred = row.text(5);
  r.deleted = row.integer(6) != 0;
  r.persons = split(row.text(7));
  auto json = sealer_.open(r.family, row.blob(8), record_aad(r.family, r.id));
  if (!json) return make_error(json.error().code, "record " + r.id + " of family " + r.family + ": " + json.error().message);
  r.json = std::move(*json);
  return r;
}

Result<std::optional<StoredRecord>> SqlRecords::get(const std::string& id) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns + " FROM records WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<StoredRecord>();
  auto r = read(*st);
  if (!r) return r.error();
  return std::optional<StoredRecord>(std::move(*r));
}

Result<void> SqlRecords::scan(const RecordQuery& q, const std::function<Result<bool>(const StoredRecord&)>& each) {
  const Where w = where_of(q);
  std::string sql = std::string("SELECT ") + kColumns + " FROM records r" + w.sql + " ORDER BY r.revision";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  auto st = db_.prepare(sql);
  if (!st) return st.error();
  bind(*st, w);
  for (;;) {  // bounded by the rows matching
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return {};
    auto r = read(*st);
    if (!r) return r.error();
    auto more = each(*r);
    if (!more) return more.error();
    if (!*more) return {};
  }
}

Result<int64_t> SqlRecords::count(const RecordQuery& q) {
  const Where w = where_of(q);
  std::string sql = std::string("SELECT count(*) FROM (SELECT 1 FROM records r") + w.sql;
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  sql += ")";
  auto st = db_.prepare(sql);
  if (!st) return st.error();
  bind(*st, w);
  return integer(*st, 0);
}

Result<int64_t> SqlRecords::highest_revision() {
  auto st = db_.cached("SELECT max(revision) FROM records");
  if (!st) return st.error();
  return integer(**st, 0);
}

Result<bool> SqlRecords::built() { return exists(db_, "SELECT 1 FROM meta WHERE key = ?", "records_built"); }

Result<void> SqlRecords::mark_built() {
  return run(db_, "INSERT INTO meta(key, value) VALUES('records_built', '1') ON CONFLICT(key) DO UPDATE SET value = excluded.value", {});
}

}  // namespace hearth::server::sql
