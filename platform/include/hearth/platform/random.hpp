#pragma once
// The process's one source of random bytes (keys, nonces, salts, ids, tokens).
// Bytes come from OpenSSL's CSPRNG (RAND_bytes, seeded by the kernel) in 4 KiB blocks kept in a
// buffer, so a 12-byte nonce costs a copy rather than a trip into the generator (draws above
// 256 bytes go to the generator directly). Bytes are handed out once and wiped from the buffer
// as they are taken. After fork() the child discards the buffer it inherited, so parent and
// child never draw the same bytes.
// Thread-safety: safe from any thread (one mutex around the buffer).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "hearth/core/error.hpp"

namespace hearth::platform {

// Fills `out` with random bytes. ErrorCode::storage if the generator cannot be seeded.
[[nodiscard]] Result<void> random_fill(std::span<uint8_t> out);

// `n` random bytes.
[[nodiscard]] Result<std::string> random_bytes(size_t n);

}  // namespace hearth::platform
