#pragma once
// Small encodings shared by client and server (OpenSSL underneath).
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::platform {

std::string base64(std::string_view bytes);
Result<std::string> unbase64(std::string_view text);
std::string sha256_hex(std::string_view bytes);
std::string random_hex(size_t bytes);  // from OpenSSL's CSPRNG

}  // namespace hearth::platform
