#pragma once
// Enrolment codes and enrolled devices: credentials (stored hashed), revocation, when each
// device was last seen and when it last received the complete current view of its caseload.
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct DeviceRecord {
  std::string id;
  std::string practitioner;
  int64_t enrolled_at = 0;
  int64_t last_seen = 0;
  bool revoked = false;
  int64_t expires_at = 0;    // the credential's end; the device enrols again after it
  int64_t last_pull_at = 0;  // server time of the last pull that left the device up to date; 0: never
};

class Devices {
 public:
  virtual ~Devices() = default;

  virtual Result<void> add_enrol_code(const std::string& code_hash, const std::string& practitioner, int64_t expires_at) = 0;
  // The practitioner the code was issued for, once: the code is spent by this call (one
  // UPDATE ... RETURNING, so two enrolments can never spend the same code).
  virtual Result<std::optional<std::string>> spend_enrol_code(const std::string& code_hash, int64_t now) = 0;
  // Enrols a device, or renews the credential of one already enrolled for the same
  // practitioner. A revoked device, or one of another practitioner, is refused (conflict).
  virtual Result<void> add_device(const std::string& id, const std::string& practitioner, const std::string& token_hash,
                                  int64_t now, int64_t expires_at) = 0;
  virtual Result<std::optional<DeviceRecord>> device_by_token(const std::string& token_hash) = 0;
  virtual Result<std::vector<DeviceRecord>> devices() = 0;
  virtual Result<bool> revoke_device(const std::string& id) = 0;  // false: no such device
  virtual Result<void> touch_device(const std::string& id, int64_t now) = 0;
  // The device has just received everything its practitioner may see (server time `now`).
  virtual Result<void> record_pull(const std::string& id, int64_t now) = 0;
};

}  // namespace hearth::server
