#pragma once
// Small encodings shared by client and server (OpenSSL underneath).
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::platform {

std::string base64(std::string_view bytes);
Result<std::string> unbase64(std::string_view text);
std::string sha256_hex(std::string_view bytes);
// 2 * `bytes` hex characters from the one random source (random.hpp).
[[nodiscard]] Result<std::string> random_hex(size_t bytes);

}  // namespace hearth::platform
