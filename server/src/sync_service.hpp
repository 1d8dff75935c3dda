#pragma once
// The /v1 sync protocol (docs/protocol.md) as HTTP: routes each request, checks the protocol
// version and the device credential, decodes the body with the protocol codec
// (hearth/sync/protocol.hpp), runs the use case (usecases/: enrol, push, pull) and encodes its
// answer. Access is decided by the AccessPolicy, never here.
// Thread-safety: handle() and with_context() may be called from several threads: each runs on
// a worker of a pool (its own database connection, family cache and context), so requests for
// different families run concurrently; writes to one family are serialised by the storage
// (Storage::lock_family, called by the family cache inside each write transaction).
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

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

// Opens one more connection to the service's database, for one more worker of the pool (for
// SQLite: open_sqlite_storage on the same file again).
using StorageFactory = std::function<Result<std::unique_ptr<Storage>>()>;

class SyncService {
 public:
  // Decides access with the server access policy (ServerAccessPolicy: the team rule, then core/access.hpp).
  // One worker, on `storage`; add_workers adds more.
  SyncService(Storage& storage, std::function<uint64_t()> clock, const Schema& schema = Schema::v1(),
              ServiceLimits limits = {});
  // Decides access with `policy` (kept by the caller, used by one request at a time): one
  // worker only (add_workers refuses).
  SyncService(Storage& storage, AccessPolicy& policy, std::function<uint64_t()> clock,
              const Schema& schema = Schema::v1(), ServiceLimits limits = {});
  ~SyncService();

  // Adds `count` workers, each with a connection of its own opened by `open`, its own family
  // cache (bounded by limits.cache: memory is at most workers() x that bound) and its own
  // access policy. Requests and use cases then run on up to workers() connections at once;
  // what must be serialised per family is, by Storage::lock_family. Call before the first
  // request; not thread-safe. ErrorCode::invalid_argument with a caller's access policy.
  Result<void> add_workers(const StorageFactory& open, size_t count);
  size_t workers() const { return workers_.size(); }

  // Answers one request on a free worker, waiting for one when all are busy. Thread-safe.
  HttpResponse handle(const HttpRequest& request);

  // Admin: a one-time enrolment code for a practitioner (printed once, stored hashed).
  Result<std::string> issue_enrol_code(const std::string& practitioner);

  // Runs an office use case (usecases/authority_write.hpp, team.hpp, consent.hpp) or background
  // work (due events, the office repeater, duplicate review) with a worker's context (its
  // connection, family cache and locks; the shared server clock), like a request. Thread-safe.
  template <typename F>
  auto with_context(F&& use_case) {
    Lease lease(*this);
    return use_case(lease.ctx());
  }

 private:
  struct Worker;
  // A worker taken from the pool for one request or use case, given back when it ends.
  struct Lease {
    explicit Lease(SyncService& s) : service(s), worker(s.acquire()) {}
    ~Lease() { service.release(worker); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ServiceContext& ctx() const;
    SyncService& service;
    Worker* worker;
  };
  Worker* acquire();
  void release(Worker* w);
  std::unique_ptr<Worker> make_worker(Storage& store, std::unique_ptr<Storage> owned, AccessPolicy* given);

  SyncService(Storage& storage, AccessPolicy* given, std::function<uint64_t()> clock, const Schema& schema,
              ServiceLimits limits);
  HttpResponse route(ServiceContext& ctx, const HttpRequest& r);
  // The enrolled device behind the request's credential, or the answer refusing it.
  std::variant<DeviceRecord, HttpResponse> authenticate(ServiceContext& ctx, const HttpRequest& r);
  HttpResponse office_withdraw(ServiceContext& ctx, const HttpRequest& r);
  HttpResponse office_feed(ServiceContext& ctx, const HttpRequest& r);

  // Shared by every worker, and thread-safe: read-only, or locked inside (ServerClock).
  const Schema& schema_;
  bool given_policy_;
  std::function<uint64_t()> clock_;
  ServiceLimits limits_;
  sync::ClockGuard guard_;
  ServerClock server_clock_;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex pool_mutex_;
  std::condition_variable pool_free_;
  std::vector<Worker*> idle_;  // guarded by pool_mutex_
};

}  // namespace hearth::server
