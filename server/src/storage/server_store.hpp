#pragma once
// What the sync service needs from storage. The default is embedded SQLite
// (sqlite_server_store.cpp); PostgreSQL comes later behind the same interface, so it speaks
// of server sequence numbers, transactions and queries by family and cursor only.
// Thread-safety: not thread-safe; the sync service serialises calls.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct StoredOp {
  int64_t seq = 0;  // server sequence number, increasing
  std::string family;
  std::string device;
  uint64_t counter = 0;
  std::string body;  // the encoded op
};

struct DeviceRecord {
  std::string id;
  std::string practitioner;
  int64_t enrolled_at = 0;
  int64_t last_seen = 0;
  bool revoked = false;
  int64_t expires_at = 0;  // the credential's end; the device enrols again after it
};

struct AuditEvent {
  int64_t at = 0;
  std::string actor;   // practitioner, or "admin"
  std::string device;
  std::string action;  // enrol, push, pull, denied, revoke, allocate, ...
  std::string family;
  std::string detail;
};

class ServerStore {
 public:
  virtual ~ServerStore() = default;

  // Runs `body` in one transaction: committed when it returns success, rolled back otherwise.
  virtual Result<void> transaction(const std::function<Result<void>()>& body) = 0;

  virtual Result<void> add_organisation(const std::string& id, const std::string& name, const std::string& type) = 0;
  virtual Result<void> add_practitioner(const std::string& id, const std::string& organisation,
                                        const std::string& name, const std::string& role) = 0;
  virtual Result<bool> practitioner_exists(const std::string& id) = 0;
  virtual Result<void> allocate(const std::string& family, const std::string& practitioner, bool lead) = 0;
  virtual Result<void> deallocate(const std::string& family, const std::string& practitioner) = 0;
  virtual Result<std::vector<std::string>> families_of(const std::string& practitioner) = 0;
  virtual Result<std::vector<std::string>> team_of(const std::string& family) = 0;

  virtual Result<void> add_enrol_code(const std::string& code_hash, const std::string& practitioner, int64_t expires_at) = 0;
  // The practitioner the code was issued for, once: the code is spent by this call.
  virtual Result<std::optional<std::string>> spend_enrol_code(const std::string& code_hash, int64_t now) = 0;
  // Enrols a device, or renews the credential of one already enrolled for the same
  // practitioner. A revoked device, or one of another practitioner, is refused (conflict).
  virtual Result<void> add_device(const std::string& id, const std::string& practitioner, const std::string& token_hash,
                                  int64_t now, int64_t expires_at) = 0;
  virtual Result<std::optional<DeviceRecord>> device_by_token(const std::string& token_hash) = 0;
  virtual Result<std::vector<DeviceRecord>> devices() = 0;
  virtual Result<bool> revoke_device(const std::string& id) = 0;
  virtual Result<void> touch_device(const std::string& id, int64_t now) = 0;

  virtual Result<bool> has_op(const std::string& device, uint64_t counter) = 0;
  virtual Result<bool> family_exists(const std::string& family) = 0;
  virtual Result<int64_t> append_op(const StoredOp& op) = 0;  // returns its sequence number
  // Ops of a family after `after_seq`, in sequence order, stopping once `max_bytes` is reached
  // (at least one op is returned when any exists).
  virtual Result<std::vector<StoredOp>> ops_after(const std::string& family, int64_t after_seq, size_t max_bytes) = 0;
  // A counter per practitioner, bumped whenever anything they may see changes: an empty sync
  // compares it and does nothing else.
  virtual Result<int64_t> feed_version(const std::string& practitioner) = 0;
  virtual Result<void> bump_feed(const std::string& practitioner) = 0;
  virtual Result<uint64_t> next_server_counter() = 0;

  // History identity (docs/protocol.md "History"): the epoch kept in the meta table ("" when
  // none was created yet), and the highest numbers this history holds, against which a
  // device's claims are checked to find a history that went back.
  virtual Result<std::string> history_epoch() = 0;
  virtual Result<void> set_history_epoch(const std::string& epoch) = 0;
  virtual Result<uint64_t> highest_counter(const std::string& device) = 0;  // 0: no op of the device
  virtual Result<int64_t> highest_seq(const std::string& family) = 0;       // 0: no op of the family
  virtual Result<int64_t> last_seq() = 0;                                   // 0: no op at all

  // Append-only, hash-chained audit trail.
  virtual Result<void> audit(const AuditEvent& event) = 0;
  // Recomputes the chain; an error names the first event that does not match.
  virtual Result<int64_t> verify_audit() = 0;
};

}  // namespace hearth::server
