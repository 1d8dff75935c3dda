#pragma once
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::platform {
std::string gzip(std::string_view in);
// Refuses output larger than `limit` with ErrorCode::too_large, stopping as soon as it is passed
// (a small compressed body must not expand without bound); malformed input: invalid_argument.
Result<std::string> gunzip(std::string_view in, size_t limit);
}  // namespace hearth::platform
