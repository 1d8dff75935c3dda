#include "sql_duplicates.hpp"

#include "hearth/platform/encoding.hpp"
#include "hearth/platform/random.hpp"
#include "sql/dialect.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

namespace {

constexpr const char* kPepperMeta = "duplicate_key_pepper";
constexpr const char* kPepperAad = "hearth-server duplicate key pepper v1";
constexpr const char* kFindingColumns =
    "id, pair, kind, first, second, first_family, second_family, reasons, raised_at, status, decided_at, decided_by";

DuplicateFinding finding_from(Statement& r) {
  DuplicateFinding f;
  f.id = r.integer(0);
  f.pair = r.text(1);
  f.kind = r.text(2);
  f.first = r.text(3);
  f.second = r.text(4);
  f.first_family = r.text(5);
  f.second_family = r.text(6);
  f.reasons = r.text(7);
  f.raised_at = r.integer(8);
  f.status = r.text(9);
  f.decided_at = r.is_null(10) ? 0 : r.integer(10);
  f.decided_by = r.is_null(11) ? std::string() : r.text(11);
  return f;
}

IndexedPerson person_from(Statement& r) {
  return IndexedPerson{r.text(0), r.text(1), r.is_null(2) ? std::string() : r.text(2), r.text(3)};
}

}  // namespace

// A database made before the index: every family it holds is reviewed once (pending), which
// indexes its persons.
Result<void> create_duplicate_tables(sql::Connection& db) {
  return db.exec(schema_for(db.dialect(), R"SQL(
CREATE TABLE IF NOT EXISTS duplicate_keys(key_hash TEXT NOT NULL, person TEXT NOT NULL, family TEXT NOT NULL,
  PRIMARY KEY(key_hash, person)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS duplicate_keys_by_person ON duplicate_keys(person);
CREATE INDEX IF NOT EXISTS duplicate_keys_by_family ON duplicate_keys(family);
CREATE TABLE IF NOT EXISTS duplicate_persons(person TEXT PRIMARY KEY, family TEXT NOT NULL, merged_into TEXT,
  fingerprint TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS duplicate_persons_by_family ON duplicate_persons(family);
CREATE INDEX IF NOT EXISTS duplicate_persons_by_merge ON duplicate_persons(merged_into);
CREATE TABLE IF NOT EXISTS duplicate_pending(family TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS duplicate_findings(id INTEGER PRIMARY KEY, pair TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  first TEXT NOT NULL, second TEXT NOT NULL, first_family TEXT NOT NULL, second_family TEXT NOT NULL,
  reasons TEXT NOT NULL, raised_at INTEGER NOT NULL, status TEXT NOT NULL, decided_at INTEGER, decided_by TEXT);
CREATE INDEX IF NOT EXISTS duplicate_findings_first ON duplicate_findings(first);
CREATE INDEX IF NOT EXISTS duplicate_findings_second ON duplicate_findings(second);
INSERT INTO duplicate_pending(family)
  SELECT DISTINCT family FROM ops WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'duplicate_index')
  ON CONFLICT DO NOTHING;
INSERT INTO meta(key, value) VALUES('duplicate_index', '1') ON CONFLICT DO NOTHING;
)SQL"));
}

Result<std::string> SqlDuplicateStore::pepper() {
  if (pepper_) return *pepper_;
  auto st = db_.prepare("SELECT value FROM meta WHERE key = ?");
  if (!st) return st.error();
  st->bind(1, kPepperMeta);
  auto row = st->step();
  if (!row) return row.error();
  if (*row) {
    auto raw = platform::unbase64(st->text(0));
    if (!raw) return make_error(ErrorCode::corrupt, "the duplicate index's pepper: " + raw.error().message);
    auto plain = sealer_.open(kDirectoryPartition, *raw, kPepperAad);
    if (!plain) return make_error(plain.error().code, "the duplicate index's pepper: " + plain.error().message);
    pepper_ = std::move(*plain);
    return *pepper_;
  }
  auto fresh = platform::random_bytes(32);
  if (!fresh) return fresh.error();
  auto sealed = sealer_.seal(kDirectoryPartition, *fresh, kPepperAad);
  if (!sealed) return sealed.error();
  // Another worker or server may have made one meanwhile: the stored one is the pepper.
  if (auto r = run(db_, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT DO NOTHING",
                   {kPepperMeta, platform::base64(*sealed)});
      !r)
    return r.error();
  return pepper();  // read back: this one, or the one made first
}

Result<std::string> SqlDuplicateStore::key_hash(const std::string& key) {
  auto p = pepper();
  if (!p) return p.error();
  return platform::sha256_hex(*p + "|" + key);
}

Result<std::optional<IndexedPerson>> SqlDuplicateStore::person(const std::string& person) {
  auto st = db_.cached("SELECT person, family, merged_into, fingerprint FROM duplicate_persons WHERE person = ?");
  if (!st) return st.error();
  (*st)->bind(1, person);
  auto row = (*st)->step();
  if (!row) {
    (*st)->reset();
    return row.error();
  }
  std::optional<IndexedPerson> out;
  if (*row) out = person_from(**st);
  (*st)->reset();
  return out;
}

Result<void> SqlDuplicateStore::index_person(const IndexedPerson& p, const std::vector<std::string>& key_hashes) {
  if (auto r = run(db_,
                   "INSERT INTO duplicate_persons(person, family, merged_into, fingerprint) VALUES(?, ?, NULLIF(?, ''), ?) "
                   "ON CONFLICT(person) DO UPDATE SET family = excluded.family, merged_into = excluded.merged_into, "
                   "fingerprint = excluded.fingerprint",
                   {p.person, p.family, p.merged_into, p.fingerprint});
      !r)
    return r;
  if (auto r = run(db_, "DELETE FROM duplicate_keys WHERE person = ?", {p.person}); !r) return r;
  for (const auto& h : key_hashes)
    if (auto r = run(db_, "INSERT INTO duplicate_keys(key_hash, person, family) VALUES(?, ?, ?) ON CONFLICT DO NOTHING",
                     {h, p.person, p.family});
        !r)
      return r;
  return {};
}

Result<std::vector<IndexedPerson>> SqlDuplicateStore::with_key(const std::string& key_hash, size_t limit) {
  std::vector<IndexedPerson> out;
  auto st = db_.prepare(
      "SELECT p.person, p.family, p.merged_into, p.fingerprint FROM duplicate_keys k "
      "JOIN duplicate_persons p ON p.person = k.person WHERE k.key_hash = ? ORDER BY k.person LIMIT ?");
  if (!st) return st.error();
  st->bind(1, key_hash).bind(2, static_cast<int64_t>(limit));
  auto done = st->each([&](Statement& r) { out.push_back(person_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<std::vector<IndexedPerson>> SqlDuplicateStore::merged_into(const std::string& person) {
  std::vector<IndexedPerson> out;
  auto st = db_.prepare(
      "SELECT person, family, merged_into, fingerprint FROM duplicate_persons WHERE merged_into = ? ORDER BY person");
  if (!st) return st.error();
  st->bind(1, person);
  auto done = st->each([&](Statement& r) { out.push_back(person_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<void> SqlDuplicateStore::mark_pending(const std::string& family) {
  auto st = db_.cached("INSERT INTO duplicate_pending(family) VALUES(?) ON CONFLICT DO NOTHING");
  if (!st) return st.error();
  (*st)->bind(1, family);
  return (*st)->run();
}

Result<std::vector<std::string>> SqlDuplicateStore::take_pending(size_t limit) {
  std::vector<std::string> out;
  auto st = db_.prepare("DELETE FROM duplicate_pending WHERE family IN "
                        "(SELECT family FROM duplicate_pending ORDER BY family LIMIT ?) RETURNING family");
  if (!st) return st.error();
  st->bind(1, static_cast<int64_t>(limit));
  auto done = st->each([&](Statement& r) { out.push_back(r.text(0)); });
  if (!done) return done.error();
  return out;
}

Result<bool> SqlDuplicateStore::take_pending_family(const std::string& family) {
  auto st = db_.prepare("DELETE FROM duplicate_pending WHERE family = ? RETURNING 1");
  if (!st) return st.error();
  st->bind(1, family);
  bool was = false;
  auto done = st->each([&](Statement&) { was = true; });
  if (!done) return done.error();
  return was;
}

Result<bool> SqlDuplicateStore::add_finding(DuplicateFinding& f) {
  auto st = db_.prepare(
      "INSERT INTO duplicate_findings(pair, kind, first, second, first_family, second_family, reasons, raised_at, "
      "status) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(pair) DO NOTHING RETURNING id");
  if (!st) return st.error();
  st->bind(1, f.pair).bind(2, f.kind).bind(3, f.first).bind(4, f.second).bind(5, f.first_family);
  st->bind(6, f.second_family).bind(7, f.reasons).bind(8, f.raised_at).bind(9, f.status);
  auto id = integer(*st, 0);
  if (!id) return id.error();
  if (*id == 0) return false;
  f.id = *id;
  return true;
}

Result<std::vector<DuplicateFinding>> SqlDuplicateStore::findings(const std::string& family, bool all) {
  std::vector<DuplicateFinding> out;
  auto st = db_.prepare(std::string("SELECT ") + kFindingColumns +
                        " FROM duplicate_findings WHERE (?1 = '' OR first_family = ?1 OR second_family = ?1) "
                        "AND (?2 = 1 OR status = 'OPEN') ORDER BY id");
  if (!st) return st.error();
  st->bind(1, family).bind(2, int64_t{all ? 1 : 0});
  auto done = st->each([&](Statement& r) { out.push_back(finding_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<std::vector<DuplicateFinding>> SqlDuplicateStore::findings_of(const std::string& record) {
  std::vector<DuplicateFinding> out;
  auto st = db_.prepare(std::string("SELECT ") + kFindingColumns +
                        " FROM duplicate_findings WHERE first = ?1 OR second = ?1 ORDER BY id");
  if (!st) return st.error();
  st->bind(1, record);
  auto done = st->each([&](Statement& r) { out.push_back(finding_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<void> SqlDuplicateStore::decide(int64_t id, const std::string& status, const std::string& by, int64_t at) {
  auto st = db_.prepare("UPDATE duplicate_findings SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, status).bind(2, by).bind(3, at).bind(4, id);
  return st->run();
}

}  // namespace hearth::server::sql
