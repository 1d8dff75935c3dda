#pragma once
// Compact, versioned binary encoding of an Op (docs/change-log.md). The decoder checks
// every length and tag and reports malformed input as ErrorCode::corrupt; it never reads
// out of bounds and never aborts.
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::sync {

constexpr uint8_t kEncodingVersion = 1;

std::string encode(const Op& op);
Result<Op> decode(std::string_view bytes);

}  // namespace hearth::sync
