#include "sync_service.hpp"

#include <nlohmann/json.hpp>

#include "hearth/platform/encoding.hpp"
#include "access/team_access_policy.hpp"
#include "hearth/sync/encoding.hpp"

namespace hearth::server {

namespace {

using nlohmann::json;

HttpResponse reply(int status, const json& body) { return HttpResponse{status, body.dump(), "application/json"}; }
HttpResponse error(int status, const std::string& message) { return reply(status, json{{"error", message}}); }

int status_for(ErrorCode c) {
  switch (c) {
    case ErrorCode::invalid_argument:
    case ErrorCode::validation:
    case ErrorCode::lifecycle:
    case ErrorCode::corrupt: return 400;
    case ErrorCode::not_found: return 404;
    case ErrorCode::conflict: return 409;
    case ErrorCode::locked: return 401;
    case ErrorCode::network: return 502;
    default: return 500;
  }
}

}  // namespace

SyncService::SyncService(Storage& storage, std::function<uint64_t()> clock, const Schema& schema, ServiceLimits limits)
    : store_(storage),
      own_policy_(std::make_unique<TeamAccessPolicy>(storage.caseload(), storage.ops())),
      policy_(*own_policy_),
      clock_(std::move(clock)),
      limits_(limits),
      cache_(schema, storage.ops(), limits.cache),
      server_clock_(clock_) {}

SyncService::SyncService(Storage& storage, AccessPolicy& policy, std::function<uint64_t()> clock, const Schema& schema,
                         ServiceLimits limits)
    : store_(storage),
      policy_(policy),
      clock_(std::move(clock)),
      limits_(limits),
      cache_(schema, storage.ops(), limits.cache),
      server_clock_(clock_) {}

void SyncService::audit(const Caller* c, const std::string& action, const std::string& family, const std::string& detail) {
  AuditEvent e{static_cast<int64_t>(clock_()), c ? c->device.practitioner : "anonymous", c ? c->device.id : "", action,
               family, detail};
  (void)store_.audit().append(e);
}

Result<std::string> SyncService::issue_enrol_code(const std::string& practitioner) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto known = store_.caseload().practitioner_exists(practitioner);
  if (!known) return known.error();
  if (!*known) return make_error(ErrorCode::not_found, "no practitioner '" + practitioner + "'");
  std::string code = platform::random_hex(10);
  auto r = store_.transaction([&]() -> Result<void> {
    if (auto a = store_.devices().add_enrol_code(platform::sha256_hex(code), practitioner,
                                       static_cast<int64_t>(clock_()) + limits_.enrol_code_ttl_ms);
        !a)
      return a;
    return store_.audit().append(AuditEvent{static_cast<int64_t>(clock_()), "admin", "", "enrol-code", "", practitioner});
  });
  if (!r) return r.error();
  return code;
}

HttpResponse SyncService::handle(const HttpRequest& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (r.path.rfind("/v1/", 0) != 0) {
    if (r.path.size() > 2 && r.path[0] == '/' && r.path[1] == 'v')
      return error(404, "protocol " + r.path.substr(1, r.path.find('/', 1) - 1) + " is not served here; this server speaks v1");
    return error(404, "no such endpoint: " + r.path);
  }
  std::string version = r.header("hearth-protocol");
  if (!version.empty() && version != std::to_string(kProtocolVersion)) {
    bool older = version < std::to_string(kProtocolVersion);
    return error(400, "the app speaks protocol " + version + " and this server speaks " + std::to_string(kProtocolVersion) +
                          (older ? "; update the app" : "; the server needs updating first"));
  }
  if (r.path == "/v1/health") {
    if (r.method != "GET") return error(405, r.method + " " + r.path + " is not supported; use GET");
    return reply(200, {{"status", "ok"}, {"protocol", kProtocolVersion}});
  }
  if (r.method != "POST") return error(405, r.method + " " + r.path + " is not supported");
  if (r.path == "/v1/enrol") return enrol(r);
  Caller caller;
  if (auto denied = authenticate(r, caller)) return *denied;
  if (r.path == "/v1/push") return push(r, caller);
  if (r.path == "/v1/pull") return pull(r, caller);
  return error(404, "no such endpoint: " + r.path);
}

std::optional<HttpResponse> SyncService::authenticate(const HttpRequest& r, Caller& out) {
  std::string auth = r.header("authorization");
  if (auth.rfind("Bearer ", 0) != 0) {
    audit(nullptr, "denied", "", "no credential on " + r.path + " from " + r.remote);
    return error(401, "this request needs the device credential from enrolment (Authorization: Bearer ...)");
  }
  auto device = store_.devices().device_by_token(platform::sha256_hex(auth.substr(7)));
  if (!device) return error(500, device.error().message);
  if (!*device) {
    audit(nullptr, "denied", "", "unknown credential on " + r.path + " from " + r.remote);
    return error(401, "unknown device credential; enrol the device again");
  }
  out.device = **device;
  if (out.device.revoked) {
    audit(&out, "denied", "", "revoked device on " + r.path);
    return reply(403, {{"error", "this device has been revoked; it must wipe its store"}, {"revoked", true}});
  }
  if (static_cast<int64_t>(clock_()) >= out.device.expires_at) {
    audit(&out, "denied", "", "expired credential on " + r.path);
    return error(401, "this device's credential expired; enrol it again with a new code (unsynced work is kept)");
  }
  (void)store_.devices().touch_device(out.device.id, static_cast<int64_t>(clock_()));
  return std::nullopt;
}

HttpResponse SyncService::enrol(const HttpRequest& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "the body must be a JSON object");
  if (!body.contains("code") || !body["code"].is_string() || !body.contains("device_id") || !body["device_id"].is_string())
    return error(400, "enrolment needs \"code\" and \"device_id\" (strings)");
  std::string device_id = body["device_id"];
  if (device_id.empty() || device_id.size() > 64) return error(400, "device_id must be 1 to 64 characters");
  std::string token = platform::random_hex(32);
  std::string practitioner;
  bool spent_ok = false;
  auto done = store_.transaction([&]() -> Result<void> {
    auto who = store_.devices().spend_enrol_code(platform::sha256_hex(body["code"].get<std::string>()),
                                       static_cast<int64_t>(clock_()));
    if (!who) return who.error();
    if (!*who) return {};
    spent_ok = true;
    practitioner = **who;
    int64_t now = static_cast<int64_t>(clock_());
    if (auto a = store_.devices().add_device(device_id, practitioner, platform::sha256_hex(token), now, now + limits_.credential_ttl_ms); !a)
      return a;
    return store_.audit().append(AuditEvent{static_cast<int64_t>(clock_()), practitioner, device_id, "enrol", "", ""});
  });
  if (!done) return error(status_for(done.error().code), done.error().message);
  if (!spent_ok) {
    audit(nullptr, "denied", "", "enrolment with an unknown, spent or expired code from " + r.remote);
    return error(401, "the enrolment code is unknown, already used or expired; ask for a new one");
  }
  return reply(200, {{"device_token", token}, {"practitioner_id", practitioner}, {"protocol", kProtocolVersion},
                     {"server_time", clock_()}});
}

HttpResponse SyncService::push(const HttpRequest& r, const Caller& c) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "the body must be a JSON object");
  if (!body.contains("ops") || !body["ops"].is_array()) return error(400, "push needs \"ops\": an array of base64 strings");
  if (body["ops"].size() > limits_.max_push_ops)
    return error(413, "a push holds at most " + std::to_string(limits_.max_push_ops) + " ops; send smaller batches");
  if (body.contains("device_time") && !body["device_time"].is_number_unsigned())
    return error(400, "\"device_time\" must be milliseconds since the epoch");
  uint64_t now = clock_();
  int64_t offset = body.contains("device_time") ? guard_.offset(body["device_time"].get<uint64_t>(), now) : 0;

  const server::Caller who = c.who();
  std::set<std::string> touched;
  json results = json::array();
  size_t accepted = 0, rejected = 0;
  auto done = store_.transaction([&]() -> Result<void> {
    for (const auto& item : body["ops"]) {
      json res;
      auto reject = [&](const std::string& id, const std::string& why) {
        res = {{"op", id}, {"status", "rejected"}, {"reason", why}};
        ++rejected;
      };
      if (!item.is_string()) {
        reject("", "each op must be a base64 string");
        results.push_back(res);
        continue;
      }
      auto bytes = platform::unbase64(item.get<std::string>());
      auto op = bytes ? sync::decode(*bytes) : Result<sync::Op>(bytes.error());
      if (!op) {
        reject("", op.error().message);
        results.push_back(res);
        continue;
      }
      std::string id = op->id.to_string();
      if (op->id.device != c.device.id) {
        reject(id, "op was made by another device");
      } else if (op->author != c.device.practitioner) {
        reject(id, "op author " + op->author + " is not this device's practitioner");
      } else if (auto dup = store_.ops().has_op(op->id.device, op->id.counter); !dup) {
        return dup.error();
      } else if (*dup) {
        res = {{"op", id}, {"status", "duplicate"}};
      } else {
        auto decision = policy_.may_write(who, *op);
        if (!decision) return decision.error();
        if (!decision->allowed()) {
          reject(id, decision->reason);
          audit(&c, "denied", op->family, "push: " + decision->reason);
          results.push_back(res);
          continue;
        }
        auto family = cache_.get(op->family);
        if (!family) return family.error();
        if (auto ok = (*family)->check(*op); !ok) {
          reject(id, ok.error().message);
          results.push_back(res);
          continue;
        }
        touched.insert(op->family);
        if (decision->creates_family)
          if (auto a = store_.caseload().allocate(op->family, c.device.practitioner, true, static_cast<int64_t>(now)); !a)
            return a;
        StoredOp so{0, op->family, op->id.device, op->id.counter, *bytes};
        auto seq = store_.ops().append(so);
        if (!seq) return seq.error();
        if (auto a = cache_.applied(op->family, *op, *seq, bytes->size()); !a) return a;
        if (auto wall = guard_.corrected_wall(op->hlc, offset, now)) {
          sync::Op restamp = sync::make_restamp(*op, *wall);
          auto counter = store_.ops().next_server_counter();
          if (!counter) return counter.error();
          restamp.id = sync::OpId{"server", *counter};
          restamp.hlc = server_clock_.tick();
          restamp.author = "server";
          std::string rb = sync::encode(restamp);
          auto rseq = store_.ops().append(StoredOp{0, restamp.family, "server", *counter, rb});
          if (!rseq) return rseq.error();
          if (auto a = cache_.applied(restamp.family, restamp, *rseq, rb.size()); !a) return a;
        }
        res = {{"op", id}, {"status", "accepted"}};
        if (decision->outcome == WriteDecision::Outcome::allow_flagged) {
          Flag flag{0, static_cast<int64_t>(now), op->family, kFlagRecordedAfterRemoval, id, c.device.practitioner,
                    c.device.id, decision->reason};
          if (auto f = store_.flags().add(flag); !f) return f.error();
          audit(&c, "flag", op->family, std::string(kFlagRecordedAfterRemoval) + " " + id + ": " + decision->reason);
          res["note"] = decision->reason;
        }
        ++accepted;
      }
      results.push_back(res);
    }
    for (const auto& f : touched) {
      auto team = store_.caseload().team_of(f);
      if (!team) return team.error();
      for (const auto& p : *team)
        if (auto b = store_.caseload().bump_feed(p); !b) return b;
    }
    return store_.audit().append(AuditEvent{static_cast<int64_t>(now), c.device.practitioner, c.device.id, "push", "",
                                   std::to_string(accepted) + " accepted, " + std::to_string(rejected) + " rejected"});
  });
  if (!done) {
    for (const auto& f : touched) cache_.forget(f);  // the cache may hold ops the rollback removed
    return error(500, "the push was not stored: " + done.error().message);
  }
  return reply(200, {{"results", results}, {"server_time", now}, {"clock_offset_ms", offset}});
}

HttpResponse SyncService::pull(const HttpRequest& r, const Caller& c) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(400, "the body must be a JSON object");
  if (body.contains("cursors") && !body["cursors"].is_object())
    return error(400, "\"cursors\" must be an object of family id -> last sequence number");
  auto current = store_.caseload().feed_version(c.device.practitioner);
  if (!current) return error(500, current.error().message);
  // An empty sync: nothing this practitioner may see has changed. Constant work.
  bool unchanged = body.contains("feed_version") && body["feed_version"].is_number_integer() &&
                   body["feed_version"].get<int64_t>() == *current;
  if (unchanged) (void)store_.devices().record_pull(c.device.id, static_cast<int64_t>(clock_()));
  if (unchanged || body.value("probe", false))
    return reply(200, {{"families", json::array()}, {"purge", json::array()}, {"more", !unchanged},
                       {"changed", !unchanged}, {"feed_version", *current}});

  std::map<std::string, int64_t> cursors;
  if (body.contains("cursors")) {
    for (auto it = body["cursors"].begin(); it != body["cursors"].end(); ++it) {
      if (!it.value().is_number_integer()) return error(400, "cursor of family " + it.key() + " must be an integer");
      cursors[it.key()] = it.value().get<int64_t>();
    }
  }
  size_t budget = limits_.max_page_bytes;
  if (body.contains("max_bytes") && body["max_bytes"].is_number_unsigned())
    budget = std::min<size_t>(budget, std::max<size_t>(4096, body["max_bytes"].get<size_t>()));
  auto visible = policy_.readable_families(c.who());
  if (!visible) return error(500, visible.error().message);
  json purge = json::array();
  for (const auto& [family, cursor] : cursors) {
    if (std::find(visible->begin(), visible->end(), family) == visible->end()) {
      purge.push_back(family);
      audit(&c, "purge-instruction", family, "family no longer on the caseload");
    }
  }
  json families = json::array();
  size_t used = 0;
  bool more = false;
  for (const auto& family : *visible) {
    if (used >= budget) {
      more = true;
      break;
    }
    auto it = cursors.find(family);
    int64_t after = it == cursors.end() ? 0 : it->second;
    auto page = store_.ops().ops_after(family, after, budget - used);
    if (!page) return error(500, page.error().message);
    if (page->empty()) continue;
    json ops = json::array();
    for (const auto& so : *page) {
      ops.push_back(platform::base64(so.body));
      used += so.body.size();
    }
    families.push_back({{"family", family}, {"ops", ops}, {"cursor", page->back().seq}});
    if (used >= budget) more = true;
  }
  audit(&c, "pull", "", std::to_string(families.size()) + " families, " + std::to_string(used) + " bytes");
  json out = {{"families", families}, {"purge", purge}, {"more", more}};
  if (!more) {
    out["feed_version"] = *current;
    // The device now holds everything its practitioner may see: a later removal from a team
    // is something it knew nothing of until its next pull (DOMAIN.md §6.6).
    (void)store_.devices().record_pull(c.device.id, static_cast<int64_t>(clock_()));
  }
  return reply(200, out);
}

}  // namespace hearth::server
