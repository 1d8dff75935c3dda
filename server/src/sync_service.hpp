#pragma once
// The /v1 sync protocol (docs/protocol.md): enrolment, push, pull, health. Asks the access
// policy about every read and write, validates every op with the core schema (against the
// family cache), guards clocks, and writes every access to the audit trail.
// Thread-safety: handle() may be called from several threads; calls are serialised.
#include <functional>
#include <mutex>
#include <memory>
#include <string>

#include "hearth/core/schema.hpp"
#include "hearth/server/http.hpp"
#include "hearth/sync/clock_guard.hpp"
#include "access/access_policy.hpp"
#include "family_cache.hpp"
#include "storage/storage.hpp"

namespace hearth::server {

constexpr int kProtocolVersion = 1;

struct ServiceLimits {
  size_t max_push_ops = 1000;
  size_t max_page_bytes = 1u << 20;
  int64_t enrol_code_ttl_ms = 24ll * 3600 * 1000;
  int64_t credential_ttl_ms = 365ll * 24 * 3600 * 1000;
  FamilyCacheLimits cache;
};

class SyncService {
 public:
  // Decides access with the family-team rule (TeamAccessPolicy).
  SyncService(Storage& storage, std::function<uint64_t()> clock, const Schema& schema = Schema::v1(),
              ServiceLimits limits = {});
  // Decides access with `policy` (kept by the caller, used under this service's lock).
  SyncService(Storage& storage, AccessPolicy& policy, std::function<uint64_t()> clock,
              const Schema& schema = Schema::v1(), ServiceLimits limits = {});
  HttpResponse handle(const HttpRequest& request);

  // Admin: a one-time enrolment code for a practitioner (printed once, stored hashed).
  Result<std::string> issue_enrol_code(const std::string& practitioner);

 private:
  struct Caller {
    DeviceRecord device;
    server::Caller who() const { return server::Caller{device.practitioner, device.id, device.last_pull_at}; }
  };
  HttpResponse enrol(const HttpRequest& r);
  HttpResponse push(const HttpRequest& r, const Caller& c);
  HttpResponse pull(const HttpRequest& r, const Caller& c);
  std::optional<HttpResponse> authenticate(const HttpRequest& r, Caller& out);
  void audit(const Caller* c, const std::string& action, const std::string& family, const std::string& detail);

  Storage& store_;
  std::unique_ptr<AccessPolicy> own_policy_;
  AccessPolicy& policy_;
  std::function<uint64_t()> clock_;
  ServiceLimits limits_;
  FamilyCache cache_;
  sync::ClockGuard guard_;
  sync::HybridClock server_clock_;
  std::mutex mutex_;
};

}  // namespace hearth::server
