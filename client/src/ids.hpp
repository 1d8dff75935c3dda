#pragma once
// Ids minted on the device. Errors are values: a failing random source is ErrorCode::storage,
// never an exception.
#include <cstdint>
#include <string>

#include "hearth/core/error.hpp"

namespace hearth::client {

// A UUIDv7 (time-ordered, 74 random bits from OpenSSL's CSPRNG), so ids can be minted offline.
Result<std::string> new_uuid_v7(uint64_t unix_ms);
// 16 random hex characters, for a device id.
Result<std::string> new_device_id();

}  // namespace hearth::client
