// libFuzzer target: the binary op decoder (sync::decode), which every pulled page and every
// pushed op passes through. Any input must give an op or an error, never a crash; an op that
// decodes must encode to bytes that decode to the same encoding (the encoding is canonical).
#include <cstdint>
#include <string>
#include <string_view>

#include "hearth/sync/encoding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto op = hearth::sync::decode(input);
  if (!op) return 0;
  std::string once = hearth::sync::encode(*op);
  auto again = hearth::sync::decode(once);
  if (!again || hearth::sync::encode(*again) != once) __builtin_trap();
  return 0;
}
