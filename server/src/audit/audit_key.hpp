#pragma once
// The server's audit key: one 32-byte secret kept OUTSIDE the database (docs/audit.md). Two
// keys are derived from it, each for one job:
//   - the chain key: HMAC-SHA256 over every audit event (audit_chain.hpp), so that nobody who
//     can write the database but lacks the key can edit, forge or re-chain events;
//   - the checkpoint key: an Ed25519 key pair that signs checkpoints (count and head of every
//     chain). A verifier of a checkpoint needs only the public half, which can be handed to an
//     auditor without giving them the power to forge chains.
// Derivation: HMAC-SHA256(secret, label) with a distinct label per key (HKDF-Expand of one
// block: the secret is already uniformly random).
// Where the key lives (locate_audit_key): the path in the config's "audit_key", else
// $CREDENTIALS_DIRECTORY/hearth-audit-key (a systemd credential), else DATA/keys/audit.key.
// The file is text: "hearth-audit-key v1\n" and 64 hex digits; mode 0600 (0400 is fine too).
// Thread-safety: an AuditKey is immutable after construction; copies share the key material.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::server::audit {

class AuditKey {
 public:
  // A fresh random key (OpenSSL's CSPRNG), not saved anywhere (tests).
  static Result<AuditKey> generate();
  // A fresh random key written to a new file with mode 0600 (its folder is made with mode
  // 0700 if missing). Never replaces an existing file (ErrorCode::conflict).
  static Result<AuditKey> create_file(const std::filesystem::path& file);
  // From the 32 secret bytes.
  static Result<AuditKey> from_secret(std::string_view secret);
  // Reads a key file. Errors (ErrorCode::locked) say what to do: a missing or unreadable file,
  // a file readable by group or others, or text that is not a key file.
  static Result<AuditKey> load(const std::filesystem::path& file);

  // HMAC-SHA256 under the chain key: 32 raw bytes (an error only if OpenSSL fails).
  Result<std::string> mac(std::string_view message) const;
  // Ed25519 signature under the checkpoint key: 64 raw bytes.
  Result<std::string> sign(std::string_view message) const;
  // The checkpoint key's public half: 32 raw bytes.
  const std::string& public_key() const;

 private:
  struct Material;
  explicit AuditKey(std::shared_ptr<const Material> m) : m_(std::move(m)) {}
  std::shared_ptr<const Material> m_;
};

// true when `signature` is a valid Ed25519 signature of `message` under the raw 32-byte
// `public_key`; false for a wrong signature or a malformed key or signature.
bool verify_signature(std::string_view public_key, std::string_view message, std::string_view signature);

// Where the audit key is looked for, in order: `configured` (the config's "audit_key") when
// not empty; $CREDENTIALS_DIRECTORY/hearth-audit-key when that variable is set; else
// DATA/keys/audit.key.
std::filesystem::path locate_audit_key(const std::filesystem::path& data_dir, const std::string& configured);
// true when the key location is DATA/keys/audit.key, the only place the server creates a key.
bool is_default_key_location(const std::filesystem::path& data_dir, const std::filesystem::path& key);

}  // namespace hearth::server::audit
