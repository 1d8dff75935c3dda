#pragma once
// Sealing of the server's personal data at rest (ARCHITECTURE.md principle 7, docs/server-encryption.md):
// every personal datum the server writes is sealed with AES-256-GCM under its family's data key,
// with the row's identity as associated data, so a value copied to another row fails to open.
// Destroying a family's key (erasure, DOMAIN.md §10.3) makes everything sealed under it
// unreadable: crypto-shredding.
//
// Storage implementations and the audit trail seal through this interface; they never see keys.
// Sealed bytes are  nonce (12) || ciphertext || tag (16)  (platform/crypto.hpp).
// Thread-safety: not thread-safe; used under the service's lock, like Storage.
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::server {

// The partition whose key seals personal data outside any family (practitioners' names).
inline constexpr const char* kDirectoryPartition = "directory";

class FamilySealer {
 public:
  virtual ~FamilySealer() = default;
  // false when encryption at rest is off (tests' controls, the benchmark's baseline): seal and
  // open then return their input unchanged.
  virtual bool enabled() const = 0;
  // `plaintext` sealed under `family`'s data key (made and wrapped by the KEK on first use).
  // ErrorCode::forbidden when the family was erased (its key destroyed); nothing is sealed.
  virtual Result<std::string> seal(const std::string& family, std::string_view plaintext, std::string_view aad) = 0;
  // The plaintext. ErrorCode::corrupt when the sealed bytes were altered or belong to another
  // row (`aad`); ErrorCode::not_found when the family's key was destroyed (erased).
  virtual Result<std::string> open(const std::string& family, std::string_view sealed, std::string_view aad) = 0;
};

// Encryption at rest off: values are stored as given.
class PlainSealer final : public FamilySealer {
 public:
  bool enabled() const override { return false; }
  Result<std::string> seal(const std::string&, std::string_view plaintext, std::string_view) override {
    return std::string(plaintext);
  }
  Result<std::string> open(const std::string&, std::string_view sealed, std::string_view) override {
    return std::string(sealed);
  }
};

}  // namespace hearth::server
