#include "ids.hpp"

#include "hearth/platform/encoding.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace hearth::client {

namespace {
template <size_t N>
std::array<unsigned char, N> random_bytes() {
  std::array<unsigned char, N> b{};
  if (RAND_bytes(b.data(), static_cast<int>(N)) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  return b;
}
const char* kHex = "0123456789abcdef";
}  // namespace

std::string new_uuid_v7(uint64_t unix_ms) {
  auto r = random_bytes<10>();
  std::array<unsigned char, 16> u{};
  for (int i = 0; i < 6; ++i) u[static_cast<size_t>(i)] = static_cast<unsigned char>(unix_ms >> (8 * (5 - i)));
  for (size_t i = 0; i < 10; ++i) u[6 + i] = r[i];
  u[6] = static_cast<unsigned char>((u[6] & 0x0F) | 0x70);  // version 7
  u[8] = static_cast<unsigned char>((u[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string s;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[u[i] >> 4]);
    s.push_back(kHex[u[i] & 0xF]);
  }
  return s;
}

std::string new_device_id() { return platform::random_hex(8); }

}  // namespace hearth::client
