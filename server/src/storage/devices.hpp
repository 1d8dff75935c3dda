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
  // Remote wipe (N5, `hearth-server wipe`): requested at (0: never), whether the device may
  // wipe without first pushing its unsynced work, and its acknowledgement (0: not yet) with
  // what it said went with the wipe that was on no server.
  int64_t wipe_requested_at = 0;
  bool wipe_discard_unsynced = false;
  int64_t wipe_acknowledged_at = 0;
  int64_t wipe_unsynced_lost = 0;
  int64_t wipe_quarantined_lost = 0;
  // N5: the end of the key lease the server last gave the device (the policy snapshot's
  // issued_at + key_lease): after it the device's store opens only to sync. 0: none recorded.
  int64_t lease_until = 0;
  // The highest view-log number (PushRequest::record_views seq) this device delivered: views at
  // or below it are not recorded again (a push whose answer was lost is sent again).
  int64_t views_through = 0;
  bool wipe_pending() const { return wipe_requested_at != 0 && wipe_acknowledged_at == 0; }
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
  // N5: the office asks for the device to be wiped at its next contact. A second request while
  // one is pending keeps the first time and takes the new discard_unsynced. Returns false when
  // there is no such device; conflict when it is revoked or its wipe was acknowledged already.
  virtual Result<bool> request_wipe(const std::string& id, int64_t at, bool discard_unsynced) = 0;
  // The device reports its store wiped: the wipe is marked acknowledged (at `at`, with the
  // counts it reported) and the credential revoked, in one statement. False (nothing changed)
  // when no wipe is pending for it.
  virtual Result<bool> acknowledge_wipe(const std::string& id, int64_t at, int64_t unsynced_lost,
                                        int64_t quarantined_lost) = 0;
  // N5: the key lease last given to the device ends at `until` (a shorter lease, after the
  // tenant shortened key_lease_days, replaces a longer one: the tablet keeps the one it got last).
  virtual Result<void> record_lease(const std::string& id, int64_t until) = 0;
  // The device delivered its logged views up to `seq` (kept when higher than the one held).
  virtual Result<void> record_views_through(const std::string& id, int64_t seq) = 0;
};

}  // namespace hearth::server
