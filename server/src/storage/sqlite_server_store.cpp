#include "sqlite_server_store.hpp"

#include "hearth/core/json_writer.hpp"
#include "hearth/platform/encoding.hpp"
#include "hearth/platform/sqlite_db.hpp"

namespace hearth::server {

namespace {

using platform::Database;
using platform::Statement;
using platform::Transaction;
using platform::sha256_hex;

const char* kSchema = R"SQL(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS organisations(id TEXT PRIMARY KEY, name TEXT NOT NULL, org_type TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS practitioners(id TEXT PRIMARY KEY, organisation TEXT NOT NULL REFERENCES organisations(id),
  display_name TEXT NOT NULL, role TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS teams(family TEXT NOT NULL, practitioner TEXT NOT NULL, lead INTEGER NOT NULL,
  PRIMARY KEY(family, practitioner)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS teams_by_practitioner ON teams(practitioner);
CREATE TABLE IF NOT EXISTS enrol_codes(code_hash TEXT PRIMARY KEY, practitioner TEXT NOT NULL, expires_at INTEGER NOT NULL,
  spent INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices(id TEXT PRIMARY KEY, practitioner TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
  enrolled_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ops(seq INTEGER PRIMARY KEY AUTOINCREMENT, family TEXT NOT NULL, device TEXT NOT NULL,
  counter INTEGER NOT NULL, body BLOB NOT NULL, UNIQUE(device, counter));
CREATE INDEX IF NOT EXISTS ops_by_family ON ops(family, seq);
CREATE TABLE IF NOT EXISTS feeds(practitioner TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
  device TEXT NOT NULL, action TEXT NOT NULL, family TEXT NOT NULL, detail TEXT NOT NULL, hash TEXT NOT NULL);
)SQL";

std::string event_text(const AuditEvent& e) {
  JsonWriter w;
  w.begin_object();
  w.key("at").integer(e.at).key("actor").string(e.actor).key("device").string(e.device);
  w.key("action").string(e.action).key("family").string(e.family).key("detail").string(e.detail);
  w.end_object();
  return w.take();
}

class SqliteServerStore final : public ServerStore {
 public:
  explicit SqliteServerStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  Result<void> init() { return db_->exec(kSchema); }

  Result<void> transaction(const std::function<Result<void>()>& body) override {
    Transaction tx(*db_);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = body(); !r) return r;
    return tx.commit();
  }

  Result<void> add_organisation(const std::string& id, const std::string& name, const std::string& type) override {
    return run("INSERT INTO organisations(id, name, org_type) VALUES(?, ?, ?)", {id, name, type});
  }
  Result<void> add_practitioner(const std::string& id, const std::string& org, const std::string& name,
                                const std::string& role) override {
    auto known = exists("SELECT 1 FROM organisations WHERE id = ?", org);
    if (!known) return known.error();
    if (!*known) return make_error(ErrorCode::not_found, "no organisation '" + org + "'");
    return run("INSERT INTO practitioners(id, organisation, display_name, role) VALUES(?, ?, ?, ?)", {id, org, name, role});
  }
  Result<bool> practitioner_exists(const std::string& id) override {
    return exists("SELECT 1 FROM practitioners WHERE id = ?", id);
  }
  Result<void> allocate(const std::string& family, const std::string& practitioner, bool lead) override {
    auto known = practitioner_exists(practitioner);
    if (!known) return known.error();
    if (!*known) return make_error(ErrorCode::not_found, "no practitioner '" + practitioner + "'");
    auto st = db_->prepare("INSERT OR REPLACE INTO teams(family, practitioner, lead) VALUES(?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, family).bind(2, practitioner).bind(3, int64_t{lead ? 1 : 0});
    if (auto r = st->run(); !r) return r;
    return bump_feed(practitioner);
  }
  Result<void> deallocate(const std::string& family, const std::string& practitioner) override {
    if (auto r = run("DELETE FROM teams WHERE family = ? AND practitioner = ?", {family, practitioner}); !r) return r;
    return bump_feed(practitioner);
  }
  Result<std::vector<std::string>> families_of(const std::string& practitioner) override {
    return strings("SELECT family FROM teams WHERE practitioner = ? ORDER BY family", practitioner);
  }
  Result<std::vector<std::string>> team_of(const std::string& family) override {
    return strings("SELECT practitioner FROM teams WHERE family = ? ORDER BY practitioner", family);
  }

  Result<void> add_enrol_code(const std::string& hash, const std::string& practitioner, int64_t expires) override {
    auto st = db_->prepare("INSERT INTO enrol_codes(code_hash, practitioner, expires_at) VALUES(?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, hash).bind(2, practitioner).bind(3, expires);
    return st->run();
  }
  Result<std::optional<std::string>> spend_enrol_code(const std::string& hash, int64_t now) override {
    auto st = db_->prepare("SELECT practitioner FROM enrol_codes WHERE code_hash = ? AND spent = 0 AND expires_at > ?");
    if (!st) return st.error();
    st->bind(1, hash).bind(2, now);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<std::string>();
    std::string who = st->text(0);
    st->reset();
    if (auto r = run("UPDATE enrol_codes SET spent = 1 WHERE code_hash = ?", {hash}); !r) return r.error();
    return std::optional<std::string>(who);
  }
  Result<void> add_device(const std::string& id, const std::string& practitioner, const std::string& token_hash,
                          int64_t now, int64_t expires_at) override {
    auto existing = db_->prepare("SELECT practitioner, revoked FROM devices WHERE id = ?");
    if (!existing) return existing.error();
    existing->bind(1, id);
    auto row = existing->step();
    if (!row) return row.error();
    if (*row && (existing->integer(1) != 0 || existing->text(0) != practitioner))
      return make_error(ErrorCode::conflict, existing->integer(1) != 0
                                                 ? "device " + id + " was revoked and cannot enrol again; wipe it"
                                                 : "device " + id + " is enrolled for another practitioner");
    existing->reset();
    auto st = db_->prepare(
        "INSERT INTO devices(id, practitioner, token_hash, enrolled_at, last_seen, expires_at) VALUES(?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET token_hash = excluded.token_hash, last_seen = excluded.last_seen, "
        "expires_at = excluded.expires_at");
    if (!st) return st.error();
    st->bind(1, id).bind(2, practitioner).bind(3, token_hash).bind(4, now).bind(5, now).bind(6, expires_at);
    return st->run();
  }
  Result<std::optional<DeviceRecord>> device_by_token(const std::string& token_hash) override {
    auto st = db_->cached(
        "SELECT id, practitioner, enrolled_at, last_seen, revoked, expires_at FROM devices WHERE token_hash = ?");
    if (!st) return st.error();
    (*st)->bind(1, token_hash);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return std::optional<DeviceRecord>();
    DeviceRecord d{(*st)->text(0), (*st)->text(1), (*st)->integer(2), (*st)->integer(3), (*st)->integer(4) != 0,
                   (*st)->integer(5)};
    (*st)->reset();
    return std::optional<DeviceRecord>(d);
  }
  Result<std::vector<DeviceRecord>> devices() override {
    std::vector<DeviceRecord> out;
    auto st = db_->prepare(
        "SELECT id, practitioner, enrolled_at, last_seen, revoked, expires_at FROM devices ORDER BY enrolled_at, id");
    if (!st) return st.error();
    auto done = st->each([&](Statement& r) {
      out.push_back(DeviceRecord{r.text(0), r.text(1), r.integer(2), r.integer(3), r.integer(4) != 0, r.integer(5)});
    });
    if (!done) return done.error();
    return out;
  }
  Result<bool> revoke_device(const std::string& id) override {
    auto known = exists("SELECT 1 FROM devices WHERE id = ?", id);
    if (!known || !*known) return known;
    if (auto r = run("UPDATE devices SET revoked = 1 WHERE id = ?", {id}); !r) return r.error();
    return true;
  }
  Result<void> touch_device(const std::string& id, int64_t now) override {
    auto st = db_->cached("UPDATE devices SET last_seen = ? WHERE id = ?");
    if (!st) return st.error();
    (*st)->bind(1, now).bind(2, id);
    return (*st)->run();
  }

  Result<bool> has_op(const std::string& device, uint64_t counter) override {
    auto st = db_->cached("SELECT 1 FROM ops WHERE device = ? AND counter = ?");
    if (!st) return st.error();
    (*st)->bind(1, device).bind(2, static_cast<int64_t>(counter));
    auto row = (*st)->step();
    if (!row) return row.error();
    (*st)->reset();
    return *row;
  }
  Result<bool> family_exists(const std::string& family) override {
    return exists("SELECT 1 FROM ops WHERE family = ? LIMIT 1", family);
  }
  Result<int64_t> append_op(const StoredOp& op) override {
    auto st = db_->cached("INSERT INTO ops(family, device, counter, body) VALUES(?, ?, ?, ?)");
    if (!st) return st.error();
    (*st)->bind(1, op.family).bind(2, op.device).bind(3, static_cast<int64_t>(op.counter)).bind_blob(4, op.body);
    if (auto r = (*st)->run(); !r) return r.error();
    auto id = db_->cached("SELECT last_insert_rowid()");
    if (!id) return id.error();
    auto row = (*id)->step();
    if (!row) return row.error();
    int64_t seq = (*id)->integer(0);
    (*id)->reset();
    return seq;
  }
  Result<std::vector<StoredOp>> ops_after(const std::string& family, int64_t after, size_t max_bytes) override {
    std::vector<StoredOp> out;
    auto st = db_->prepare("SELECT seq, device, counter, body FROM ops WHERE family = ? AND seq > ? ORDER BY seq");
    if (!st) return st.error();
    st->bind(1, family).bind(2, after);
    size_t bytes = 0;
    while (bytes < max_bytes || out.empty()) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back(StoredOp{st->integer(0), family, st->text(1), static_cast<uint64_t>(st->integer(2)), st->blob(3)});
      bytes += out.back().body.size();
    }
    return out;
  }
  Result<int64_t> feed_version(const std::string& practitioner) override {
    auto st = db_->cached("SELECT version FROM feeds WHERE practitioner = ?");
    if (!st) return st.error();
    (*st)->bind(1, practitioner);
    auto row = (*st)->step();
    if (!row) return row.error();
    int64_t v = *row ? (*st)->integer(0) : 0;
    (*st)->reset();
    return v;
  }
  Result<void> bump_feed(const std::string& practitioner) override {
    auto st = db_->cached(
        "INSERT INTO feeds(practitioner, version) VALUES(?, 1) ON CONFLICT(practitioner) DO UPDATE SET version = version + 1");
    if (!st) return st.error();
    (*st)->bind(1, practitioner);
    return (*st)->run();
  }
  Result<uint64_t> next_server_counter() override {
    auto cur = db_->prepare("SELECT value FROM meta WHERE key = 'server_counter'");
    if (!cur) return cur.error();
    auto row = cur->step();
    if (!row) return row.error();
    uint64_t next = (*row ? std::stoull(cur->text(0)) : 0) + 1;
    cur->reset();
    if (auto r = run("INSERT OR REPLACE INTO meta(key, value) VALUES('server_counter', ?)", {std::to_string(next)}); !r)
      return r.error();
    return next;
  }

  Result<std::string> history_epoch() override {
    auto st = db_->prepare("SELECT value FROM meta WHERE key = 'history_epoch'");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    return *row ? st->text(0) : std::string();
  }
  Result<void> set_history_epoch(const std::string& epoch) override {
    return run("INSERT OR REPLACE INTO meta(key, value) VALUES('history_epoch', ?)", {epoch});
  }
  Result<uint64_t> highest_counter(const std::string& device) override {
    auto st = db_->cached("SELECT COALESCE(MAX(counter), 0) FROM ops WHERE device = ?");
    if (!st) return st.error();
    (*st)->bind(1, device);
    auto row = (*st)->step();
    if (!row) return row.error();
    auto v = static_cast<uint64_t>((*st)->integer(0));
    (*st)->reset();
    return v;
  }
  Result<int64_t> highest_seq(const std::string& family) override {
    auto st = db_->cached("SELECT COALESCE(MAX(seq), 0) FROM ops WHERE family = ?");
    if (!st) return st.error();
    (*st)->bind(1, family);
    auto row = (*st)->step();
    if (!row) return row.error();
    int64_t v = (*st)->integer(0);
    (*st)->reset();
    return v;
  }

  Result<int64_t> last_seq() override {
    auto st = db_->cached("SELECT COALESCE(MAX(seq), 0) FROM ops");
    if (!st) return st.error();
    auto row = (*st)->step();
    if (!row) return row.error();
    int64_t v = (*st)->integer(0);
    (*st)->reset();
    return v;
  }

  Result<void> audit(const AuditEvent& e) override {
    auto prev = db_->cached("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!prev) return prev.error();
    auto row = (*prev)->step();
    if (!row) return row.error();
    std::string prev_hash = *row ? (*prev)->text(0) : std::string(64, '0');
    (*prev)->reset();
    auto st = db_->cached("INSERT INTO audit(at, actor, device, action, family, detail, hash) VALUES(?, ?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    (*st)->bind(1, e.at).bind(2, e.actor).bind(3, e.device).bind(4, e.action).bind(5, e.family).bind(6, e.detail);
    (*st)->bind(7, sha256_hex(prev_hash + event_text(e)));
    return (*st)->run();
  }
  Result<int64_t> verify_audit() override {
    auto st = db_->prepare("SELECT seq, at, actor, device, action, family, detail, hash FROM audit ORDER BY seq");
    if (!st) return st.error();
    std::string prev(64, '0');
    int64_t n = 0;
    while (true) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      AuditEvent e{st->integer(1), st->text(2), st->text(3), st->text(4), st->text(5), st->text(6)};
      std::string expected = sha256_hex(prev + event_text(e));
      if (expected != st->text(7))
        return make_error(ErrorCode::corrupt, "audit event " + std::to_string(st->integer(0)) +
                                                  " does not match the chain: it or an earlier event was altered");
      prev = expected;
      ++n;
    }
    return n;
  }

 private:
  Result<void> run(const char* sql, std::initializer_list<std::string> args) {
    auto st = db_->prepare(sql);
    if (!st) return st.error();
    int i = 1;
    for (const auto& a : args) st->bind(i++, a);
    return st->run();
  }
  Result<bool> exists(const char* sql, const std::string& arg) {
    auto st = db_->prepare(sql);
    if (!st) return st.error();
    st->bind(1, arg);
    auto row = st->step();
    if (!row) return row.error();
    return *row;
  }
  Result<std::vector<std::string>> strings(const char* sql, const std::string& arg) {
    std::vector<std::string> out;
    auto st = db_->prepare(sql);
    if (!st) return st.error();
    st->bind(1, arg);
    auto done = st->each([&](Statement& r) { out.push_back(r.text(0)); });
    if (!done) return done.error();
    return out;
  }

  std::unique_ptr<Database> db_;
};

}  // namespace

Result<std::unique_ptr<ServerStore>> open_sqlite_server_store(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return db.error();
  auto store = std::make_unique<SqliteServerStore>(std::move(db.value()));
  if (auto r = store->init(); !r) return r.error();
  return std::unique_ptr<ServerStore>(std::move(store));
}

}  // namespace hearth::server
