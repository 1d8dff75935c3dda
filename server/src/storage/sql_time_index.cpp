#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

Result<void> SqlTimeIndex::mark(const std::string& family, int64_t at) {
  auto st = db_.cached(
      "INSERT INTO due_families(family, next_due) VALUES(?, ?) "
      "ON CONFLICT(family) DO UPDATE SET next_due = CASE WHEN due_families.next_due IS NULL OR "
      "excluded.next_due < due_families.next_due THEN excluded.next_due ELSE due_families.next_due END");
  if (!st) return st.error();
  (*st)->bind(1, family).bind(2, at);
  return (*st)->run();
}

Result<void> SqlTimeIndex::set_next(const std::string& family, std::optional<int64_t> at) {
  auto st = db_.cached(
      "INSERT INTO due_families(family, next_due) VALUES(?, ?) "
      "ON CONFLICT(family) DO UPDATE SET next_due = excluded.next_due");
  if (!st) return st.error();
  (*st)->bind(1, family);
  if (at) (*st)->bind(2, *at);
  else (*st)->bind_null(2);
  return (*st)->run();
}

Result<void> SqlTimeIndex::mark_all(int64_t at) {
  auto st = db_.prepare("UPDATE due_families SET next_due = CASE WHEN next_due IS NULL OR next_due > ?1 THEN ?1 ELSE next_due END");
  if (!st) return st.error();
  st->bind(1, at);
  return st->run();
}

Result<std::vector<std::string>> SqlTimeIndex::due(int64_t now, size_t limit) {
  std::vector<std::string> out;
  auto st = db_.prepare(
      "SELECT family FROM due_families WHERE next_due IS NOT NULL AND next_due <= ? ORDER BY next_due, family LIMIT ?");
  if (!st) return st.error();
  st->bind(1, now).bind(2, static_cast<int64_t>(limit));
  auto done = st->each([&](Statement& r) { out.push_back(r.text(0)); });
  if (!done) return done.error();
  return out;
}

Result<std::optional<int64_t>> SqlTimeIndex::next_due() {
  auto st = db_.cached("SELECT min(next_due) FROM due_families");
  if (!st) return st.error();
  auto v = integer(**st, -1);
  if (!v) return v.error();
  if (*v < 0) return std::optional<int64_t>();
  return std::optional<int64_t>(*v);
}

Result<bool> SqlTimeIndex::add_grant(const GrantEntry& g) {
  auto st = db_.cached(
      "INSERT INTO break_glass_grants(id, family, practitioner, expires_at) VALUES(?, ?, ?, ?) "
      "ON CONFLICT(id) DO NOTHING RETURNING 1");
  if (!st) return st.error();
  (*st)->bind(1, g.id).bind(2, g.family).bind(3, g.practitioner).bind(4, g.expires_at);
  auto added = integer(**st, 0);
  if (!added) return added.error();
  return *added != 0;
}

Result<std::vector<std::string>> SqlTimeIndex::granted_families(const std::string& practitioner) {
  return strings(db_,
                 "SELECT DISTINCT family FROM break_glass_grants WHERE practitioner = ? AND ended_at IS NULL "
                 "ORDER BY family",
                 practitioner);
}

Result<std::vector<std::string>> SqlTimeIndex::ended_grant_families(const std::string& practitioner) {
  return strings(db_,
                 "SELECT family FROM break_glass_grants WHERE practitioner = ?1 GROUP BY family "
                 "HAVING count(*) = count(ended_at) ORDER BY family",
                 practitioner);
}

Result<std::vector<GrantEntry>> SqlTimeIndex::grants_of(const std::string& family) {
  std::vector<GrantEntry> out;
  auto st = db_.prepare(
      "SELECT id, family, practitioner, expires_at, ended_at FROM break_glass_grants WHERE family = ? ORDER BY id");
  if (!st) return st.error();
  st->bind(1, family);
  auto done = st->each([&](Statement& r) {
    GrantEntry g{r.text(0), r.text(1), r.text(2), r.integer(3), std::nullopt};
    if (!r.is_null(4)) g.ended_at = r.integer(4);
    out.push_back(std::move(g));
  });
  if (!done) return done.error();
  return out;
}

Result<bool> SqlTimeIndex::end_grant(const std::string& id, int64_t at) {
  auto st = db_.cached("UPDATE break_glass_grants SET ended_at = ? WHERE id = ? AND ended_at IS NULL RETURNING 1");
  if (!st) return st.error();
  (*st)->bind(1, at).bind(2, id);
  auto ended = integer(**st, 0);
  if (!ended) return ended.error();
  return *ended != 0;
}

}  // namespace hearth::server::sql
