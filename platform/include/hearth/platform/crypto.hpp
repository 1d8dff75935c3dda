#pragma once
// Authenticated encryption (AES-256-GCM) and key derivation (scrypt) through OpenSSL EVP,
// shared by the tablet vault and the server. docs/encryption.md describes how they are used.
//
// A sealed value is  nonce (12 bytes, random) || ciphertext || tag (16 bytes).  The associated
// data (AAD) names where the value belongs ("field|<record>|<field>", "op|<device>:<counter>"),
// so a value moved to another row or field fails to open. Nonces come from the buffered random
// source (random.hpp); with random 96-bit nonces one key may seal up to 2^32 values.
// Errors are values: nothing here throws.
// Thread-safety: Key and ScryptParams are values; a Sealer is confined to one thread (its
// cipher contexts are reused between calls); the free functions are safe from any thread.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::platform {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kSealOverhead = kNonceBytes + kTagBytes;

// A 256-bit key, wiped from memory when destroyed.
class Key {
 public:
  Key() { bytes_.fill(0); }  // all zero: a placeholder, never used to seal
  Key(const Key&) = default;
  Key& operator=(const Key&) = default;
  ~Key();
  // ErrorCode::invalid_argument unless `raw` is exactly 32 bytes.
  static Result<Key> from_bytes(std::string_view raw);
  static Result<Key> random();
  const uint8_t* data() const { return bytes_.data(); }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()}; }

 private:
  std::array<uint8_t, kKeyBytes> bytes_;
};

// scrypt cost (RFC 7914). Stored next to what it protects, so it can be raised later.
struct ScryptParams {
  uint64_t n = 1u << 15;  // CPU/memory cost, a power of two: 32 MiB with r = 8, about 0.1 s on a tablet core
  uint64_t r = 8;         // block size
  uint64_t p = 1;         // parallelism
  bool operator==(const ScryptParams&) const = default;
};

// A 256-bit key from a secret (a PIN, a passphrase) and a salt (16 random bytes or more).
// ErrorCode::invalid_argument when scrypt rejects the parameters (n not a power of two, too
// much memory).
[[nodiscard]] Result<Key> derive_key(std::string_view secret, std::string_view salt, const ScryptParams& params);

// A key with its AES-256-GCM contexts set up once (the key schedule is expanded once, not per
// value): the fast path for many values under one key. Freeing it frees (and OpenSSL clears)
// the expanded key.
class Sealer {
 public:
  static Result<std::unique_ptr<Sealer>> create(const Key& key);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // nonce || ciphertext || tag. ErrorCode::storage if OpenSSL fails (it does not for valid input).
  [[nodiscard]] Result<std::string> seal(std::string_view plaintext, std::string_view aad);
  // ErrorCode::corrupt when the value was altered, or sealed under another key or AAD.
  [[nodiscard]] Result<std::string> open(std::string_view sealed, std::string_view aad);

 private:
  struct Contexts;
  explicit Sealer(std::unique_ptr<Contexts> ctx);
  std::unique_ptr<Contexts> ctx_;
};

// One-off sealing under `key` (sets up a context per call; use a Sealer for many values).
[[nodiscard]] Result<std::string> seal(const Key& key, std::string_view plaintext, std::string_view aad);
[[nodiscard]] Result<std::string> open(const Key& key, std::string_view sealed, std::string_view aad);

}  // namespace hearth::platform
