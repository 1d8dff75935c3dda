#include "vault.hpp"

namespace hearth::client {

using platform::Database;
using platform::Statement;
using platform::Transaction;

namespace {
// The master key's wrapping names whether the store keeps a key lease (N5): stores made before
// the lease existed used the first label. A wrapping cannot be changed back without the key
// that made it (the PIN's or the keystore's), so deleting the lease row does not turn a leased
// store into one that may start a fresh lease.
constexpr const char* kMasterAad = "hearth master key v1";
constexpr const char* kLeasedMasterAad = "hearth master key v1|lease";
// A family key is wrapped with the associated data "hearth family key v1|<family>".
constexpr const char* kFamilyKeyLabel = "hearth family key v1";

struct VaultRow {
  std::string mode;
  std::string salt;
  platform::ScryptParams kdf;
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
  v.kdf = platform::ScryptParams{static_cast<uint64_t>(st->integer(2)), static_cast<uint64_t>(st->integer(3)),
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
      auto master = platform::Key::random();
      if (!master) return master.error();
      platform::Key kek;
      if (creds.keystore_key) {
        auto key = platform::Key::from_bytes(*creds.keystore_key);
        if (!key) return make_error(ErrorCode::invalid_argument, "a keystore key must be exactly 32 bytes");
        v.mode = "keystore";
        kek = *key;
      } else if (creds.pin) {
        if (creds.pin->size() < 4) return make_error(ErrorCode::invalid_argument, "a PIN must have at least 4 characters");
        v.mode = "pin";
        auto salt = platform::random_bytes(16);
        if (!salt) return salt.error();
        v.salt = *salt;
        v.kdf = creds.kdf;
        auto derived = platform::derive_key(*creds.pin, v.salt, v.kdf);
        if (!derived) return derived.error();
        kek = *derived;
      } else {
        return make_error(ErrorCode::invalid_argument,
                          "a new encrypted store needs a PIN or a keystore key (encryption at rest is always on)");
      }
      auto wrapped = platform::seal(kek, master->view(), kLeasedMasterAad);
      if (!wrapped) return wrapped.error();
      v.wrapped = *wrapped;
      if (auto r = vault->unlock_with(*master); !r) return r.error();
      vault->lease_anchored_ = true;
    }
    vault->lease_to_start_ = true;
    if (auto r = write_row(db, v); !r) return r.error();
    return vault;
  }

  const VaultRow& v = **existing;
  if (v.mode == "none") {
    if (creds.encrypted && (creds.pin || creds.keystore_key))
      return make_error(ErrorCode::locked, "this store was created without encryption; it cannot be unlocked with a PIN or key");
    vault->lease_to_start_ = true;  // only if it has none: nothing can anchor it without keys
    return vault;
  }
  if (v.mode == "wiped") return make_error(ErrorCode::locked, "this store has been wiped; enrol the device again");
  platform::Key kek;
  if (v.mode == "keystore") {
    auto key = platform::Key::from_bytes(creds.keystore_key.value_or(""));
    if (!key) return make_error(ErrorCode::locked, "this store is unlocked by the platform keystore; supply its 32-byte key");
    kek = *key;
  } else {
    if (!creds.pin) return make_error(ErrorCode::locked, "this store is locked; enter the PIN");
    auto derived = platform::derive_key(*creds.pin, v.salt, v.kdf);
    if (!derived) return derived.error();
    kek = *derived;
  }
  auto master = platform::open(kek, v.wrapped, kLeasedMasterAad);
  bool before_lease = false;
  if (!master && master.error().code == ErrorCode::corrupt) {
    auto older = platform::open(kek, v.wrapped, kMasterAad);  // a store made before the key lease
    if (older) {
      master = std::move(older);
      before_lease = true;
    }
  }
  if (!master) {
    if (master.error().code != ErrorCode::corrupt) return master.error();
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
  auto master_key = platform::Key::from_bytes(*master);
  if (!master_key) return make_error(ErrorCode::corrupt, "the wrapped master key has the wrong length");
  if (auto r = vault->unlock_with(*master_key); !r) return r.error();
  vault->lease_anchored_ = true;
  if (before_lease) {
    // Anchored from now on (in the caller's transaction, with the lease the store then starts).
    auto wrapped = platform::seal(kek, master_key->view(), kLeasedMasterAad);
    if (!wrapped) return wrapped.error();
    VaultRow anchored = v;
    anchored.wrapped = *wrapped;
    if (auto r = write_row(db, anchored); !r) return r.error();
    vault->lease_to_start_ = true;
  }
  if (v.failed != 0)
    if (auto r = set_failed(db, 0); !r) return r.error();
  // Parameters are upgradable: a store made with a weaker KDF is re-wrapped on unlock.
  if (v.mode == "pin" && creds.kdf.n > v.kdf.n) {
    if (auto r = vault->change_pin(*creds.pin, *creds.pin, creds.kdf); !r) return r.error();
  }
  return vault;
}

Result<void> Vault::change_pin(const std::string& old_pin, const std::string& new_pin, const platform::ScryptParams& kdf) {
  auto row = read_row(db_);
  if (!row) return row.error();
  if (!*row || (*row)->mode != "pin") return make_error(ErrorCode::invalid_argument, "this store is not unlocked by a PIN");
  if (new_pin.size() < 4) return make_error(ErrorCode::invalid_argument, "a PIN must have at least 4 characters");
  auto old_kek = platform::derive_key(old_pin, (*row)->salt, (*row)->kdf);
  if (!old_kek) return old_kek.error();
  if (!platform::open(*old_kek, (*row)->wrapped, kLeasedMasterAad) && !platform::open(*old_kek, (*row)->wrapped, kMasterAad))
    return make_error(ErrorCode::locked, "the current PIN is wrong");
  VaultRow v = **row;
  auto salt = platform::random_bytes(16);
  if (!salt) return salt.error();
  v.salt = *salt;
  v.kdf = kdf;
  auto kek = platform::derive_key(new_pin, v.salt, v.kdf);
  if (!kek) return kek.error();
  auto wrapped = platform::seal(*kek, master_->view(), kLeasedMasterAad);  // the data keys are untouched
  if (!wrapped) return wrapped.error();
  v.wrapped = *wrapped;
  v.failed = 0;
  return write_row(db_, v);
}

Result<void> Vault::unlock_with(const platform::Key& master) {
  auto keyring = platform::Keyring::create(master, kFamilyKeyLabel);
  if (!keyring) return keyring.error();
  master_ = master;
  keyring_.emplace(std::move(*keyring));
  return {};
}

Result<platform::Sealer*> Vault::family_sealer(const std::string& family, bool create) {
  if (keyring_->loaded(family)) return keyring_->sealer(family);
  auto st = db_.cached("SELECT wrapped FROM family_keys WHERE family = ?");
  if (!st) return st.error();
  (*st)->bind(1, family);
  auto row = (*st)->step();
  if (!row) return row.error();
  if (*row) {
    std::string wrapped = (*st)->blob(0);
    (*st)->reset();
    if (!keyring_->load(family, wrapped))
      return make_error(ErrorCode::corrupt, "the key of family " + family + " failed authentication");
    return keyring_->sealer(family);
  }
  (*st)->reset();
  if (!create) return make_error(ErrorCode::not_found, "family " + family + " has no key on this device (purged?)");
  auto wrapped = keyring_->create_key(family);
  if (!wrapped) return wrapped.error();
  auto ins = db_.cached("INSERT INTO family_keys(family, wrapped) VALUES(?, ?)");
  if (!ins) return ins.error();
  (*ins)->bind(1, family).bind_blob(2, *wrapped);
  if (auto r = (*ins)->run(); !r) {
    keyring_->destroy(family);  // not stored: forget it, so no value is sealed under a lost key
    return r.error();
  }
  return keyring_->sealer(family);
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
  if (keyring_) keyring_->destroy(family);  // OpenSSL clears the key schedule when the contexts are freed
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
