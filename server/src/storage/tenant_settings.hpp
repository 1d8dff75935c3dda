#pragma once
// The tenant configuration as the server keeps it (core/tenant_config.hpp): each setting an
// administrator changed, with when and by whom; unset keys keep their defaults.
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <string>

#include "hearth/core/error.hpp"
#include "hearth/core/tenant_config.hpp"

namespace hearth::server {

class TenantSettings {
 public:
  virtual ~TenantSettings() = default;
  // The configuration in force. A stored value that no longer passes TenantConfig::set is
  // ErrorCode::corrupt naming the key.
  virtual Result<TenantConfig> current() = 0;
  // Checks `value` with TenantConfig::set and stores it; the same errors.
  virtual Result<void> set(const std::string& key, const std::string& value, int64_t at, const std::string& by) = 0;
};

}  // namespace hearth::server
