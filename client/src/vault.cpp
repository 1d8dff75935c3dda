#include "vault.hpp"

namespace hearth::client {

using platform::Database;
using platform::Statement;
using platform::Transaction;

namespace {
constexpr const char* kMasterAad = "hearth master key v1";
std::string family_aad(const std::string& family) { return "hearth family key v1|" + family; }

struct VaultRow {
  std::string mode;
  std::string salt;
  crypto::ScryptParams kdf;
  std::string wrapped;
  int64_t failed = 0;
};

Result<std::optional<VaultRow>> read_row(Database& db) {
  auto st = db.prepare("SELECT mode, salt, n, r, p, wrapped_master, failed_attempts FROM vault WHERE id = 1");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<VaultRow>();
  VaultRow v;
  v.mode = st->text(0);
  v.salt = st->blob(1);
  v.kdf = crypto::ScryptParams{static_cast<uint64_t>(st->integer(2)), static_cast<uint64_t>(st->integer(3)),
                               static_cast<uint64_t>(st->integer(4))};
  v.wrapped = st->blob(5);
  v.failed = st->integer(6);
  return std::optional<VaultRow>(std::move(v));
}

Result<void> write_row(Database& db, const VaultRow& v) {
  auto st = db.prepare(
      "INSERT OR REPLACE INTO vault(id, mode, salt, n, r, p, wrapped_master, failed_attempts) VALUES(1, ?, ?, ?, ?, ?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, v.mode).bind_blob(2, v.salt).bind(3, static_cast<int64_t>(v.kdf.n)).bind(4, static_cast<int64_t>(v.kdf.r));
  st->bind(5, static_cast<int64_t>(v.kdf.p)).bind_blob(6, v.wrapped).bind(7, v.failed);
  return st->run();
}

Result<void> set_failed(Database& db, int64_t failed) {
  auto st = db.prepare("UPDATE vault SET failed_attempts = ? WHERE id = 1");
  if (!st) return st.error();
  st->bind(1, failed);
  return st->run();
}
}  // namespace

Result<void> Vault::create_tables(Database& db) {
  return db.exec(
      "CREATE TABLE IF NOT EXISTS vault(id INTEGER PRIMARY KEY CHECK (id = 1), mode TEXT NOT NULL, salt BLOB,"
      " n INTEGER, r INTEGER, p INTEGER, wrapped_master BLOB NOT NULL, failed_attempts INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS family_keys(family TEXT PRIMARY KEY, wrapped BLOB NOT NULL) WITHOUT ROWID;");
}

Result<std::unique_ptr<Vault>> Vault::open(Database& db, const VaultCredentials& creds, bool& wipe_needed) {
  wipe_needed = false;
  std::unique_ptr<Vault> vault(new Vault(db));
  auto existing = read_row(db);
  if (!existing) return existing.error();

  if (!*existing) {  // a new store
    VaultRow v;
    if (!creds.encrypted) {
      v.mode = "none";
      v.wrapped = "-";
    } else {
      crypto::Key master = crypto::Key::random();
      if (creds.keystore_key) {
        if (creds.keystore_key->size() != crypto::kKeyBytes)
          return make_error(ErrorCode::invalid_argument, "a keystore key must be exactly 32 bytes");
        v.mode = "keystore";
        v.wrapped = crypto::seal(crypto::Key(*creds.keystore_key), master.view(), kMasterAad);
      } else if (creds.pin) {
        if (creds.pin->size() < 4) return make_error(ErrorCode::invalid_argument, "a PIN must have at least 4 characters");
        v.mode = "pin";
        v.salt = crypto::random_bytes(16);
        v.kdf = creds.kdf;
        auto kek = crypto::derive_key(*creds.pin, v.salt, v.kdf);
        if (!kek) return kek.error();
        v.wrapped = crypto::seal(*kek, master.view(), kMasterAad);
      } else {
        return make_error(ErrorCode::invalid_argument,
                          "a new encrypted store needs a PIN or a keystore key (encryption at rest is always on)");
      }
      vault->master_ = master;
    }
    if (auto r = write_row(db, v); !r) return r.error();
    return vault;
  }

  const VaultRow& v = **existing;
  if (v.mode == "none") {
    if (creds.encrypted && (creds.pin || creds.keystore_key))
      return make_error(ErrorCode::locked, "this store was created without encryption; it cannot be unlocked with a PIN or key");
    return vault;
  }
  if (v.mode == "wiped") return make_error(ErrorCode::locked, "this store has been wiped; enrol the device again");
  crypto::Key kek;
  if (v.mode == "keystore") {
    if (!creds.keystore_key || creds.keystore_key->size() != crypto::kKeyBytes)
      return make_error(ErrorCode::locked, "this store is unlocked by the platform keystore; supply its 32-byte key");
    kek = crypto::Key(*creds.keystore_key);
  } else {
    if (!creds.pin) return make_error(ErrorCode::locked, "this store is locked; enter the PIN");
    auto derived = crypto::derive_key(*creds.pin, v.salt, v.kdf);
    if (!derived) return derived.error();
    kek = *derived;
  }
  auto master = crypto::open(kek, v.wrapped, kMasterAad);
  if (!master) {
    if (v.mode == "keystore") return make_error(ErrorCode::locked, "the keystore key does not unlock this store");
    int64_t failed = v.failed + 1;
    if (auto r = set_failed(db, failed); !r) return r.error();
    if (failed >= creds.max_pin_attempts) {
      wipe_needed = true;
      return make_error(ErrorCode::locked, "wrong PIN: attempt " + std::to_string(failed) + " of " +
                                               std::to_string(creds.max_pin_attempts) + "; the store has been wiped");
    }
    return make_error(ErrorCode::locked, "wrong PIN (" + std::to_string(creds.max_pin_attempts - failed) +
                                             " attempts left before the store wipes itself)");
  }
  vault->master_ = crypto::Key(*master);
  if (v.failed != 0)
    if (auto r = set_failed(db, 0); !r) return r.error();
  // Parameters are upgradable: a store made with a weaker KDF is re-wrapped on unlock.
  if (v.mode == "pin" && creds.kdf.n > v.kdf.n) {
    if (auto r = vault->change_pin(*creds.pin, *creds.pin, creds.kdf); !r) return r.error();
  }
  return vault;
}

Result<void> Vault::change_pin(const std::string& old_pin, const std::string& new_pin, const crypto::ScryptParams& kdf) {
  auto row = read_row(db_);
  if (!row) return row.error();
  if (!*row || (*row)->mode != "pin") return make_error(ErrorCode::invalid_argument, "this store is not unlocked by a PIN");
  if (new_pin.size() < 4) return make_error(ErrorCode::invalid_argument, "a PIN must have at least 4 characters");
  auto old_kek = crypto::derive_key(old_pin, (*row)->salt, (*row)->kdf);
  if (!old_kek) return old_kek.error();
  if (!crypto::open(*old_kek, (*row)->wrapped, kMasterAad)) return make_error(ErrorCode::locked, "the current PIN is wrong");
  VaultRow v = **row;
  v.salt = crypto::random_bytes(16);
  v.kdf = kdf;
  auto kek = crypto::derive_key(new_pin, v.salt, v.kdf);
  if (!kek) return kek.error();
  v.wrapped = crypto::seal(*kek, master_->view(), kMasterAad);  // the data keys are untouched
  v.failed = 0;
  return write_row(db_, v);
}

Result<crypto::Sealer*> Vault::family_sealer(const std::string& family, bool create) {
  auto cached = family_keys_.find(family);
  if (cached != family_keys_.end()) return cached->second.get();
  auto st = db_.cached("SELECT wrapped FROM family_keys WHERE family = ?");
  if (!st) return st.error();
  (*st)->bind(1, family);
  auto row = (*st)->step();
  if (!row) return row.error();
  if (*row) {
    std::string wrapped = (*st)->blob(0);
    (*st)->reset();
    auto raw = crypto::open(*master_, wrapped, family_aad(family));
    if (!raw) return make_error(ErrorCode::corrupt, "the key of family " + family + " failed authentication");
    auto sealer = std::make_unique<crypto::Sealer>(crypto::Key(*raw));
    return family_keys_.emplace(family, std::move(sealer)).first->second.get();
  }
  (*st)->reset();
  if (!create) return make_error(ErrorCode::not_found, "family " + family + " has no key on this device (purged?)");
  crypto::Key key = crypto::Key::random();
  auto ins = db_.cached("INSERT INTO family_keys(family, wrapped) VALUES(?, ?)");
  if (!ins) return ins.error();
  (*ins)->bind(1, family).bind_blob(2, crypto::seal(*master_, key.view(), family_aad(family)));
  if (auto r = (*ins)->run(); !r) return r.error();
  return family_keys_.emplace(family, std::make_unique<crypto::Sealer>(key)).first->second.get();
}

Result<std::string> Vault::seal(const std::string& family, std::string_view plain, std::string_view aad) {
  if (!master_) return std::string(plain);
  auto sealer = family_sealer(family, true);
  if (!sealer) return sealer.error();
  return (*sealer)->seal(plain, aad);
}

Result<std::string> Vault::open(const std::string& family, std::string_view sealed, std::string_view aad) {
  if (!master_) return std::string(sealed);
  auto sealer = family_sealer(family, false);
  if (!sealer) return sealer.error();
  return (*sealer)->open(sealed, aad);
}

Result<void> Vault::destroy_family_key(const std::string& family) {
  family_keys_.erase(family);  // OpenSSL clears the key schedule when the contexts are freed
  auto st = db_.prepare("DELETE FROM family_keys WHERE family = ?");
  if (!st) return st.error();
  st->bind(1, family);
  return st->run();
}

Result<void> Vault::shred_all(Database& db) {
  if (auto r = db.exec("UPDATE family_keys SET wrapped = zeroblob(length(wrapped))"); !r) return r;
  if (auto r = db.exec("DELETE FROM family_keys"); !r) return r;
  return db.exec("UPDATE vault SET wrapped_master = zeroblob(length(wrapped_master)), salt = NULL, mode = 'wiped'");
}

}  // namespace hearth::client
