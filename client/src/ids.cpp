#include "ids.hpp"

#include <openssl/rand.h>

#include <array>

namespace hearth::client {

namespace {
const char* kHex = "0123456789abcdef";

template <size_t N>
Result<std::array<unsigned char, N>> random_bytes() {
  std::array<unsigned char, N> b{};
  if (RAND_bytes(b.data(), static_cast<int>(N)) != 1)
    return make_error(ErrorCode::storage, "the random source failed (OpenSSL RAND_bytes); no id was made");
  return b;
}

void append_hex(std::string& out, unsigned char byte) {
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0xF]);
}
}  // namespace

Result<std::string> new_uuid_v7(uint64_t unix_ms) {
  auto r = random_bytes<10>();
  if (!r) return r.error();
  std::array<unsigned char, 16> u{};
  for (int i = 0; i < 6; ++i) u[static_cast<size_t>(i)] = static_cast<unsigned char>(unix_ms >> (8 * (5 - i)));
  for (size_t i = 0; i < 10; ++i) u[6 + i] = (*r)[i];
  u[6] = static_cast<unsigned char>((u[6] & 0x0F) | 0x70);  // version 7
  u[8] = static_cast<unsigned char>((u[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string s;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    append_hex(s, u[i]);
  }
  return s;
}

Result<std::string> new_device_id() {
  auto r = random_bytes<8>();
  if (!r) return r.error();
  std::string s;
  for (unsigned char b : *r) append_hex(s, b);
  return s;
}

}  // namespace hearth::client
