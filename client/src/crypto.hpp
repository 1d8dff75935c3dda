#pragma once
// AES-256-GCM sealing and scrypt key derivation through OpenSSL EVP.
// A sealed value is nonce (12 bytes) || ciphertext || tag (16 bytes). The associated data
// binds it to where it is stored, so a value moved to another row fails to open.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::client::crypto {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kSealOverhead = kNonceBytes + kTagBytes;

// A 256-bit key, wiped from memory when destroyed.
class Key {
 public:
  Key() { bytes_.fill(0); }
  explicit Key(std::string_view raw);  // exactly 32 bytes
  Key(const Key&) = default;
  Key& operator=(const Key&) = default;
  ~Key();
  static Key random();
  const uint8_t* data() const { return bytes_.data(); }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()}; }

 private:
  std::array<uint8_t, kKeyBytes> bytes_;
};

struct ScryptParams {
  uint64_t n = 1u << 15;  // 32 MiB of memory with r = 8
  uint64_t r = 8;
  uint64_t p = 1;
  bool operator==(const ScryptParams&) const = default;
};

// A key with its AES-256-GCM contexts set up once (the key schedule is expanded once, not
// per value). Confined to one thread.
class Sealer {
 public:
  explicit Sealer(const Key& key);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;
  std::string seal(std::string_view plaintext, std::string_view aad);
  Result<std::string> open(std::string_view sealed, std::string_view aad);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

std::string random_bytes(size_t n);
std::string seal(const Key& key, std::string_view plaintext, std::string_view aad);
// ErrorCode::corrupt when the value was altered, or sealed under another key or place.
Result<std::string> open(const Key& key, std::string_view sealed, std::string_view aad);
Result<Key> derive_key(std::string_view secret, std::string_view salt, const ScryptParams& params);

}  // namespace hearth::client::crypto
