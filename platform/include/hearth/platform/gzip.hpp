#pragma once
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::platform {
std::string gzip(std::string_view in);
// Refuses output larger than `limit` (a small compressed body must not expand without bound).
Result<std::string> gunzip(std::string_view in, size_t limit);
}  // namespace hearth::platform
