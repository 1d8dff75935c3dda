#pragma once
// Standard base64 (RFC 4648 §4, with padding) for op bytes on the wire. sync/ depends on core/
// only, so it keeps its own 50 lines rather than platform's OpenSSL-backed one. Decoding is
// strict: the length is a multiple of 4, padding only at the end, no whitespace, and unused
// bits are zero, so every byte string has exactly one accepted text.
// Thread-safety: pure functions.
#include <optional>
#include <string>
#include <string_view>

namespace hearth::sync::detail {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// The encoded length of `bytes` bytes.
constexpr size_t base64_size(size_t bytes) { return (bytes + 2) / 3 * 4; }

}  // namespace hearth::sync::detail
