#include "ids.hpp"

#include <array>

#include "hearth/platform/encoding.hpp"
#include "hearth/platform/random.hpp"

namespace hearth::client {

namespace {
const char* kHex = "0123456789abcdef";
}  // namespace

Result<std::string> new_uuid_v7(uint64_t unix_ms) {
  std::array<uint8_t, 16> u{};
  if (auto r = platform::random_fill(std::span<uint8_t>(u).subspan(6)); !r) return r.error();
  for (int i = 0; i < 6; ++i) u[static_cast<size_t>(i)] = static_cast<uint8_t>(unix_ms >> (8 * (5 - i)));
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x70);  // version 7
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string s;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[u[i] >> 4]);
    s.push_back(kHex[u[i] & 0xF]);
  }
  return s;
}

Result<std::string> new_device_id() { return platform::random_hex(8); }

}  // namespace hearth::client
