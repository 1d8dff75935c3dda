#include "keyring.hpp"

#include <openssl/crypto.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "hearth/platform/encoding.hpp"
#include "hearth/platform/sqlite_db.hpp"
#include "storage/sql/dialect.hpp"
#include "storage/sql_util.hpp"

namespace hearth::server {

using sql::Connection;
using sql::Statement;
using sql::Transaction;

namespace {

// Cached unwrapped keys beyond this are all dropped (and unwrapped again on use): a bound on
// memory, and on how long a key stays in memory after its family was last used.
constexpr size_t kMaxCached = 4096;
// The partition of the check value that tells a wrong KEK from a damaged keyring.
constexpr const char* kCheckPartition = "kek-check";

const char* kSchema = R"SQL(
PRAGMA journal_mode=WAL;
PRAGMA secure_delete=ON;
CREATE TABLE IF NOT EXISTS keyring_meta(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS family_keys(family TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS erasures(family TEXT PRIMARY KEY, at INTEGER NOT NULL, erased_by TEXT NOT NULL,
  basis TEXT NOT NULL, reference TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS erasure_late_work(op_id TEXT PRIMARY KEY, family TEXT NOT NULL, practitioner TEXT NOT NULL,
  at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS legal_holds(family TEXT PRIMARY KEY, at INTEGER NOT NULL, held_by TEXT NOT NULL,
  reason TEXT NOT NULL) WITHOUT ROWID;
)SQL";

// A keyring in PostgreSQL is read again for other servers' erasures at most this often.
constexpr int64_t kReadAgainMs = 250;

// Where a keyring is, for messages: its path, or its PostgreSQL database without credentials.
std::string where(const std::string& location) {
  return sql::is_postgres_uri(location) ? sql::postgres_location(location) : location;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::optional<std::string>> meta(Connection& db, const char* key) {
  auto st = db.prepare("SELECT value FROM keyring_meta WHERE key = ?");
  if (!st) return st.error();
  st->bind(1, std::string(key));
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(st->blob(0));
}

}  // namespace

Result<std::unique_ptr<SqlKeyring>> SqlKeyring::open(const std::string& path,
                                                           std::unique_ptr<keys::KeyEncryptionKey> kek) {
  auto db = sql::is_postgres_uri(path) ? sql::open_postgres(path) : sql::open_sqlite(path);
  if (!db) return make_error(db.error().code, "the keyring " + where(path) + ": " + db.error().message);
  std::unique_ptr<SqlKeyring> ring(new SqlKeyring(std::move(*db), std::move(kek)));
  if (auto r = ring->init(); !r) return make_error(r.error().code, "the keyring " + where(path) + ": " + r.error().message);
  return ring;
}

Result<void> SqlKeyring::init() {
  if (db_->dialect() == sql::Dialect::postgres) {
    // Servers sharing one database start together: one makes the tables and the identity, the
    // others wait and read them (0x4845415254480001, the lock pg_storage.cpp takes for its migrations).
    if (auto r = db_->exec("SELECT pg_advisory_lock(5207640365980975105)"); !r) return r;
    auto out = init_tables();
    (void)db_->exec("SELECT pg_advisory_unlock(5207640365980975105)");
    return out;
  }
  return init_tables();
}

Result<void> SqlKeyring::init_tables() {
  if (auto r = db_->exec(sql::schema_for(db_->dialect(), kSchema)); !r) return r;
  // Whatever an earlier process left in the WAL (an erasure cut short before its checkpoint)
  // is folded in and the WAL emptied: one try, so an open never waits on a serving process's
  // reads (the next open tries again).
  (void)checkpoint(1);
  Transaction tx(*db_);
  if (auto r = tx.begin(); !r) return r;
  // The keyring's identity: a database sealed under it records it (storage/sqlite_storage.cpp),
  // so a keyring made afresh is never taken for the one the data needs.
  auto id = meta(*db_, "keyring_id");
  if (!id) return id.error();
  if (!*id) {
    auto drawn = platform::random_hex(16);
    if (!drawn) return drawn.error();
    if (auto r = sql::run(*db_, "INSERT INTO keyring_meta(key, value) VALUES('keyring_id', ?)", {*drawn}); !r) return r;
    id = std::optional<std::string>(*drawn);
  }
  id_ = **id;
  auto check = meta(*db_, "kek_check");
  if (!check) return check.error();
  auto keys = sql::exists(*db_, "SELECT 1 FROM family_keys WHERE family <> ? LIMIT 1", "");
  if (!keys) return keys.error();
  if (!kek_) {
    if (*check || *keys)
      return make_error(ErrorCode::locked,
                        "it holds data keys wrapped by a key-encryption key (KEK), and none was given: the server's data "
                        "is encrypted at rest and cannot be read or written without it; give the KEK (the config's "
                        "\"kek\", $CREDENTIALS_DIRECTORY/hearth-kek, or DATA/keys/kek.key) or restore it from your "
                        "key backup (docs/server-encryption.md)");
    return tx.commit();
  }
  if (*check) {
    if (!kek_->unwrap(kCheckPartition, **check))
      return make_error(ErrorCode::locked,
                        kek_->describe() + " is not the key-encryption key (KEK) this keyring was made with: its keys "
                                           "do not unwrap. Give the right KEK (the config's \"kek\", or "
                                           "$CREDENTIALS_DIRECTORY/hearth-kek), or restore it from your key backup; "
                                           "never make a new one over a keyring that holds keys");
    return tx.commit();
  }
  if (*keys)
    return make_error(ErrorCode::corrupt, "it holds data keys but no KEK check value: the keyring was altered");
  auto probe = platform::Key::random();
  if (!probe) return probe.error();
  auto wrapped = kek_->wrap(kCheckPartition, *probe);
  if (!wrapped) return wrapped.error();
  auto st = db_->prepare("INSERT INTO keyring_meta(key, value) VALUES('kek_check', ?)");
  if (!st) return st.error();
  st->bind_blob(1, *wrapped);
  if (auto r = st->run(); !r) return r;
  return tx.commit();
}

Result<int64_t> SqlKeyring::written_version() {
  if (db_->dialect() == sql::Dialect::sqlite) {
    auto st = db_->cached("PRAGMA data_version");
    if (!st) return st.error();
    return sql::integer(**st, -1);
  }
  // PostgreSQL has no data_version: what another server's write changes is the erasures and
  // the KEK check value (a rotation), read at most every kReadAgainMs.
  const int64_t now = wall_ms();
  if (data_version_ != -1 && now - read_at_ < kReadAgainMs) return data_version_;
  read_at_ = now;
  auto st = db_->cached(
      "SELECT (SELECT count(*) FROM erasures) || '/' || (SELECT coalesce(max(at), 0) FROM erasures) || '/' || "
      "coalesce((SELECT encode(value, 'hex') FROM keyring_meta WHERE key = 'kek_check'), '')");
  if (!st) return st.error();
  auto row = (*st)->step();
  if (!row) return row.error();
  const std::string fingerprint = *row ? (*st)->text(0) : "";
  (*st)->reset();
  // Any value but -1 (never read); equal fingerprints give equal values.
  return static_cast<int64_t>(std::hash<std::string>{}(fingerprint) & 0x3fffffffffffffff);
}

Result<void> SqlKeyring::refresh() {
  auto version = written_version();
  if (!version) return version.error();
  if (*version != data_version_) {
    sealers_.clear();  // another connection committed: an erasure, perhaps; read the keys again
    // ... or a KEK rotation: then this process's KEK no longer wraps anything, and it must not
    // make keys under it (they would be lost with the old KEK).
    if (kek_ && data_version_ != -1) {
      auto check = meta(*db_, "kek_check");
      if (!check) return check.error();
      if (*check && !kek_->unwrap(kCheckPartition, **check))
        return make_error(ErrorCode::locked, "the keyring's KEK was rotated by another process (`hearth-server kek rotate`): "
                                             "restart hearth-server so that it reads the new KEK");
    }
    data_version_ = *version;
  }
  return {};
}

Result<void> SqlKeyring::checkpoint(int attempts) {
  if (db_->dialect() != sql::Dialect::sqlite) return {};  // PostgreSQL's own WAL and VACUUM
  // PRAGMA wal_checkpoint answers (busy, log frames, checkpointed frames): busy means a reader
  // kept it from finishing, so try again for a while.
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto st = db_->prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!st) return st.error();
    auto busy = sql::integer(*st, 0);
    if (!busy) return busy.error();
    if (*busy == 0) return {};
  }
  return make_error(ErrorCode::storage, "the keyring's WAL could not be checkpointed (another process kept reading it); "
                                        "it is checkpointed at the next open");
}

Result<platform::Sealer*> SqlKeyring::sealer_for(const std::string& family, bool create) {
  if (auto r = refresh(); !r) return r.error();
  if (auto it = sealers_.find(family); it != sealers_.end()) return it->second.get();
  if (sealers_.size() >= kMaxCached) sealers_.clear();
  auto gone = erased(family);
  if (!gone) return gone.error();
  if (*gone)
    return make_error(create ? ErrorCode::forbidden : ErrorCode::not_found,
                      "family " + family + " was erased (" + (*gone)->basis + ", by " + (*gone)->by +
                          "): its key was destroyed and its records can no longer be read or written");
  if (!kek_) {  // encryption off: only the register matters
    sealers_.emplace(family, nullptr);
    return static_cast<platform::Sealer*>(nullptr);
  }
  auto wrapped = stored_key(family);
  if (!wrapped) return wrapped.error();
  if (!*wrapped) {
    if (!create) return make_error(ErrorCode::corrupt, "the keyring holds no data key for family " + family);
    auto made = platform::Key::random();
    if (!made) return made.error();
    auto sealed = kek_->wrap(family, *made);
    if (!sealed) return sealed.error();
    // Stored before any value sealed under it is committed: at once, or with the batch
    // (defer_key_commits). Another process may have made one meanwhile: the stored key is the
    // one used.
    if (deferring_ && !keys_pending_) {
      if (auto r = db_->begin(); !r) return r.error();
      keys_pending_ = true;
    }
    // Never for a family another process erased since the check above.
    auto put = db_->cached(
        "INSERT INTO family_keys(family, wrapped, created_at) SELECT ?1, ?2, ?3 "
        "WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE family = ?1) ON CONFLICT DO NOTHING");
    if (!put) return put.error();
    (*put)->bind(1, family).bind_blob(2, *sealed).bind(3, wall_ms());
    if (auto r = (*put)->run(); !r) return r.error();
    wrapped = stored_key(family);
    if (!wrapped) return wrapped.error();
    if (!*wrapped)
      return make_error(ErrorCode::forbidden, "family " + family + " was erased: its records can no longer be written");
  }
  auto key = kek_->unwrap(family, **wrapped);
  if (!key)
    return make_error(ErrorCode::corrupt, "the data key of family " + family + " in the keyring does not unwrap under " +
                                              kek_->describe() + " (altered, or moved from another family)");
  auto sealer = platform::Sealer::create(*key);
  if (!sealer) return sealer.error();
  return sealers_.emplace(family, std::move(*sealer)).first->second.get();
}

Result<std::optional<std::string>> SqlKeyring::stored_key(const std::string& family) {
  auto st = db_->cached("SELECT wrapped FROM family_keys WHERE family = ?");
  if (!st) return st.error();
  (*st)->bind(1, family);
  auto row = (*st)->step();
  std::optional<std::string> wrapped;
  if (row && *row) wrapped = (*st)->blob(0);
  (*st)->reset();
  if (!row) return row.error();
  return wrapped;
}

Result<void> SqlKeyring::commit_deferred_keys() {
  deferring_ = false;
  if (!keys_pending_) return {};
  keys_pending_ = false;
  auto done = db_->commit();
  if (!done) {
    (void)db_->rollback();
    sealers_.clear();  // keys made in the batch are not stored: never seal under them
    return make_error(done.error().code, "storing new family keys in the keyring failed: " + done.error().message);
  }
  return {};
}

Result<std::string> SqlKeyring::seal(const std::string& family, std::string_view plaintext, std::string_view aad) {
  auto sealer = sealer_for(family, true);
  if (!sealer) return sealer.error();
  if (!*sealer) return std::string(plaintext);
  return (*sealer)->seal(plaintext, aad);
}

Result<std::string> SqlKeyring::open(const std::string& family, std::string_view sealed, std::string_view aad) {
  auto sealer = sealer_for(family, false);
  if (!sealer) return sealer.error();
  if (!*sealer) return std::string(sealed);
  auto plain = (*sealer)->open(sealed, aad);
  if (!plain) return make_error(ErrorCode::corrupt, std::string(aad) + " (family " + family + "): " + plain.error().message);
  return plain;
}

Result<std::optional<Erasure>> SqlKeyring::erased(const std::string& family) {
  // A family whose key is cached was not erased when the keyring was last read, and nobody has
  // written the keyring since (refresh drops the cache then): no query per op on the push path.
  if (auto r = refresh(); !r) return r.error();
  // On PostgreSQL another server may have erased the family since refresh() last read the
  // register (at most kReadAgainMs ago): asked every time, so no work is taken for it meanwhile.
  if (db_->dialect() == sql::Dialect::sqlite && sealers_.count(family)) return std::optional<Erasure>();
  auto st = db_->cached("SELECT at, erased_by, basis, reference FROM erasures WHERE family = ?");
  if (!st) return st.error();
  (*st)->bind(1, family);
  auto row = (*st)->step();
  std::optional<Erasure> out;
  if (row && *row) out = Erasure{family, (*st)->integer(0), (*st)->text(1), (*st)->text(2), (*st)->text(3)};
  (*st)->reset();
  if (!row) return row.error();
  return out;
}

Result<std::vector<Erasure>> SqlKeyring::erasures() {
  std::vector<Erasure> out;
  auto st = db_->prepare("SELECT family, at, erased_by, basis, reference FROM erasures ORDER BY at, family");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) {
    out.push_back(Erasure{r.text(0), r.integer(1), r.text(2), r.text(3), r.text(4)});
  });
  if (!done) return done.error();
  return out;
}

Result<void> SqlKeyring::erase(const Erasure& e) {
  {
    Transaction tx(*db_);
    if (auto r = tx.begin(); !r) return r;
    auto already = erased(e.family);
    if (!already) return already.error();
    if (*already) return make_error(ErrorCode::conflict, "family " + e.family + " was erased already");
    // Checked in the same transaction that destroys the key: a hold placed meanwhile by another
    // process is never passed over.
    auto held = hold(e.family);
    if (!held) return held.error();
    if (*held)
      return make_error(ErrorCode::forbidden, "family " + e.family + " is under a legal hold (" + (*held)->reason +
                                                  ", placed by " + (*held)->by + "): lift it first (DOMAIN.md §10.1)");
    if (auto r = sql::run(*db_, "DELETE FROM family_keys WHERE family = ?", {e.family}); !r) return r;
    auto st = db_->prepare("INSERT INTO erasures(family, at, erased_by, basis, reference) VALUES(?, ?, ?, ?, ?)");
    if (!st) return st.error();
    st->bind(1, e.family).bind(2, e.at).bind(3, e.by).bind(4, e.basis).bind(5, e.reference);
    if (auto r = st->run(); !r) return r;
    if (auto r = tx.commit(); !r) return r;
  }
  sealers_.erase(e.family);  // the Sealer frees (and OpenSSL clears) the expanded key
  // No older page image keeps the wrapped key: fold the WAL into the file (where secure_delete
  // zeroed it) and truncate the WAL. The erasure stands even when a reader delays this; the
  // next open of the keyring does it.
  (void)checkpoint(50);
  return {};
}

Result<void> SqlKeyring::set_hold(const LegalHold& h) {
  auto st = db_->prepare("INSERT INTO legal_holds(family, at, held_by, reason) VALUES(?, ?, ?, ?) ON CONFLICT(family) DO UPDATE SET "
      "at = excluded.at, held_by = excluded.held_by, reason = excluded.reason");
  if (!st) return st.error();
  st->bind(1, h.family).bind(2, h.at).bind(3, h.by).bind(4, h.reason);
  return st->run();
}

Result<bool> SqlKeyring::lift_hold(const std::string& family) {
  auto st = db_->prepare("DELETE FROM legal_holds WHERE family = ? RETURNING 1");
  if (!st) return st.error();
  st->bind(1, family);
  auto n = sql::integer(*st, 0);
  if (!n) return n.error();
  return *n != 0;
}

Result<std::optional<LegalHold>> SqlKeyring::hold(const std::string& family) {
  auto st = db_->prepare("SELECT at, held_by, reason FROM legal_holds WHERE family = ?");
  if (!st) return st.error();
  st->bind(1, family);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<LegalHold>();
  return std::optional<LegalHold>(LegalHold{family, st->integer(0), st->text(1), st->text(2)});
}

Result<std::vector<LegalHold>> SqlKeyring::holds() {
  std::vector<LegalHold> out;
  auto st = db_->prepare("SELECT family, at, held_by, reason FROM legal_holds ORDER BY family");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) { out.push_back(LegalHold{r.text(0), r.integer(1), r.text(2), r.text(3)}); });
  if (!done) return done.error();
  return out;
}

Result<void> SqlKeyring::note_late_work(const LateWork& w) {
  auto st = db_->cached("INSERT INTO erasure_late_work(op_id, family, practitioner, at) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING");
  if (!st) return st.error();
  (*st)->bind(1, w.op_id).bind(2, w.family).bind(3, w.practitioner).bind(4, w.at);
  return (*st)->run();
}

Result<std::vector<LateWork>> SqlKeyring::late_work(const std::string& family) {
  std::vector<LateWork> out;
  auto st = db_->prepare("SELECT op_id, practitioner, at FROM erasure_late_work WHERE family = ? ORDER BY at, op_id");
  if (!st) return st.error();
  st->bind(1, family);
  auto done = st->each([&](Statement& r) { out.push_back(LateWork{family, r.text(0), r.text(1), r.integer(2)}); });
  if (!done) return done.error();
  return out;
}

Result<size_t> SqlKeyring::rotate(std::unique_ptr<keys::KeyEncryptionKey> to) {
  if (!kek_ || !to) return make_error(ErrorCode::invalid_argument, "rotating the KEK needs the current KEK and a new one");
  Transaction tx(*db_);
  if (auto r = tx.begin(); !r) return r.error();
  std::vector<std::pair<std::string, std::string>> rows;
  auto st = db_->prepare("SELECT family, wrapped FROM family_keys ORDER BY family");
  if (!st) return st.error();
  if (auto r = st->each([&](Statement& s) { rows.emplace_back(s.text(0), s.blob(1)); }); !r) return r.error();
  auto check = meta(*db_, "kek_check");
  if (!check) return check.error();
  if (*check) rows.emplace_back(kCheckPartition, **check);
  auto put = db_->prepare("UPDATE family_keys SET wrapped = ? WHERE family = ?");
  if (!put) return put.error();
  size_t done = 0;
  for (const auto& [partition, wrapped] : rows) {
    auto key = kek_->unwrap(partition, wrapped);
    if (!key) return make_error(ErrorCode::corrupt, "the data key of " + partition + " does not unwrap: " + key.error().message);
    auto again = to->wrap(partition, *key);
    if (!again) return again.error();
    if (partition == kCheckPartition) {
      auto m = db_->prepare("UPDATE keyring_meta SET value = ? WHERE key = 'kek_check'");
      if (!m) return m.error();
      m->bind_blob(1, *again);
      if (auto r = m->run(); !r) return r.error();
      continue;
    }
    put->bind_blob(1, *again).bind(2, partition);
    if (auto r = put->run(); !r) return r.error();
    ++done;
  }
  if (auto r = tx.commit(); !r) return r.error();
  kek_ = std::move(to);
  sealers_.clear();
  (void)checkpoint(50);
  return done;
}

Result<void> SqlKeyring::back_up(const std::string& dest) {
  if (dest.empty()) return make_error(ErrorCode::invalid_argument, "DEST is empty: give the name of the file to write");
  std::error_code ec;
  if (std::filesystem::exists(dest, ec) || ec)
    return make_error(ErrorCode::conflict, dest + " already exists; a backup never overwrites a file: choose a new name");
  std::string tmp = dest + ".tmp";
  std::filesystem::remove(tmp, ec);
  if (!db_->sqlite())
    return make_error(ErrorCode::invalid_argument, "this keyring is in " + db_->describe() +
                                                       ": back it up with PostgreSQL's own tools (pg_dump of its tables)");
  auto copied = db_->sqlite()->backup_to(tmp, 256);
  if (!copied) {
    std::filesystem::remove(tmp, ec);
    return copied.error();
  }
  if (::link(tmp.c_str(), dest.c_str()) != 0) {  // link(2) never replaces an existing name
    std::filesystem::remove(tmp, ec);
    return make_error(ErrorCode::storage, "cannot make " + dest);
  }
  std::filesystem::remove(tmp, ec);
  return {};
}

Result<size_t> SqlKeyring::key_count() {
  auto st = db_->prepare("SELECT count(*) FROM family_keys");
  if (!st) return st.error();
  auto n = sql::integer(*st, 0);
  if (!n) return n.error();
  return static_cast<size_t>(*n);
}

}  // namespace hearth::server
