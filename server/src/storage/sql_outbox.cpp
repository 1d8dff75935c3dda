// The office outbox on SQLite (storage/outbox.hpp). Payloads and office ids are sealed under
// the family's key; the key of each row is its associated data.
#include <functional>

#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

const char* kOutboxSchema = R"SQL(
CREATE TABLE IF NOT EXISTS office_outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
  record TEXT NOT NULL, kind TEXT NOT NULL, type TEXT NOT NULL, family TEXT NOT NULL, revision INTEGER NOT NULL,
  priority INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, sent_at INTEGER NOT NULL DEFAULT 0,
  served_at INTEGER NOT NULL DEFAULT 0, acked_at INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
  payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS office_outbox_by_record ON office_outbox(record, kind);
CREATE INDEX IF NOT EXISTS office_outbox_due ON office_outbox(priority, seq) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS office_outbox_by_family ON office_outbox(family, seq);
CREATE TABLE IF NOT EXISTS office_refs(record TEXT PRIMARY KEY, family TEXT NOT NULL, office_ref BLOB NOT NULL,
  revision INTEGER NOT NULL, at INTEGER NOT NULL, by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS office_refs_by_family ON office_refs(family);
CREATE TABLE IF NOT EXISTS office_disclosures(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, family TEXT NOT NULL,
  record TEXT NOT NULL, type TEXT NOT NULL, revision INTEGER NOT NULL, kind TEXT NOT NULL, recipient TEXT NOT NULL,
  channel TEXT NOT NULL, item INTEGER NOT NULL, UNIQUE(item, recipient, channel));
CREATE INDEX IF NOT EXISTS office_disclosures_by_family ON office_disclosures(family, id);
CREATE TABLE IF NOT EXISTS office_code_map(field TEXT NOT NULL, value TEXT NOT NULL, code TEXT NOT NULL,
  set_at INTEGER NOT NULL, set_by TEXT NOT NULL, PRIMARY KEY(field, value)) WITHOUT ROWID;
)SQL";

std::string outbox_aad(const std::string& key) { return "hearth-server office outbox v1|" + key; }
std::string office_ref_aad(const std::string& record) { return "hearth-server office ref v1|" + record; }

namespace {

constexpr const char* kColumns =
    "seq, key, record, kind, type, family, revision, priority, state, attempts, next_attempt_at, created_at, sent_at, "
    "served_at, acked_at, last_error, payload";

Result<OutboxItem> item_from(Statement& r, FamilySealer& sealer) {
  OutboxItem i;
  i.seq = r.integer(0);
  i.key = r.text(1);
  i.record = r.text(2);
  i.kind = r.text(3);
  i.type = r.text(4);
  i.family = r.text(5);
  i.revision = r.integer(6);
  i.priority = static_cast<int>(r.integer(7));
  i.state = r.text(8);
  i.attempts = static_cast<int>(r.integer(9));
  i.next_attempt_at = r.integer(10);
  i.created_at = r.integer(11);
  i.sent_at = r.integer(12);
  i.served_at = r.integer(13);
  i.acked_at = r.integer(14);
  i.last_error = r.text(15);
  auto payload = sealer.open(i.family, r.blob(16), outbox_aad(i.key));
  if (!payload)
    return make_error(payload.error().code, "office outbox item " + i.key + ": " + payload.error().message);
  i.payload = std::move(*payload);
  return i;
}

// Every row of a prepared query as items; the first row that cannot be opened stops it.
Result<std::vector<OutboxItem>> items_of(Statement& st, FamilySealer& sealer) {
  std::vector<OutboxItem> out;
  auto done = st.each([&](Statement& r) -> Result<void> {
    auto i = item_from(r, sealer);
    if (!i) return i.error();
    out.push_back(std::move(*i));
    return {};
  });
  if (!done) return done.error();
  return out;
}

Result<void> exec_with(Connection& db, const char* sql, const std::function<void(Statement&)>& bind) {
  auto st = db.cached(sql);
  if (!st) return st.error();
  bind(**st);
  return (*st)->run();
}

}  // namespace

Result<bool> SqlOfficeOutbox::enqueue(OutboxItem& item) {
  auto existing = by_key(item.key);
  if (!existing) return existing.error();
  if (*existing) {
    item.seq = (*existing)->seq;
    return false;
  }
  // Coalescing: the undelivered older revisions of the same record go; the newest stands for them.
  if (auto r = exec_with(db_,
                         "DELETE FROM office_outbox WHERE record = ? AND kind = ? AND revision < ? AND state = 'queued' "
                         "AND sent_at = 0 AND served_at = 0",
                         [&](Statement& s) { s.bind(1, item.record).bind(2, item.kind).bind(3, item.revision); });
      !r)
    return r.error();
  auto sealed = sealer_.seal(item.family, item.payload, outbox_aad(item.key));
  if (!sealed) return sealed.error();
  // The office reads the outbox by one cursor over seq (after()). Where several servers or
  // workers write at once (PostgreSQL), a seq taken earlier could commit after a later one and
  // be skipped by a cursor that passed it: enqueuers take turns, from their first item until
  // their transaction ends, so items commit in seq order.
  if (db_.dialect() == Dialect::postgres) {
    auto turn = db_.cached("SELECT pg_advisory_xact_lock(5207640365980975106)");  // 0x4845415254480002
    if (!turn) return turn.error();
    if (auto r = (*turn)->run(); !r) return r.error();
  }
  auto st = db_.cached(
      "INSERT INTO office_outbox(key, record, kind, type, family, revision, priority, state, attempts, next_attempt_at, "
      "created_at, payload) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?) RETURNING seq");
  if (!st) return st.error();
  (*st)->bind(1, item.key).bind(2, item.record).bind(3, item.kind).bind(4, item.type).bind(5, item.family);
  (*st)->bind(6, item.revision).bind(7, static_cast<int64_t>(item.priority)).bind(8, item.state);
  (*st)->bind(9, item.created_at).bind_blob(10, *sealed);
  auto seq = integer(**st, 0);
  if (!seq) return seq.error();
  item.seq = *seq;
  return true;
}

Result<std::optional<OutboxItem>> SqlOfficeOutbox::get(int64_t seq) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns + " FROM office_outbox WHERE seq = ?");
  if (!st) return st.error();
  st->bind(1, seq);
  auto items = items_of(*st, sealer_);
  if (!items) return items.error();
  if (items->empty()) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(std::move(items->front()));
}

Result<std::optional<OutboxItem>> SqlOfficeOutbox::by_key(const std::string& key) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns + " FROM office_outbox WHERE key = ?");
  if (!st) return st.error();
  st->bind(1, key);
  auto items = items_of(*st, sealer_);
  if (!items) return items.error();
  if (items->empty()) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(std::move(items->front()));
}

Result<bool> SqlOfficeOutbox::has_package(const std::string& record) {
  return exists(db_, "SELECT 1 FROM office_outbox WHERE record = ? AND kind = 'package'", record);
}

Result<std::vector<OutboxItem>> SqlOfficeOutbox::after(int64_t after, size_t limit, bool packages) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns +
                        " FROM office_outbox WHERE seq > ? AND kind = ? AND state != 'cancelled' ORDER BY seq LIMIT ?");
  if (!st) return st.error();
  st->bind(1, after).bind(2, std::string(packages ? "package" : "record")).bind(3, static_cast<int64_t>(limit));
  return items_of(*st, sealer_);
}

Result<std::vector<OutboxItem>> SqlOfficeOutbox::unacknowledged_packages(size_t limit) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns +
                        " FROM office_outbox WHERE kind = 'package' AND acked_at = 0 AND state != 'cancelled' "
                        "ORDER BY seq LIMIT ?");
  if (!st) return st.error();
  st->bind(1, static_cast<int64_t>(limit));
  return items_of(*st, sealer_);
}

Result<std::optional<OutboxItem>> SqlOfficeOutbox::next_due(int64_t now) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns +
                        " FROM office_outbox WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY priority, seq "
                        "LIMIT 1");
  if (!st) return st.error();
  st->bind(1, now);
  auto items = items_of(*st, sealer_);
  if (!items) return items.error();
  if (items->empty()) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(std::move(items->front()));
}

Result<std::vector<OutboxItem>> SqlOfficeOutbox::undelivered(const std::string& family) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns +
                        " FROM office_outbox WHERE family = ? AND state = 'queued' AND sent_at = 0 AND served_at = 0 "
                        "ORDER BY seq");
  if (!st) return st.error();
  st->bind(1, family);
  return items_of(*st, sealer_);
}

Result<std::vector<OutboxItem>> SqlOfficeOutbox::list(const std::string& state, const std::string& family,
                                                         size_t limit) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns +
                        " FROM office_outbox WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR family = ?2) "
                        "ORDER BY seq DESC LIMIT ?3");
  if (!st) return st.error();
  st->bind(1, state).bind(2, family).bind(3, static_cast<int64_t>(limit));
  return items_of(*st, sealer_);
}

Result<OutboxCounts> SqlOfficeOutbox::counts() {
  auto st = db_.prepare(
      "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'sent'), "
      "count(*) FILTER (WHERE state = 'dead'), count(*) FILTER (WHERE state = 'cancelled'), "
      "count(*) FILTER (WHERE served_at != 0), count(*) FILTER (WHERE acked_at != 0), "
      "count(*) FILTER (WHERE state = 'queued' AND attempts > 0) FROM office_outbox");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  OutboxCounts c;
  if (*row) {
    c.queued = st->integer(0);
    c.sent = st->integer(1);
    c.dead = st->integer(2);
    c.cancelled = st->integer(3);
    c.served = st->integer(4);
    c.acked = st->integer(5);
    c.waiting_retry = st->integer(6);
  }
  st->reset();
  return c;
}

Result<int64_t> SqlOfficeOutbox::last_seq() {
  auto st = db_.cached("SELECT max(seq) FROM office_outbox");
  if (!st) return st.error();
  return integer(**st, 0);
}

Result<void> SqlOfficeOutbox::mark_sent(int64_t seq, int64_t at) {
  return exec_with(db_, "UPDATE office_outbox SET state = 'sent', sent_at = ?, last_error = '' WHERE seq = ?",
                   [&](Statement& s) { s.bind(1, at).bind(2, seq); });
}

Result<void> SqlOfficeOutbox::mark_failed(int64_t seq, int attempts, int64_t next_at, const std::string& error,
                                             bool dead) {
  return exec_with(db_,
                   "UPDATE office_outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ? "
                   "WHERE seq = ? AND state = 'queued'",
                   [&](Statement& s) {
                     s.bind(1, std::string(dead ? "dead" : "queued")).bind(2, static_cast<int64_t>(attempts));
                     s.bind(3, next_at).bind(4, error).bind(5, seq);
                   });
}

Result<void> SqlOfficeOutbox::mark_served(int64_t seq, int64_t at) {
  return exec_with(db_, "UPDATE office_outbox SET served_at = ? WHERE seq = ? AND served_at = 0",
                   [&](Statement& s) { s.bind(1, at).bind(2, seq); });
}

Result<bool> SqlOfficeOutbox::mark_acked(int64_t seq, int64_t at) {
  auto st = db_.cached("UPDATE office_outbox SET acked_at = ? WHERE seq = ? AND acked_at = 0 RETURNING 1");
  if (!st) return st.error();
  (*st)->bind(1, at).bind(2, seq);
  auto changed = integer(**st, 0);
  if (!changed) return changed.error();
  return *changed != 0;
}

Result<void> SqlOfficeOutbox::cancel(int64_t seq, const std::string& reason) {
  return exec_with(db_, "UPDATE office_outbox SET state = 'cancelled', last_error = ? WHERE seq = ?",
                   [&](Statement& s) { s.bind(1, reason).bind(2, seq); });
}

Result<int64_t> SqlOfficeOutbox::requeue(std::optional<int64_t> seq) {
  auto st = db_.prepare(
      "UPDATE office_outbox SET state = 'queued', attempts = 0, next_attempt_at = 0 "
      "WHERE (state = 'dead' OR (state = 'queued' AND attempts > 0)) AND (CAST(?1 AS BIGINT) IS NULL OR seq = ?1) RETURNING 1");
  if (!st) return st.error();
  if (seq) st->bind(1, *seq);
  else st->bind_null(1);
  int64_t n = 0;
  auto done = st->each([&](Statement&) { ++n; });
  if (!done) return done.error();
  return n;
}

Result<bool> SqlOfficeOutbox::set_office_ref(const OfficeRef& ref) {
  auto old = office_ref(ref.record);
  if (!old) return old.error();
  if (*old && (*old)->office_ref == ref.office_ref) return false;
  auto sealed = sealer_.seal(ref.family, ref.office_ref, office_ref_aad(ref.record));
  if (!sealed) return sealed.error();
  auto st = db_.cached(
      "INSERT INTO office_refs(record, family, office_ref, revision, at, by) VALUES(?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(record) DO UPDATE SET office_ref = excluded.office_ref, revision = excluded.revision, "
      "at = excluded.at, by = excluded.by");
  if (!st) return st.error();
  (*st)->bind(1, ref.record).bind(2, ref.family).bind_blob(3, *sealed).bind(4, ref.revision).bind(5, ref.at).bind(6, ref.by);
  if (auto r = (*st)->run(); !r) return r.error();
  return true;
}

Result<std::optional<OfficeRef>> SqlOfficeOutbox::office_ref(const std::string& record) {
  auto st = db_.cached("SELECT record, family, office_ref, revision, at, by FROM office_refs WHERE record = ?");
  if (!st) return st.error();
  (*st)->bind(1, record);
  auto row = (*st)->step();
  if (!row) {
    (*st)->reset();
    return row.error();
  }
  if (!*row) {
    (*st)->reset();
    return std::optional<OfficeRef>();
  }
  OfficeRef ref{(*st)->text(0), (*st)->text(1), {}, (*st)->integer(3), (*st)->integer(4), (*st)->text(5)};
  std::string sealed = (*st)->blob(2);
  (*st)->reset();
  auto plain = sealer_.open(ref.family, sealed, office_ref_aad(ref.record));
  if (!plain) return make_error(plain.error().code, "office_ref of " + ref.record + ": " + plain.error().message);
  ref.office_ref = std::move(*plain);
  return std::optional<OfficeRef>(std::move(ref));
}

Result<bool> SqlOfficeOutbox::disclose(const OfficeDisclosure& d) {
  auto st = db_.cached(
      "INSERT INTO office_disclosures(at, family, record, type, revision, kind, recipient, channel, item) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(item, recipient, channel) DO NOTHING RETURNING 1");
  if (!st) return st.error();
  (*st)->bind(1, d.at).bind(2, d.family).bind(3, d.record).bind(4, d.type).bind(5, d.revision).bind(6, d.kind);
  (*st)->bind(7, d.recipient).bind(8, d.channel).bind(9, d.item);
  auto added = integer(**st, 0);
  if (!added) return added.error();
  return *added != 0;
}

Result<std::vector<OfficeDisclosure>> SqlOfficeOutbox::disclosures(const std::string& family) {
  auto st = db_.prepare(
      "SELECT id, at, family, record, type, revision, kind, recipient, channel, item FROM office_disclosures "
      "WHERE ?1 = '' OR family = ?1 ORDER BY id");
  if (!st) return st.error();
  st->bind(1, family);
  std::vector<OfficeDisclosure> out;
  auto done = st->each([&](Statement& r) {
    out.push_back(OfficeDisclosure{r.integer(0), r.integer(1), r.text(2), r.text(3), r.text(4), r.integer(5), r.text(6),
                             r.text(7), r.text(8), r.integer(9)});
  });
  if (!done) return done.error();
  return out;
}

Result<void> SqlOfficeOutbox::set_code(const CodeMapping& m) {
  return exec_with(db_,
                   "INSERT INTO office_code_map(field, value, code, set_at, set_by) VALUES(?, ?, ?, ?, ?) "
                   "ON CONFLICT(field, value) DO UPDATE SET code = excluded.code, set_at = excluded.set_at, "
                   "set_by = excluded.set_by",
                   [&](Statement& s) { s.bind(1, m.field).bind(2, m.value).bind(3, m.code).bind(4, m.set_at).bind(5, m.set_by); });
}

Result<bool> SqlOfficeOutbox::remove_code(const std::string& field, const std::string& value) {
  auto st = db_.prepare("DELETE FROM office_code_map WHERE field = ? AND value = ? RETURNING 1");
  if (!st) return st.error();
  st->bind(1, field).bind(2, value);
  auto n = integer(*st, 0);
  if (!n) return n.error();
  return *n != 0;
}

Result<std::vector<CodeMapping>> SqlOfficeOutbox::codes() {
  auto st = db_.cached("SELECT field, value, code, set_at, set_by FROM office_code_map ORDER BY field, value");
  if (!st) return st.error();
  std::vector<CodeMapping> out;
  auto done = (*st)->each([&](Statement& r) {
    out.push_back(CodeMapping{r.text(0), r.text(1), r.text(2), r.integer(3), r.text(4)});
  });
  (*st)->reset();
  if (!done) return done.error();
  return out;
}

}  // namespace hearth::server::sql
