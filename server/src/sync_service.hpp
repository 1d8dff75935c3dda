#pragma once
// The /v1 sync protocol (docs/protocol.md): enrolment, push, pull, health. Decides access
// from the team (caseload) of each family, validates every op with the core schema, guards
// clocks, and writes every access to the audit trail.
// Thread-safety: handle() may be called from several threads; calls are serialised.
#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "hearth/core/schema.hpp"
#include "hearth/server/http.hpp"
#include "hearth/sync/clock_guard.hpp"
#include "hearth/sync/materialiser.hpp"
#include "storage/server_store.hpp"

namespace hearth::server {

constexpr int kProtocolVersion = 1;

struct ServiceLimits {
  size_t max_push_ops = 1000;
  size_t max_page_bytes = 1u << 20;
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
  sync::ClockGuard guard_;
  sync::HybridClock server_clock_;
  std::mutex mutex_;
};

}  // namespace hearth::server
