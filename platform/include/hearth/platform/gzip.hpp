#pragma once
// gzip for HTTP bodies (zlib, Debian's libz). The level and the size below which a body goes
// uncompressed were measured on the sync benchmark's traffic (docs/wire.md): deflate level 1
// costs a fraction of the default level's CPU for a few percent more bytes, and a body of a
// few hundred bytes gains nothing worth the work (gzip's own header and trailer are 18 bytes).
#include <cstddef>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::platform {

constexpr int kGzipLevel = 1;                // zlib's 1 (fastest) .. 9 (smallest); 0 stores
constexpr size_t kCompressOverBytes = 1024;  // bodies of this size or smaller are sent as they are

// Whether a body of `bytes` is worth compressing (over kCompressOverBytes).
bool worth_compressing(size_t bytes);
// The gzip stream of `in` at deflate `level` (0..9). Never fails: zlib cannot run out of output
// room (the buffer is deflateBound's size).
std::string gzip(std::string_view in, int level = kGzipLevel);
// Refuses output larger than `limit` with ErrorCode::too_large, stopping as soon as it is passed
// (a small compressed body must not expand without bound); malformed input: invalid_argument.
Result<std::string> gunzip(std::string_view in, size_t limit);

}  // namespace hearth::platform
