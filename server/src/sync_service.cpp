#include "sync_service.hpp"

#include "access/server_access_policy.hpp"
#include "hearth/platform/encoding.hpp"
#include "usecases/break_glass.hpp"
#include "usecases/device_wipe.hpp"
#include "usecases/enrol.hpp"
#include "usecases/office.hpp"
#include "usecases/office_feed.hpp"
#include "usecases/office_inbound.hpp"
#include "usecases/pull.hpp"
#include "usecases/task_triggers.hpp"
#include "usecases/push.hpp"

namespace hearth::server {

namespace {

namespace protocol = sync::protocol;
using protocol::WireError;

HttpResponse json_reply(int status, std::string body) { return HttpResponse{status, std::move(body), "application/json"}; }

HttpResponse error(WireError code, const std::string& message) {
  return json_reply(protocol::http_status(code), protocol::encode(protocol::ErrorReply{code, message}));
}

// A body the codec refused: too large, or malformed (the message names the field).
HttpResponse refused(const Error& e) {
  return error(e.code == ErrorCode::too_large ? WireError::too_large : WireError::bad_request, e.message);
}

template <typename T>
HttpResponse answer(const Answer<T>& a) {
  if (!a.reply) return error(a.error.code, a.error.message);
  return json_reply(200, protocol::encode(*a.reply));
}

// A pull answer, framed when the request's Accept names the framing (docs/protocol.md, "Framed
// op batches"): its ops travel as bytes, not base64. Errors stay JSON.
HttpResponse pull_answer(const HttpRequest& r, const protocol::PullReply& reply) {
  if (protocol::accepts_frames(r.header("accept")))
    return HttpResponse{200, protocol::encode_framed(reply), protocol::kFramesType};
  return json_reply(200, protocol::encode(reply));
}

}  // namespace

// One worker of the pool: a connection and everything that must not be shared with another
// request running at the same time.
struct SyncService::Worker {
  Worker(Storage& s, std::unique_ptr<Storage> own_store, std::unique_ptr<AccessPolicy> own, AccessPolicy& p,
         SyncService& service)
      : owned(std::move(own_store)),
        own_policy(std::move(own)),
        cache(service.schema_, s.ops(), service.limits_.cache),
        locks(s),
        ctx{s, p, cache, service.clock_, service.limits_, service.guard_, service.server_clock_, changed, locks} {
    cache.lock_with([this](const std::string& family) { return locks.lock(family); },
                    [this](const std::string& family) { return locks.holds(family); });
  }
  std::unique_ptr<Storage> owned;  // null for the storage the service was made with
  std::unique_ptr<AccessPolicy> own_policy;
  FamilyCache cache;
  ChangedRecords changed;
  FamilyLocks locks;
  ServiceContext ctx;
};

ServiceContext& SyncService::Lease::ctx() const { return worker->ctx; }

SyncService::SyncService(Storage& storage, std::function<uint64_t()> clock, const Schema& schema, ServiceLimits limits)
    : SyncService(storage, nullptr, std::move(clock), schema, limits) {}

SyncService::SyncService(Storage& storage, AccessPolicy& policy, std::function<uint64_t()> clock, const Schema& schema,
                         ServiceLimits limits)
    : SyncService(storage, &policy, std::move(clock), schema, limits) {}

SyncService::SyncService(Storage& storage, AccessPolicy* given, std::function<uint64_t()> clock, const Schema& schema,
                         ServiceLimits limits)
    : schema_(schema), given_policy_(given != nullptr), clock_(std::move(clock)), limits_(limits), server_clock_(clock_) {
  workers_.push_back(make_worker(storage, nullptr, given));
  idle_.push_back(workers_.back().get());
}

SyncService::~SyncService() = default;

std::unique_ptr<SyncService::Worker> SyncService::make_worker(Storage& store, std::unique_ptr<Storage> owned,
                                                              AccessPolicy* given) {
  std::unique_ptr<AccessPolicy> own;
  if (!given) own = std::make_unique<ServerAccessPolicy>(store.caseload(), store.ops(), schema_, &store.due());
  AccessPolicy& policy = given ? *given : *own;
  return std::make_unique<Worker>(store, std::move(owned), std::move(own), policy, *this);
}

Result<void> SyncService::add_workers(const StorageFactory& open, size_t count) {
  if (given_policy_ && count > 0)
    return make_error(ErrorCode::invalid_argument,
                      "a sync service with the caller's access policy runs one worker; it cannot add more");
  for (size_t i = 0; i < count; ++i) {
    auto store = open();
    if (!store) return make_error(store.error().code, "opening the connection of worker " +
                                                          std::to_string(workers_.size() + 1) + ": " + store.error().message);
    Storage& s = **store;
    workers_.push_back(make_worker(s, std::move(*store), nullptr));
    std::lock_guard<std::mutex> lock(pool_mutex_);
    idle_.push_back(workers_.back().get());
  }
  return {};
}

SyncService::Worker* SyncService::acquire() {
  std::unique_lock<std::mutex> lock(pool_mutex_);
  pool_free_.wait(lock, [this] { return !idle_.empty(); });
  Worker* w = idle_.back();
  idle_.pop_back();
  return w;
}

void SyncService::release(Worker* w) {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    idle_.push_back(w);
  }
  pool_free_.notify_one();
}

Result<std::string> SyncService::issue_enrol_code(const std::string& practitioner) {
  Lease lease(*this);
  return server::issue_enrol_code(lease.ctx(), practitioner);
}

HttpResponse SyncService::handle(const HttpRequest& r) {
  HttpResponse reply;
  {
    Lease lease(*this);
    reply = route(lease.ctx(), r);
  }
  // SQLite's busy timeout ran out while another connection held the write lock, or PostgreSQL
  // broke a deadlock between two servers' transactions or gave up waiting for a lock: the
  // request's transaction was rolled back, and the device's work is still on the device. 503
  // makes it send the request again shortly (sync/protocol.hpp: unavailable is retried), where
  // a 500 would leave it waiting for its next sync.
  const bool busy = reply.body.find("database is locked") != std::string::npos ||
                    reply.body.find("deadlock detected") != std::string::npos ||
                    reply.body.find("canceling statement due to lock timeout") != std::string::npos ||
                    reply.body.find("could not serialize access") != std::string::npos;
  if (reply.status == 500 && busy)
    return error(WireError::unavailable, "the server's database is busy; send the request again shortly");
  // The database could not be reached (PostgreSQL restarting, a failover): the same, and the
  // database's address stays out of the answer (the server's log line has the status).
  const bool unreachable = reply.body.find("the connection was lost") != std::string::npos ||
                           reply.body.find("server closed the connection") != std::string::npos ||
                           reply.body.find("no connection to the server") != std::string::npos ||
                           reply.body.find("terminating connection") != std::string::npos;
  if (reply.status == 500 && unreachable)
    return error(WireError::unavailable, "the server cannot reach its database; send the request again shortly");
  return reply;
}

HttpResponse SyncService::route(ServiceContext& ctx, const HttpRequest& r) {
  if (r.path.rfind("/v1/", 0) != 0) {
    if (r.path.size() > 2 && r.path[0] == '/' && r.path[1] == 'v')
      return error(WireError::not_found, "protocol " + r.path.substr(1, r.path.find('/', 1) - 1) +
                                             " is not served here; this server speaks v1");
    return error(WireError::not_found, "no such endpoint: " + r.path);
  }
  std::string version = r.header(protocol::kVersionHeader);
  if (!version.empty() && version != std::to_string(kProtocolVersion)) {
    bool older = version < std::to_string(kProtocolVersion);
    return error(WireError::version, "the app speaks protocol " + version + " and this server speaks " +
                                         std::to_string(kProtocolVersion) +
                                         (older ? "; update the app" : "; the server needs updating first"));
  }
  if (r.path == "/v1/health") {
    if (r.method != "GET") return error(WireError::method, r.method + " " + r.path + " is not supported; use GET");
    protocol::HealthReply health;
    auto history = ctx.history("", nullptr);
    if (!history) return error(WireError::server, history.error().message);
    health.history = *history;
    return json_reply(200, protocol::encode(health));
  }
  if (r.method != "POST") return error(WireError::method, r.method + " " + r.path + " is not supported");
  if (r.path == "/v1/enrol") {
    auto request = protocol::decode_enrol_request(r.body, limits_.wire);
    if (!request) return refused(request.error());
    auto enrolled = enrol(ctx, *request, r.remote);
    if (enrolled.reply) enrolled.reply->frames = protocol::kFramesVersion;  // push bodies may come framed
    return answer(enrolled);
  }
  if (r.path == kOfficeWithdrawPath) return office_withdraw(ctx, r);
  if (r.path == kOfficeFeedPath || r.path == kOfficeFeedAckPath) return office_feed(ctx, r);
  if (r.path == kOfficeInboundPath) {  // decisions, statuses, ids and merges from the office (office_inbound.hpp)
    auto office = office_caller(ctx, r.header("authorization"), r.path, r.remote);
    if (!office)
      return error(office.error().code == ErrorCode::forbidden ? WireError::unauthorised : WireError::server,
                   office.error().message);
    return office_inbound(ctx, r.body, office->name, r.remote);
  }
  if (r.path != "/v1/push" && r.path != "/v1/pull" && r.path != "/v1/break-glass" && r.path != kWipeAckPath)
    return error(WireError::not_found, "no such endpoint: " + r.path);
  auto device = authenticate(ctx, r);
  if (auto* denied = std::get_if<HttpResponse>(&device)) return *denied;
  const DeviceRecord& caller = std::get<DeviceRecord>(device);
  if (r.path == "/v1/break-glass") {  // emergency access outside the team (usecases/break_glass.hpp)
    auto request = protocol::decode_emergency_access_request(r.body, limits_.wire);
    if (!request) return refused(request.error());
    auto granted = break_glass(ctx, BreakGlassRequest{request->family, caller.practitioner, request->reason_code,
                                                       request->reason});
    if (!granted) {
      ctx.audit(&caller, "break-glass-refused", request->family, granted.error().message);
      return error(protocol::wire_error_for(granted.error().code), granted.error().message);
    }
    return json_reply(200, protocol::encode(protocol::EmergencyAccessReply{
                               request->family, granted->grant_id, static_cast<uint64_t>(granted->expires_at)}));
  }
  if (r.path == kWipeAckPath) {  // the device wiped its store at the office's request (N5)
    auto request = protocol::decode_wipe_ack(r.body, limits_.wire);
    if (!request) return refused(request.error());
    return answer(acknowledge_wipe(ctx, caller, *request));
  }
  // A wipe the office asked for rides on every answer until the device acknowledges it (N5).
  if (r.path == "/v1/push") {
    auto request = protocol::is_frames_type(r.header("content-type"))
                       ? protocol::decode_framed_push_request(r.body, limits_.wire)
                       : protocol::decode_push_request(r.body, limits_.wire);
    if (!request) return refused(request.error());
    auto pushed = push(ctx, caller, *request);
    if (pushed.reply) pushed.reply->wipe = wipe_order(caller);
    if (pushed.reply) pushed.reply->frames = protocol::kFramesVersion;
    return answer(pushed);
  }
  auto request = protocol::decode_pull_request(r.body, limits_.wire);
  if (!request) return refused(request.error());
  if (caller.wipe_pending()) {
    // Nothing more reaches a device the office asked to wipe, and no policy renews its key
    // lease: the answer carries the order alone.
    protocol::PullReply order;
    auto history = ctx.history("", &caller);
    if (!history) return error(WireError::server, history.error().message);
    order.history = *history;
    order.changed = false;
    order.wipe = wipe_order(caller);
    ctx.audit(&caller, "wipe-ordered", "", "the pull was answered with the office's wipe order alone");
    return pull_answer(r, order);
  }
  auto pulled = pull(ctx, caller, *request);
  if (!pulled.reply) return error(pulled.error.code, pulled.error.message);
  pulled.reply->wipe = wipe_order(caller);
  return pull_answer(r, *pulled.reply);
}

// POST /v1/office/consent/withdraw: a withdrawal recorded by an office system with an office
// credential (usecases/office.hpp), written exactly as `hearth-server consent withdraw` writes it.
HttpResponse SyncService::office_withdraw(ServiceContext& ctx, const HttpRequest& r) {
  auto office = office_caller(ctx, r.header("authorization"), r.path, r.remote);
  if (!office)
    return error(office.error().code == ErrorCode::forbidden ? WireError::unauthorised : WireError::server,
                 office.error().message);
  auto w = withdrawal_from_json(r.body);
  if (!w) return error(WireError::bad_request, w.error().message);
  if (w->author != kOfficeAuthor) {
    auto known = ctx.store.caseload().practitioner_exists(w->author);
    if (!known) return error(WireError::server, known.error().message);
    if (!*known) return error(WireError::not_found, "by: no practitioner '" + w->author + "'");
  }
  AuthorityWrite write = consent_withdrawal(*w);
  write.detail += "; via office credential " + office->name + " from " + r.remote;
  auto ops = authority_write(ctx, {write, record_tasks(w->family, w->consent)});  // and the tasks it calls for
  if (!ops) {
    WireError code = ops.error().code == ErrorCode::not_found   ? WireError::not_found
                     : ops.error().code == ErrorCode::conflict  ? WireError::conflict
                     : ops.error().code == ErrorCode::storage   ? WireError::server
                                                                : WireError::bad_request;
    return error(code, with_field_names(ops.error().message));
  }
  protocol::OfficeReply reply{*ops, "withdrawal recorded on " + w->consent + " (" + std::to_string(ops->size()) +
                                        " ops); every team member's tablet receives it at its next sync"};
  return json_reply(200, protocol::encode(reply));
}

// POST /v1/office/feed and /v1/office/feed/ack: the office's pull feed (usecases/office_feed.hpp).
HttpResponse SyncService::office_feed(ServiceContext& ctx, const HttpRequest& r) {
  auto office = office_caller(ctx, r.header("authorization"), r.path, r.remote);
  if (!office)
    return error(office.error().code == ErrorCode::forbidden ? WireError::unauthorised : WireError::server,
                 office.error().message);
  auto body = r.path == kOfficeFeedPath ? office_feed_page(ctx, office->name, r.body)
                                        : office_feed_ack(ctx, office->name, r.body);
  if (!body)
    return error(body.error().code == ErrorCode::invalid_argument ? WireError::bad_request : WireError::server,
                 body.error().message);
  return json_reply(200, std::move(*body));
}

std::variant<DeviceRecord, HttpResponse> SyncService::authenticate(ServiceContext& ctx, const HttpRequest& r) {
  std::string auth = r.header("authorization");
  if (auth.rfind("Bearer ", 0) != 0) {
    ctx.audit(nullptr, "denied", "", "no credential on " + r.path + " from " + r.remote);
    return error(WireError::unauthorised, "this request needs the device credential from enrolment (Authorization: Bearer ...)");
  }
  auto found = ctx.store.devices().device_by_token(platform::sha256_hex(auth.substr(7)));
  if (!found) return error(WireError::server, found.error().message);
  if (!*found) {
    ctx.audit(nullptr, "denied", "", "unknown credential on " + r.path + " from " + r.remote);
    return error(WireError::unauthorised, "unknown device credential; enrol the device again");
  }
  const DeviceRecord& device = **found;
  // A device that acknowledged its wipe is revoked by it; if the answer to its acknowledgement
  // was lost, it may send it again and hear the same answer (usecases/device_wipe.hpp).
  if (device.revoked && device.wipe_acknowledged_at != 0 && r.path == kWipeAckPath) return device;
  if (device.revoked) {
    ctx.audit(&device, "denied", "", "revoked device on " + r.path);
    return error(WireError::revoked, "this device has been revoked; it must wipe its store");
  }
  if (ctx.now() >= device.expires_at) {
    ctx.audit(&device, "denied", "", "expired credential on " + r.path);
    return error(WireError::expired,
                 "this device's credential expired; enrol it again with a new code (unsynced work is kept)");
  }
  (void)ctx.store.devices().touch_device(device.id, ctx.now());
  return device;
}

}  // namespace hearth::server
