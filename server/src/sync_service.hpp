#pragma once
// The /v1 sync protocol (docs/protocol.md) as HTTP: routes each request, checks the protocol
// version and the device credential, decodes the body with the protocol codec
// (hearth/sync/protocol.hpp), runs the use case (usecases/: enrol, push, pull) and encodes its
// answer. Access is decided by the AccessPolicy, never here.
// Thread-safety: handle() may be called from several threads; calls are serialised.
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "access/access_policy.hpp"
#include "family_cache.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/server/http.hpp"
#include "hearth/sync/clock_guard.hpp"
#include "storage/storage.hpp"
#include "usecases/context.hpp"

namespace hearth::server {

constexpr int kProtocolVersion = sync::protocol::kVersion;
// The office endpoint for a consent withdrawal (usecases/office.hpp; docs/access.md).
constexpr const char* kOfficeWithdrawPath = "/v1/office/consent/withdraw";
// Messages from the office: step-up decisions, statuses, ids, merges (usecases/office_inbound.hpp).
constexpr const char* kOfficeInboundPath = "/v1/office/inbound";
// The device's acknowledgement that it wiped its store at the office's request (N5).
constexpr const char* kWipeAckPath = "/v1/wipe/ack";

class SyncService {
 public:
  // Decides access with the server access policy (ServerAccessPolicy: the team rule, then core/access.hpp).
  SyncService(Storage& storage, std::function<uint64_t()> clock, const Schema& schema = Schema::v1(),
              ServiceLimits limits = {});
  // Decides access with `policy` (kept by the caller, used under this service's lock).
  SyncService(Storage& storage, AccessPolicy& policy, std::function<uint64_t()> clock,
              const Schema& schema = Schema::v1(), ServiceLimits limits = {});
  HttpResponse handle(const HttpRequest& request);

  // Admin: a one-time enrolment code for a practitioner (printed once, stored hashed).
  Result<std::string> issue_enrol_code(const std::string& practitioner);

  // Runs an office use case (usecases/authority_write.hpp, team.hpp, consent.hpp) with this
  // service's context (its family cache and server clock), under its lock.
  template <typename F>
  auto with_context(F&& use_case) {
    std::lock_guard<std::mutex> lock(mutex_);
    return use_case(ctx_);
  }

 private:
  SyncService(Storage& storage, std::unique_ptr<AccessPolicy> own, AccessPolicy* given, std::function<uint64_t()> clock,
              const Schema& schema, ServiceLimits limits);
  HttpResponse route(const HttpRequest& r);
  // The enrolled device behind the request's credential, or the answer refusing it.
  std::variant<DeviceRecord, HttpResponse> authenticate(const HttpRequest& r);
  HttpResponse office_withdraw(const HttpRequest& r);
  HttpResponse office_feed(const HttpRequest& r);

  Storage& store_;
  std::unique_ptr<AccessPolicy> own_policy_;
  AccessPolicy& policy_;
  std::function<uint64_t()> clock_;
  ServiceLimits limits_;
  FamilyCache cache_;
  sync::ClockGuard guard_;
  sync::HybridClock server_clock_;
  ChangedRecords changed_;
  ServiceContext ctx_;
  std::mutex mutex_;
};

}  // namespace hearth::server
