#include "hearth/platform/encoding.hpp"
#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

Result<bool> SqlOpLog::has_op(const std::string& device, uint64_t counter) {
  auto st = db_.cached("SELECT 1 FROM ops WHERE device = ? AND counter = ?");
  if (!st) return st.error();
  (*st)->bind(1, device).bind(2, static_cast<int64_t>(counter));
  auto row = (*st)->step();
  (*st)->reset();
  if (!row) return row.error();
  return *row;
}

Result<bool> SqlOpLog::family_has_ops(const std::string& family) {
  return exists(db_, "SELECT 1 FROM ops WHERE family = ? LIMIT 1", family);
}

Result<std::vector<std::string>> SqlOpLog::families() {
  return strings(db_, "SELECT DISTINCT family FROM ops WHERE family <> ? ORDER BY family", "");
}

std::string op_aad(const std::string& family, const std::string& device, uint64_t counter) {
  return "hearth-server op v1|" + family + "|" + device + ":" + std::to_string(counter);
}

Result<int64_t> SqlOpLog::append(const StoredOp& op) {
  auto body = sealer_.seal(op.family, op.body, op_aad(op.family, op.device, op.counter));
  if (!body) return body.error();
  // The sequence number is the row id SQLite assigns (AUTOINCREMENT: never reused).
  // A second op with the same id inserts nothing (no row back) rather than failing, so the
  // transaction stays usable on PostgreSQL, where a failed statement aborts it.
  auto st = db_.cached(
      "INSERT INTO ops(family, device, counter, body) VALUES(?, ?, ?, ?) ON CONFLICT(device, counter) DO NOTHING "
      "RETURNING seq");
  if (!st) return st.error();
  (*st)->bind(1, op.family).bind(2, op.device).bind(3, static_cast<int64_t>(op.counter)).bind_blob(4, *body);
  auto seq = integer(**st, 0);
  if (!seq) return seq.error();
  if (*seq == 0)
    return make_error(ErrorCode::conflict, "op " + op.device + ":" + std::to_string(op.counter) + " is already stored");
  return *seq;
}

Result<std::vector<StoredOp>> SqlOpLog::ops_after(const std::string& family, int64_t after, size_t max_bytes) {
  std::vector<StoredOp> out;
  auto st = db_.prepare("SELECT seq, device, counter, body FROM ops WHERE family = ? AND seq > ? ORDER BY seq");
  if (!st) return st.error();
  st->bind(1, family).bind(2, after);
  size_t bytes = 0;
  while (bytes < max_bytes || out.empty()) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    StoredOp op{st->integer(0), family, st->text(1), static_cast<uint64_t>(st->integer(2)), {}};
    auto body = sealer_.open(family, st->blob(3), op_aad(family, op.device, op.counter));
    if (!body)
      return make_error(body.error().code, "stored op " + op.device + ":" + std::to_string(op.counter) + " of family " +
                                               family + ": " + body.error().message);
    op.body = std::move(*body);
    bytes += op.body.size();  // the budget is in the bytes the caller sends, not the sealed size
    out.push_back(std::move(op));
  }
  return out;
}

Result<int64_t> SqlOpLog::highest_seq(const std::string& family) {
  auto st = db_.cached("SELECT max(seq) FROM ops WHERE family = ?");
  if (!st) return st.error();
  (*st)->bind(1, family);
  return integer(**st, 0);
}

Result<int64_t> SqlOpLog::last_seq() {
  // The highest number ever given (AUTOINCREMENT keeps it), so erasing a family's rows never
  // looks like the history going back.
  auto st = db_.dialect() == Dialect::postgres
                ? db_.cached("SELECT GREATEST(coalesce((SELECT max(seq) FROM ops), 0), "
                             "coalesce(pg_sequence_last_value(pg_get_serial_sequence('ops', 'seq')::regclass), 0))")
                : db_.cached("SELECT max(coalesce((SELECT max(seq) FROM ops), 0), "
                             "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ops'), 0))");
  if (!st) return st.error();
  return integer(**st, 0);
}

Result<uint64_t> SqlOpLog::highest_counter(const std::string& device) {
  // Ops of erased families count: the device was told they were stored.
  auto st = db_.cached(
      "SELECT coalesce(max(c), 0) FROM (SELECT max(counter) AS c FROM ops WHERE device = ?1 "
      "UNION ALL SELECT counter FROM erased_counters WHERE device = ?1) AS counted");
  if (!st) return st.error();
  (*st)->bind(1, device);
  auto v = integer(**st, 0);
  if (!v) return v.error();
  return static_cast<uint64_t>(*v);
}

Result<uint64_t> SqlOpLog::next_server_counter() { return next_counter("server"); }

Result<uint64_t> SqlOpLog::next_authority_counter() { return next_counter("hearth-server"); }

Result<uint64_t> SqlOpLog::next_counter(const char* name) {
  // One statement: the increment and the value it returns cannot be split by another writer.
  auto st = db_.cached("UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value");
  if (!st) return st.error();
  (*st)->bind(1, std::string(name));
  auto v = integer(**st, -1);
  if (!v) return v.error();
  if (*v < 0) return make_error(ErrorCode::corrupt, std::string("the server database has no '") + name + "' counter row");
  return static_cast<uint64_t>(*v);
}

Result<std::string> SqlOpLog::history_epoch() {
  auto st = db_.cached("SELECT value FROM meta WHERE key = 'history_epoch'");
  if (!st) return st.error();
  auto row = (*st)->step();
  if (!row || !*row) {
    (*st)->reset();
    if (!row) return row.error();
    return renew_history_epoch();  // a database made before epochs existed
  }
  std::string epoch = (*st)->text(0);
  (*st)->reset();
  return epoch;
}

Result<std::string> SqlOpLog::renew_history_epoch() {
  auto drawn = platform::random_hex(16);
  if (!drawn) return drawn.error();
  std::string epoch = std::move(drawn.value());
  if (auto r = run(db_, "INSERT INTO meta(key, value) VALUES('history_epoch', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", {epoch}); !r)
    return r.error();
  return epoch;
}

}  // namespace hearth::server::sql
