#pragma once
// The server's keyring: one random data key per family, wrapped by the KEK (kek.hpp), and the
// erasure register, in a file of its own (DATA/keyring/keyring.db by default, or the config's
// "keyring") kept apart from the database and its backups (docs/server-encryption.md).
//
// Erasure is crypto-shredding (DOMAIN.md §10.3): erase() deletes the family's wrapped key
// (secure_delete zeroes it in the page; the WAL is checkpointed and truncated so no old page
// keeps a copy) and enters the family in the register in the same transaction. From then on
// seal() refuses the family and open() says its key was destroyed, in this process and in any
// other process using the same keyring file (the register is read again whenever another
// connection has written the file). A data backup restored later cannot bring the family back:
// its sealed rows cannot be opened, and `restore` deletes them by the register.
//
// Encryption at rest off (no KEK: tests' controls and the benchmark's baseline): values pass
// through unsealed, and the register still works. A keyring that holds keys refuses to open
// without its KEK, or with another one (ErrorCode::locked, saying which and what to do).
// Thread-safety: not thread-safe; used under the service's lock, like Storage.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "family_sealer.hpp"
#include "storage/sql/connection.hpp"
#include "kek.hpp"

namespace hearth::server {

// One entry of the erasure register: the minimal stub disposal leaves (DOMAIN.md §10.1).
struct Erasure {
  std::string family;
  int64_t at = 0;          // server time, ms since the Unix epoch
  std::string by;          // who erased it: a practitioner id, or "admin"
  std::string basis;       // OPENED_IN_ERROR, APPROVED_ERASURE or RETENTION_EXPIRED (DOMAIN.md §10.3)
  std::string reference;   // the approval's reference (no personal data: it stays readable)
};

// A legal hold (DOMAIN.md §10.1: e.g. a non-destruction notice): while it stands, the family
// cannot be erased. Kept with the register, so a data restore cannot lose it.
struct LegalHold {
  std::string family;
  int64_t at = 0;
  std::string by;
  std::string reason;  // the notice's reference (no personal data: it stays readable)
};

// Work a device sent for a family after its erasure: refused, and recorded here so the IG
// officer sees that it existed (its content goes with the family when the device purges it).
struct LateWork {
  std::string family;
  std::string op_id;  // "<device>:<counter>"
  std::string practitioner;
  int64_t at = 0;     // when the server refused it
};

class ServerKeys : public FamilySealer {
 public:
  // The family's register entry when it was erased.
  virtual Result<std::optional<Erasure>> erased(const std::string& family) = 0;
  // Every erasure, oldest first.
  virtual Result<std::vector<Erasure>> erasures() = 0;
  // Destroys the family's data key and enters `e` in the register (one transaction). A family
  // erased already is ErrorCode::conflict.
  virtual Result<void> erase(const Erasure& e) = 0;
  // Sets (or replaces) the family's legal hold; lift_hold returns false when it had none.
  virtual Result<void> set_hold(const LegalHold& hold) = 0;
  virtual Result<bool> lift_hold(const std::string& family) = 0;
  virtual Result<std::optional<LegalHold>> hold(const std::string& family) = 0;
  virtual Result<std::vector<LegalHold>> holds() = 0;
  // Records refused work of an erased family (once per op); lists it by family.
  virtual Result<void> note_late_work(const LateWork& work) = 0;
  virtual Result<std::vector<LateWork>> late_work(const std::string& family) = 0;

  // Batching for a storage transaction: between the two calls, keys made for new families are
  // written in one keyring transaction, committed by commit_deferred_keys(), which the storage
  // calls before committing its own (one fsync per push instead of one per new family).
  // Without a batch each new key is committed as it is made.
  virtual void defer_key_commits() = 0;
  // The keyring's identity, which a database sealed under it records.
  virtual const std::string& id() const = 0;
  virtual Result<void> commit_deferred_keys() = 0;
};

class SqlKeyring final : public ServerKeys {
 public:
  // Opens (or creates) the keyring at `path` (":memory:" for a throwaway one), or in the
  // PostgreSQL database `path` names (a postgresql:// URI: several servers share it). `kek` null means
  // encryption at rest off. ErrorCode::locked when the keyring holds keys and `kek` is null or
  // is not the KEK they were wrapped with.
  static Result<std::unique_ptr<SqlKeyring>> open(const std::string& path, std::unique_ptr<keys::KeyEncryptionKey> kek);

  bool enabled() const override { return kek_ != nullptr; }
  Result<std::string> seal(const std::string& family, std::string_view plaintext, std::string_view aad) override;
  Result<std::string> open(const std::string& family, std::string_view sealed, std::string_view aad) override;
  Result<std::optional<Erasure>> erased(const std::string& family) override;
  Result<std::vector<Erasure>> erasures() override;
  Result<void> erase(const Erasure& e) override;
  Result<void> set_hold(const LegalHold& hold) override;
  Result<bool> lift_hold(const std::string& family) override;
  Result<std::optional<LegalHold>> hold(const std::string& family) override;
  Result<std::vector<LegalHold>> holds() override;
  Result<void> note_late_work(const LateWork& work) override;
  Result<std::vector<LateWork>> late_work(const std::string& family) override;
  void defer_key_commits() override { deferring_ = true; }
  Result<void> commit_deferred_keys() override;

  // Re-wraps every data key under `to` (no value is re-sealed) in one transaction; from then on
  // this keyring uses `to`. Returns the number of keys re-wrapped.
  Result<size_t> rotate(std::unique_ptr<keys::KeyEncryptionKey> to);
  // Data keys held (not counting erased families).
  Result<size_t> key_count();
  // A consistent copy of the keyring (SQLite online backup) in a new file `dest` (mode 0600;
  // never over an existing file: ErrorCode::conflict). It holds wrapped keys only, useless
  // without the KEK; keep it apart from the KEK and from data backups.
  Result<void> back_up(const std::string& dest);
  // This keyring's identity (random, made with it): a sealed database names the keyring it
  // needs (storage/sqlite_storage.cpp).
  const std::string& id() const override { return id_; }

 private:
  SqlKeyring(std::unique_ptr<sql::Connection> db, std::unique_ptr<keys::KeyEncryptionKey> kek)
      : db_(std::move(db)), kek_(std::move(kek)) {}
  Result<void> init();
  Result<void> init_tables();
  // Drops cached keys when another connection wrote the keyring (an erasure by an admin command).
  Result<void> refresh();
  // A number that changes when another connection writes the keyring.
  Result<int64_t> written_version();
  // Folds the WAL into the file and truncates it, trying `attempts` times 100 ms apart while a
  // reader holds it.
  Result<void> checkpoint(int attempts);
  // The family's sealer, its key unwrapped (or made and stored) on first use.
  Result<platform::Sealer*> sealer_for(const std::string& family, bool create);
  Result<std::optional<std::string>> stored_key(const std::string& family);

  std::unique_ptr<sql::Connection> db_;
  std::unique_ptr<keys::KeyEncryptionKey> kek_;
  std::map<std::string, std::unique_ptr<platform::Sealer>, std::less<>> sealers_;  // bounded: kMaxCached
  int64_t data_version_ = -1;
  int64_t read_at_ = 0;  // PostgreSQL: when written_version() last asked the database
  std::string id_;
  bool deferring_ = false;     // in a storage transaction: new keys wait for commit_deferred_keys
  bool keys_pending_ = false;  // a keyring transaction holding new keys is open
};

}  // namespace hearth::server
