#pragma once
// The /v1 sync protocol (docs/protocol.md): enrolment, push, pull, health. Decides access
// from the team (caseload) of each family, validates every op with the core schema, guards
// clocks, and writes every access to the audit trail.
// Thread-safety: handle() may be called from several threads; calls are serialised.
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "hearth/core/schema.hpp"
#include "hearth/server/http.hpp"
#include "hearth/sync/clock_guard.hpp"
#include "hearth/sync/materialiser.hpp"
#include "hearth/sync/protocol.hpp"
#include "storage/server_store.hpp"

namespace hearth::server {

constexpr int kProtocolVersion = sync::protocol::kVersion;

struct ServiceLimits {
  // Bodies, ops and pages in bytes, JSON depth and elements; push_bytes and op_bytes are
  // advertised to devices in every enrol and push answer.
  sync::protocol::Limits wire;
  int64_t enrol_code_ttl_ms = 24ll * 3600 * 1000;
  int64_t credential_ttl_ms = 365ll * 24 * 3600 * 1000;
};

class SyncService {
 public:
  SyncService(ServerStore& store, std::function<uint64_t()> clock, const Schema& schema = Schema::v1(),
              ServiceLimits limits = {});
  HttpResponse handle(const HttpRequest& request);

  // Admin: a one-time enrolment code for a practitioner (printed once, stored hashed).
  Result<std::string> issue_enrol_code(const std::string& practitioner);

 private:
  struct Caller {
    DeviceRecord device;
  };
  HttpResponse enrol(const HttpRequest& r);
  // The current history epoch, created (and kept in the database) when there is none yet.
  Result<std::string> epoch();
  // Replaces the epoch: the history went back (docs/protocol.md "History"); `why` is audited.
  Result<std::string> new_epoch(const Caller& c, const std::string& why);
  // Replaces the epoch when a device's evidence, claimed under the current epoch, is ahead of
  // this history: own ops confirmed beyond the highest counter held for the device, or a
  // cursor beyond the highest sequence number held (overall, or for one family).
  Result<void> check_history(const Caller& c, const std::string& device_epoch, uint64_t delivered,
                             int64_t highest_cursor, const std::map<std::string, int64_t>& cursors,
                             const std::set<std::string>& visible);
  HttpResponse push(const HttpRequest& r, const Caller& c);
  HttpResponse pull(const HttpRequest& r, const Caller& c);
  std::optional<HttpResponse> authenticate(const HttpRequest& r, Caller& out);
  Result<void> ensure_loaded(const std::string& family);
  void audit(const Caller* c, const std::string& action, const std::string& family, const std::string& detail);

  ServerStore& store_;
  std::function<uint64_t()> clock_;
  ServiceLimits limits_;
  sync::Materialiser merge_;
  std::set<std::string> loaded_;
  std::string epoch_;  // cache of the database's epoch
  sync::ClockGuard guard_;
  sync::HybridClock server_clock_;
  std::mutex mutex_;
};

}  // namespace hearth::server
