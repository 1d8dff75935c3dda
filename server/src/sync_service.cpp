#include "sync_service.hpp"

#include <algorithm>

#include "hearth/platform/encoding.hpp"
#include "hearth/sync/encoding.hpp"

namespace hearth::server {

namespace {

namespace wire = sync::protocol;
using wire::WireError;

// Every answer is built by the protocol codec (sync/protocol.hpp); nothing here writes JSON.
template <typename Message>
HttpResponse reply(const Message& m) {
  return HttpResponse{200, wire::encode(m), "application/json"};
}
HttpResponse error(WireError code, const std::string& message) {
  return HttpResponse{wire::http_status(code), wire::encode(wire::ErrorReply{code, message}), "application/json"};
}
// A request the codec refused: too_large stays too_large (413), anything else is bad_request.
HttpResponse refused(const Error& e) {
  return error(e.code == ErrorCode::too_large ? WireError::too_large : WireError::bad_request, e.message);
}
HttpResponse failed(const Error& e) { return error(wire::wire_error_for(e.code), e.message); }

}  // namespace

SyncService::SyncService(ServerStore& store, std::function<uint64_t()> clock, const Schema& schema, ServiceLimits limits)
    : store_(store), clock_(std::move(clock)), limits_(limits), merge_(schema), server_clock_(clock_) {}

void SyncService::audit(const Caller* c, const std::string& action, const std::string& family, const std::string& detail) {
  AuditEvent e{static_cast<int64_t>(clock_()), c ? c->device.practitioner : "anonymous", c ? c->device.id : "", action,
               family, detail};
  (void)store_.audit(e);
}

Result<std::string> SyncService::issue_enrol_code(const std::string& practitioner) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto known = store_.practitioner_exists(practitioner);
  if (!known) return known.error();
  if (!*known) return make_error(ErrorCode::not_found, "no practitioner '" + practitioner + "'");
  std::string code = platform::random_hex(10);
  auto r = store_.transaction([&]() -> Result<void> {
    if (auto a = store_.add_enrol_code(platform::sha256_hex(code), practitioner,
                                       static_cast<int64_t>(clock_()) + limits_.enrol_code_ttl_ms);
        !a)
      return a;
    return store_.audit(AuditEvent{static_cast<int64_t>(clock_()), "admin", "", "enrol-code", "", practitioner});
  });
  if (!r) return r.error();
  return code;
}

HttpResponse SyncService::handle(const HttpRequest& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (r.path.rfind("/v1/", 0) != 0) {
    if (r.path.size() > 2 && r.path[0] == '/' && r.path[1] == 'v')
      return error(WireError::not_found,
                   "protocol " + r.path.substr(1, r.path.find('/', 1) - 1) + " is not served here; this server speaks v1");
    return error(WireError::not_found, "no such endpoint: " + r.path);
  }
  std::string version = r.header(wire::kVersionHeader);
  if (!version.empty() && version != std::to_string(kProtocolVersion)) {
    bool older = version < std::to_string(kProtocolVersion);
    return error(WireError::version, "the app speaks protocol " + version + " and this server speaks " +
                                         std::to_string(kProtocolVersion) +
                                         (older ? "; update the app" : "; the server needs updating first"));
  }
  if (r.path == "/v1/health") {
    if (r.method != "GET") return error(WireError::method, r.method + " " + r.path + " is not supported; use GET");
    auto e = epoch();
    if (!e) return failed(e.error());
    wire::HealthReply h;
    h.history.epoch = *e;
    return reply(h);
  }
  if (r.method != "POST") return error(WireError::method, r.method + " " + r.path + " is not supported");
  if (r.path == "/v1/enrol") return enrol(r);
  Caller caller;
  if (auto denied = authenticate(r, caller)) return *denied;
  if (r.path == "/v1/push") return push(r, caller);
  if (r.path == "/v1/pull") return pull(r, caller);
  return error(WireError::not_found, "no such endpoint: " + r.path);
}

Result<std::string> SyncService::epoch() {
  if (!epoch_.empty()) return epoch_;
  auto stored = store_.history_epoch();
  if (!stored) return stored.error();
  if (stored->empty()) {  // a database from before epochs: start one now
    std::string fresh = platform::random_hex(16);
    if (auto w = store_.set_history_epoch(fresh); !w) return w.error();
    *stored = fresh;
  }
  epoch_ = *stored;
  return epoch_;
}

Result<std::string> SyncService::new_epoch(const Caller& c, const std::string& why) {
  std::string fresh = platform::random_hex(16);
  if (auto w = store_.set_history_epoch(fresh); !w) return w.error();
  epoch_ = fresh;
  audit(&c, "history-epoch", "", why + "; new epoch " + fresh);
  return fresh;
}

std::optional<HttpResponse> SyncService::authenticate(const HttpRequest& r, Caller& out) {
  std::string auth = r.header("authorization");
  if (auth.rfind("Bearer ", 0) != 0) {
    audit(nullptr, "denied", "", "no credential on " + r.path + " from " + r.remote);
    return error(WireError::unauthorised, "this request needs the device credential from enrolment (Authorization: Bearer ...)");
  }
  auto device = store_.device_by_token(platform::sha256_hex(auth.substr(7)));
  if (!device) return failed(device.error());
  if (!*device) {
    audit(nullptr, "denied", "", "unknown credential on " + r.path + " from " + r.remote);
    return error(WireError::unauthorised, "unknown device credential; enrol the device again");
  }
  out.device = **device;
  if (out.device.revoked) {
    audit(&out, "denied", "", "revoked device on " + r.path);
    return error(WireError::revoked, "this device has been revoked; it must wipe its store");
  }
  if (static_cast<int64_t>(clock_()) >= out.device.expires_at) {
    audit(&out, "denied", "", "expired credential on " + r.path);
    return error(WireError::expired, "this device's credential expired; enrol it again with a new code (unsynced work is kept)");
  }
  (void)store_.touch_device(out.device.id, static_cast<int64_t>(clock_()));
  return std::nullopt;
}

HttpResponse SyncService::enrol(const HttpRequest& r) {
  auto body = wire::decode_enrol_request(r.body, limits_.wire);
  if (!body) return refused(body.error());
  const std::string& device_id = body->device_id;
  std::string token = platform::random_hex(32);
  std::string practitioner;
  bool spent_ok = false;
  auto done = store_.transaction([&]() -> Result<void> {
    auto who = store_.spend_enrol_code(platform::sha256_hex(body->code),
                                       static_cast<int64_t>(clock_()));
    if (!who) return who.error();
    if (!*who) return {};
    spent_ok = true;
    practitioner = **who;
    int64_t now = static_cast<int64_t>(clock_());
    if (auto a = store_.add_device(device_id, practitioner, platform::sha256_hex(token), now, now + limits_.credential_ttl_ms); !a)
      return a;
    return store_.audit(AuditEvent{static_cast<int64_t>(clock_()), practitioner, device_id, "enrol", "", ""});
  });
  if (!done) return failed(done.error());
  if (!spent_ok) {
    audit(nullptr, "denied", "", "enrolment with an unknown, spent or expired code from " + r.remote);
    return error(WireError::bad_code, "the enrolment code is unknown, already used or expired; ask for a new one");
  }
  auto e = epoch();
  if (!e) return failed(e.error());
  wire::EnrolReply out;
  out.device_token = token;
  out.practitioner_id = practitioner;
  out.server_time_ms = clock_();
  out.history.epoch = *e;
  out.max_push_bytes = limits_.wire.push_bytes;
  out.max_op_bytes = limits_.wire.op_bytes;
  return reply(out);
}

Result<void> SyncService::ensure_loaded(const std::string& family) {
  if (loaded_.count(family)) return {};
  int64_t after = 0;
  while (true) {
    auto page = store_.ops_after(family, after, 4u << 20);
    if (!page) return page.error();
    if (page->empty()) break;
    for (const auto& so : *page) {
      auto op = sync::decode(so.body);
      if (!op) return op.error();
      if (auto a = merge_.apply(*op); !a) return a.error();
      after = so.seq;
    }
  }
  loaded_.insert(family);
  return {};
}

Result<void> SyncService::check_history(const Caller& c, const std::string& device_epoch, uint64_t delivered,
                                        int64_t highest_cursor, const std::map<std::string, int64_t>& cursors,
                                        const std::set<std::string>& visible) {
  // Only evidence claimed under the current epoch counts: a device on another epoch resets
  // when it sees this one, and its numbers refer to another history.
  auto current = epoch();
  if (!current) return current.error();
  if (device_epoch != *current) return {};
  std::string why;
  if (delivered > 0) {
    auto held = store_.highest_counter(c.device.id);
    if (!held) return held.error();
    if (delivered > *held)
      why = "device " + c.device.id + " had its ops up to " + std::to_string(delivered) +
            " confirmed, this history holds up to " + std::to_string(*held);
  }
  if (why.empty() && highest_cursor > 0) {
    auto last = store_.last_seq();
    if (!last) return last.error();
    if (highest_cursor > *last)
      why = "device " + c.device.id + " holds a cursor at " + std::to_string(highest_cursor) +
            ", this history ends at " + std::to_string(*last);
  }
  for (auto it = cursors.begin(); why.empty() && it != cursors.end(); ++it) {
    if (it->second == 0 || !visible.count(it->first)) continue;
    auto highest = store_.highest_seq(it->first);
    if (!highest) return highest.error();
    if (it->second > *highest)
      why = "device " + c.device.id + " had family " + it->first + " up to " + std::to_string(it->second) +
            ", this history holds up to " + std::to_string(*highest);
  }
  if (why.empty()) return {};
  auto e = new_epoch(c, why);
  if (!e) return e.error();
  return {};
}

HttpResponse SyncService::push(const HttpRequest& r, const Caller& c) {
  auto body = wire::decode_push_request(r.body, limits_.wire);
  if (!body) return refused(body.error());
  auto current_epoch = epoch();
  if (!current_epoch) return failed(current_epoch.error());
  uint64_t now = clock_();
  int64_t offset = body->device_time_ms ? guard_.offset(body->device_time_ms, now) : 0;

  if (auto h = check_history(c, body->history_epoch, body->delivered_counter, 0, {}, {}); !h) return failed(h.error());

  auto visible_list = store_.families_of(c.device.practitioner);
  if (!visible_list) return failed(visible_list.error());
  std::set<std::string> visible(visible_list->begin(), visible_list->end());
  std::set<std::string> touched;
  wire::PushReply out;
  size_t accepted = 0, rejected = 0;
  auto done = store_.transaction([&]() -> Result<void> {
    for (const auto& bytes : body->ops) {
      wire::OpResult res;
      auto reject = [&](const std::string& id, WireError code, const std::string& why) {
        res = wire::OpResult{id, wire::OpStatus::rejected, why, code};
        ++rejected;
      };
      auto op = sync::decode(bytes);
      if (!op) {
        reject("", WireError::bad_request, op.error().message);
        out.results.push_back(res);
        continue;
      }
      std::string id = op->id.to_string();
      if (bytes.size() > limits_.wire.op_bytes) {
        // judged on its own: the device keeps it in quarantine, the rest of its queue goes on
        reject(id, WireError::too_large, "the op is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                                             std::to_string(limits_.wire.op_bytes) + " bytes per op");
      } else if (op->id.device != c.device.id) {
        reject(id, WireError::forbidden, "op was made by another device");
      } else if (op->author != c.device.practitioner) {
        reject(id, WireError::forbidden, "op author " + op->author + " is not this device's practitioner");
      } else if (auto dup = store_.has_op(op->id.device, op->id.counter); !dup) {
        return dup.error();
      } else if (*dup) {
        res = wire::OpResult{id, wire::OpStatus::duplicate, "", std::nullopt};
      } else {
        bool allowed = visible.count(op->family) != 0;
        if (!allowed && !op->family.empty()) {
          auto exists = store_.family_exists(op->family);
          if (!exists) return exists.error();
          // A family a practitioner creates on a tablet is theirs: they lead its team.
          if (!*exists && op->kind == sync::OpKind::Create && op->entity_type == "Family" && op->entity_id == op->family) {
            if (auto a = store_.allocate(op->family, c.device.practitioner, true); !a) return a;
            visible.insert(op->family);
            allowed = true;
          }
        }
        if (!allowed) {
          reject(id, WireError::forbidden,
                 op->family.empty() ? "directory records are managed by the office"
                                    : "no access to family " + op->family + " (not on its team)");
          audit(&c, "denied", op->family, "push to a family not on the caseload");
        } else if (auto loaded = ensure_loaded(op->family); !loaded) {
          return loaded.error();
        } else if (auto ok = merge_.check(*op); !ok) {
          reject(id, WireError::bad_request, ok.error().message);
        } else {
          StoredOp so{0, op->family, op->id.device, op->id.counter, bytes};
          if (auto seq = store_.append_op(so); !seq) return seq.error();
          (void)merge_.apply(*op);
          if (auto wall = guard_.corrected_wall(op->hlc, offset, now)) {
            sync::Op restamp = sync::make_restamp(*op, *wall);
            auto counter = store_.next_server_counter();
            if (!counter) return counter.error();
            restamp.id = sync::OpId{"server", *counter};
            restamp.hlc = server_clock_.tick();
            restamp.author = "server";
            std::string rb = sync::encode(restamp);
            if (auto seq = store_.append_op(StoredOp{0, restamp.family, "server", *counter, rb}); !seq) return seq.error();
            (void)merge_.apply(restamp);
          }
          touched.insert(op->family);
          res = wire::OpResult{id, wire::OpStatus::accepted, "", std::nullopt};
          ++accepted;
        }
      }
      out.results.push_back(res);
    }
    // Work a device keeps in quarantine is reported so that it is seen (DOMAIN.md §6.6); the
    // acknowledgement lets the device purge it later.
    for (const auto& q : body->quarantined) {
      if (q.op_id.rfind(c.device.id + ":", 0) != 0) continue;
      if (auto a = store_.audit(AuditEvent{static_cast<int64_t>(now), c.device.practitioner, c.device.id,
                                           "quarantine-report", q.family, q.op_id + ": " + q.reason});
          !a)
        return a;
      out.quarantine_acknowledged.push_back(q.op_id);
    }
    for (const auto& f : touched) {
      auto team = store_.team_of(f);
      if (!team) return team.error();
      for (const auto& p : *team)
        if (auto b = store_.bump_feed(p); !b) return b;
    }
    return store_.audit(AuditEvent{static_cast<int64_t>(now), c.device.practitioner, c.device.id, "push", "",
                                   std::to_string(accepted) + " accepted, " + std::to_string(rejected) + " rejected"});
  });
  if (!done) {
    for (const auto& f : touched) {  // the merge may hold ops the rollback removed
      merge_.forget_family(f);
      loaded_.erase(f);
    }
    return error(WireError::server, "the push was not stored: " + done.error().message);
  }
  out.server_time_ms = now;
  out.clock_offset_ms = offset;
  out.history.epoch = epoch_;
  out.max_push_bytes = limits_.wire.push_bytes;
  out.max_op_bytes = limits_.wire.op_bytes;
  return reply(out);
}

HttpResponse SyncService::pull(const HttpRequest& r, const Caller& c) {
  auto body = wire::decode_pull_request(r.body, limits_.wire);
  if (!body) return refused(body.error());
  auto current_epoch = epoch();
  if (!current_epoch) return failed(current_epoch.error());
  auto current = store_.feed_version(c.device.practitioner);
  if (!current) return failed(current.error());
  wire::PullReply out;
  // History that went back is looked for first: after a restore an unchanged-looking feed
  // version proves nothing. Two indexed lookups; the per-family cursors are checked below.
  if (auto h = check_history(c, body->history_epoch, body->delivered_counter, body->highest_cursor, {}, {}); !h)
    return failed(h.error());
  // An empty sync: nothing this practitioner may see has changed. Constant work.
  bool unchanged = body->feed_version && *body->feed_version == *current && body->history_epoch == epoch_;
  if (unchanged || body->probe) {
    out.more = !unchanged;
    out.changed = !unchanged;
    out.feed_version = *current;
    out.history.epoch = epoch_;
    return reply(out);
  }

  size_t budget = limits_.wire.page_bytes;
  if (body->max_bytes > 0) budget = std::min<size_t>(budget, std::max<size_t>(4096, body->max_bytes));
  auto visible = store_.families_of(c.device.practitioner);
  if (!visible) return failed(visible.error());
  std::set<std::string> visible_set(visible->begin(), visible->end());
  for (const auto& [family, cursor] : body->cursors) {
    if (!visible_set.count(family)) {
      out.purge.push_back(family);
      audit(&c, "purge-instruction", family, "family no longer on the caseload");
    }
  }
  if (auto h = check_history(c, body->history_epoch, 0, 0, body->cursors, visible_set); !h) return failed(h.error());
  size_t used = 0;
  for (const auto& family : *visible) {
    if (used >= budget) {
      out.more = true;
      break;
    }
    auto it = body->cursors.find(family);
    int64_t after = it == body->cursors.end() ? 0 : it->second;
    auto page = store_.ops_after(family, after, budget - used);
    if (!page) return failed(page.error());
    if (page->empty()) continue;
    wire::FamilyPage fp;
    fp.family = family;
    for (auto& so : *page) {
      used += so.body.size();
      fp.ops.push_back(std::move(so.body));
    }
    fp.cursor = page->back().seq;
    out.families.push_back(std::move(fp));
    if (used >= budget) out.more = true;
  }
  audit(&c, "pull", "", std::to_string(out.families.size()) + " families, " + std::to_string(used) + " bytes");
  if (!out.more) out.feed_version = *current;
  out.history.epoch = epoch_;
  return reply(out);
}

}  // namespace hearth::server
