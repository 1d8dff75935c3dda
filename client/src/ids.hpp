#pragma once
#include <cstdint>
#include <string>

namespace hearth::client {

// A UUIDv7 (time-ordered, 74 random bits from OpenSSL's CSPRNG), so ids can be minted offline.
std::string new_uuid_v7(uint64_t unix_ms);
// 16 random hex characters, for a device id.
std::string new_device_id();

}  // namespace hearth::client
