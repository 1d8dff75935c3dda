#pragma once
// A key hierarchy of two levels: one wrapping key, and one random data key per partition (a
// family, or a device's own partition) sealed under it. Destroying a partition's data key makes
// everything sealed under it unreadable; that is how a family is purged (docs/encryption.md).
// Changing the wrapping key (a new PIN, a rotated server key) re-wraps the data keys only.
//
// A wrapped key is  nonce || sealed data key || tag  under the wrapping key, with the associated
// data "<label>|<partition>", so a wrapped key copied to another partition's row fails to unwrap.
// The keyring does not store wrapped keys: its owner keeps them (the tablet vault in its
// `family_keys` table, the server in its own) and hands them back to load().
// Errors are values: nothing here throws.
// Thread-safety: confined to one thread, like the Sealers it holds.
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"
#include "hearth/platform/crypto.hpp"

namespace hearth::platform {

class Keyring {
 public:
  // `label` versions and scopes the wrapping (the vault uses "hearth family key v1").
  static Result<Keyring> create(const Key& wrapping_key, std::string label);

  Keyring(Keyring&&) noexcept = default;
  Keyring& operator=(Keyring&&) noexcept = default;

  // A wrapped key of `partition` (to be stored by the caller).
  [[nodiscard]] Result<std::string> wrap(std::string_view partition, const Key& data_key);
  // ErrorCode::corrupt when `wrapped` was altered, belongs to another partition, or was
  // wrapped by another wrapping key or label.
  [[nodiscard]] Result<Key> unwrap(std::string_view partition, std::string_view wrapped);
  // Unwraps with this keyring and wraps again for `target` (another wrapping key): how the
  // data keys move to a new PIN or a rotated server key without re-sealing any value.
  [[nodiscard]] Result<std::string> rewrap(std::string_view partition, std::string_view wrapped, Keyring& target);

  // A new random data key for `partition`, loaded; returns its wrapped form to store.
  // ErrorCode::conflict if the partition already has a loaded key.
  [[nodiscard]] Result<std::string> create_key(const std::string& partition);
  // Loads a stored wrapped key so the partition can seal and open.
  [[nodiscard]] Result<void> load(const std::string& partition, std::string_view wrapped);
  bool loaded(const std::string& partition) const { return sealers_.count(partition) != 0; }
  // The partition's loaded key; ErrorCode::not_found when it is not loaded.
  [[nodiscard]] Result<Sealer*> sealer(const std::string& partition);
  // Forgets the partition's loaded key (its cipher contexts are freed and cleared). The caller
  // deletes the stored wrapped key; once both are gone nothing sealed under it can be opened.
  void destroy(const std::string& partition) { sealers_.erase(partition); }
  // Forgets every loaded data key (another connection may have destroyed or created one).
  void forget_all() { sealers_.clear(); }

 private:
  Keyring(std::unique_ptr<Sealer> wrapper, std::string label) : wrapper_(std::move(wrapper)), label_(std::move(label)) {}
  std::string aad(std::string_view partition) const;

  std::unique_ptr<Sealer> wrapper_;
  std::string label_;
  std::map<std::string, std::unique_ptr<Sealer>, std::less<>> sealers_;
};

}  // namespace hearth::platform
