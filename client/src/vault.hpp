#pragma once
// Keys of one store (docs/encryption.md). A random master key wraps one random data key per
// family (a platform::Keyring; the wrapped keys live in the `family_keys` table). The master
// key is wrapped by a key derived from the practitioner's PIN (scrypt) or by a key the host app
// takes from the platform keystore. With encryption off (benchmarks and development only)
// sealing is the identity.
// Thread-safety: confined to the owning Store.
#include <memory>
#include <optional>
#include <string>

#include "hearth/core/error.hpp"
#include "hearth/platform/crypto.hpp"
#include "hearth/platform/keyring.hpp"
#include "hearth/platform/random.hpp"
#include "hearth/platform/sqlite_db.hpp"

namespace hearth::client {

using platform::Database;
using platform::Statement;
using platform::Transaction;

struct VaultCredentials {
  bool encrypted = true;
  std::optional<std::string> pin;
  std::optional<std::string> keystore_key;  // 32 raw bytes
  platform::ScryptParams kdf;
  int max_pin_attempts = 10;
};

class Vault {
 public:
  // Creates the vault of a new store, or unlocks an existing one. A wrong PIN is counted;
  // `wipe_needed` is set when the count reached the limit.
  static Result<std::unique_ptr<Vault>> open(Database& db, const VaultCredentials& creds, bool& wipe_needed);
  static Result<void> create_tables(Database& db);

  // Seals `plain` under the family's key (made on first use, inside the caller's transaction).
  Result<std::string> seal(const std::string& family, std::string_view plain, std::string_view aad);
  Result<std::string> open(const std::string& family, std::string_view sealed, std::string_view aad);

  Result<void> change_pin(const std::string& old_pin, const std::string& new_pin, const platform::ScryptParams& kdf);
  // Destroys the family's key: the wrapped key is deleted (zeroed on disk by secure_delete)
  // and forgotten. Everything sealed under it can no longer be read.
  Result<void> destroy_family_key(const std::string& family);
  // Drops a cached key (after a rolled-back transaction that may have created it); it is
  // read again from the database when next needed.
  void forget_cached(const std::string& family) {
    if (keyring_) keyring_->destroy(family);
  }
  // Drops every cached family key (another connection may have destroyed or created one).
  void forget_all_cached() {
    if (keyring_) keyring_->forget_all();
  }
  // Overwrites every wrapped key in place (master and families).
  static Result<void> shred_all(Database& db);

  // The key lease (N5, docs/encryption.md). Anchored: the master key's wrapping says the store
  // keeps a lease, so a missing lease row means the store was altered (the lease counts as
  // ended). To start: a new store, or one made before the lease (anchored by this open), whose
  // owner must record its first lease in the same transaction.
  bool lease_anchored() const { return lease_anchored_; }
  bool lease_to_start() const { return lease_to_start_; }

 private:
  explicit Vault(Database& db) : db_(db) {}
  Result<void> unlock_with(const platform::Key& master);
  Result<platform::Sealer*> family_sealer(const std::string& family, bool create);

  Database& db_;
  std::optional<platform::Key> master_;
  std::optional<platform::Keyring> keyring_;  // the master key and the family keys it wraps
  bool lease_anchored_ = false;
  bool lease_to_start_ = false;
};

}  // namespace hearth::client
