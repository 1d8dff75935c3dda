#include "hearth/client/sync_client.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "hearth/core/civil_time.hpp"
#include "hearth/sync/protocol.hpp"
#include "sync_port.hpp"

namespace hearth::client {

namespace {

namespace wire = sync::protocol;
using wire::WireError;

// The wire code of a refusal: the code the server sent, or one derived from the status when
// the body carries none (a proxy's page, an older server).
WireError code_of(const HttpReply& r, const std::optional<wire::ErrorReply>& body) {
  if (body && !(body->code == WireError::server && r.status < 500)) return body->code;
  switch (r.status) {
    case 400: return WireError::bad_request;
    case 401: return WireError::unauthorised;
    case 403: return WireError::forbidden;
    case 404: return WireError::not_found;
    case 405: return WireError::method;
    case 409: return WireError::conflict;
    case 413: return WireError::too_large;
    case 503: return WireError::unavailable;
    default: return r.status >= 500 ? WireError::server : WireError::bad_request;
  }
}

Error refusal(const std::string& path, const HttpReply& r) {
  auto decoded = wire::decode_error_reply(r.body);
  std::optional<wire::ErrorReply> body;
  if (decoded) body = std::move(decoded.value());
  WireError code = code_of(r, body);
  std::string msg = body && !body->message.empty() ? body->message : "HTTP " + std::to_string(r.status);
  ErrorCode mapped = wire::to_error_code(code);
  switch (code) {
    case WireError::revoked: return make_error(mapped, "revoked: " + msg);
    case WireError::expired:
    case WireError::bad_code:
    case WireError::unauthorised: return make_error(mapped, "the server refused this device: " + msg);
    default:
      return make_error(mapped, path + " refused (" + std::to_string(r.status) + " " + wire::to_string(code) + "): " + msg);
  }
}

// One request with retries for network failures and answers worth retrying (server,
// unavailable); every other refusal is final for this request and comes back as the error
// its wire code means.
// `content_type` and `accept` as Transport::post_as; empty: JSON through Transport::post.
Result<HttpReply> call_as(Transport& t, const std::string& path, const std::string& body, const std::string& token,
                          const SyncOptions& o, const std::string& content_type = {}, const std::string& accept = {}) {
  uint64_t wait = o.backoff_ms;
  Error last{ErrorCode::network, "no attempt made"};
  for (int attempt = 1; attempt <= std::max(1, o.max_attempts); ++attempt) {
    if (o.cancel && o.cancel->load()) return make_error(ErrorCode::network, "sync cancelled; it resumes where it stopped");
    auto reply = content_type.empty() ? t.post(path, body, token) : t.post_as(path, body, token, content_type, accept);
    if (reply && reply->status == 200) return std::move(*reply);
    if (reply) {
      Error e = refusal(path, *reply);
      if (e.code != ErrorCode::network) return e;
      last = e;
    } else {
      last = reply.error();
      if (last.code == ErrorCode::clock) return last;  // a wrong device clock does not heal by retrying
    }
    if (attempt < o.max_attempts) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      wait *= 2;
    }
  }
  return last;
}

Result<std::string> call(Transport& t, const std::string& path, const std::string& body, const std::string& token,
                         const SyncOptions& o) {
  auto reply = call_as(t, path, body, token, o);
  if (!reply) return reply.error();
  return std::move(reply->body);
}

template <typename T>
Result<T> answer(Result<T> decoded, const std::string& path) {
  if (!decoded) return make_error(ErrorCode::corrupt, "the server's answer to " + path + " is malformed: " + decoded.error().message);
  return decoded;
}

Result<std::string> required_secret(const Store& s, const char* name) {
  auto v = sync_port(s).secret(name);
  if (!v) return v.error();
  if (!*v)
    return make_error(ErrorCode::not_enrolled, "this device is not enrolled: run `hearth enrol` with a code from the office");
  return std::move(**v);
}

// The limits the server advertised, kept sealed in the store; the protocol's defaults until
// the server has said.
struct PushLimits {
  uint64_t push_bytes = wire::Limits{}.push_bytes;
  uint64_t op_bytes = wire::Limits{}.op_bytes;
  uint64_t frames = 0;  // the framing of push bodies the server reads (0: JSON only)
};

uint64_t secret_number(const Store& s, const char* name, uint64_t fallback) {
  auto v = sync_port(s).secret(name);
  if (!v || !*v) return fallback;
  uint64_t n = 0;
  const std::string& text = **v;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc() && end == text.data() + text.size() && n > 0 ? n : fallback;
}

PushLimits load_limits(const Store& s) {
  PushLimits l;
  l.push_bytes = secret_number(s, "max_push_bytes", l.push_bytes);
  l.op_bytes = secret_number(s, "max_op_bytes", l.op_bytes);
  l.frames = secret_number(s, "server_frames", 0);
  return l;
}

// What the server said of framed push bodies, kept like its limits (an older server says
// nothing: 0, JSON only).
Result<void> remember_frames(Store& s, PushLimits& current, uint64_t frames) {
  if (frames == current.frames) return {};
  if (auto r = sync_port(s).put_secret("server_frames", std::to_string(frames)); !r) return r;
  current.frames = frames;
  return {};
}

Result<void> remember_limits(Store& s, PushLimits& current, uint64_t push_bytes, uint64_t op_bytes) {
  if (push_bytes && push_bytes != current.push_bytes) {
    if (auto r = sync_port(s).put_secret("max_push_bytes", std::to_string(push_bytes)); !r) return r;
    current.push_bytes = push_bytes;
  }
  if (op_bytes && op_bytes != current.op_bytes) {
    if (auto r = sync_port(s).put_secret("max_op_bytes", std::to_string(op_bytes)); !r) return r;
    current.op_bytes = op_bytes;
  }
  return {};
}

PolicySnapshot policy_of(const wire::PolicySnapshot& p) {
  PolicySnapshot out;
  out.issued_at_ms = p.issued_at_ms;
  out.practitioner = p.practitioner;
  out.organisation = p.organisation;
  out.system_roles = p.system_roles;
  out.sharing_block_after_ms = p.sharing_block_after_ms;
  out.lock_after_ms = p.lock_after_ms;
  out.purge_after_ms = p.purge_after_ms;
  out.key_lease_ms = p.key_lease_ms;
  return out;
}

// "2026-11-30T08:00:00Z": a server time in a message a practitioner reads.
std::string utc(uint64_t ms) { return civil::format_datetime_seconds(static_cast<int64_t>(ms)); }

// What a wipe destroyed that was on no server, in words (Store::wipe's LostWork).
std::string lost_in_words(const LostWork& lost) {
  if (lost.unsynced == 0 && lost.quarantined == 0) return "everything on it had reached the server";
  return std::to_string(lost.unsynced) + " operations not yet synced and " + std::to_string(lost.quarantined) +
         " refused ones whose report the server had not acknowledged went with it: tell the office, they are on no server";
}

// A server whose history epoch differs from the one the store holds: the store forgets its
// cursors and queues its own ops again (the server ignores those it has). True: reset done.
// The first epoch a store hears of (it has none yet) is only recorded: what it holds was not
// made against another history it knew of.
Result<bool> follow_epoch(Store& store, const std::string& known, const std::string& server_epoch) {
  if (server_epoch.empty() || server_epoch == known) return false;
  if (known.empty()) {
    if (auto r = sync_port(store).set_history_epoch(server_epoch); !r) return r.error();
    return false;
  }
  if (auto r = sync_port(store).reset_for_new_history(server_epoch); !r) return r.error();
  return true;
}

class Engine {
 public:
  Engine(Store& store, Transport& t, const SyncOptions& o, std::string token)
      : store_(store), port_(sync_port(store)), t_(t), o_(o), token_(std::move(token)) {
    now_ = o.now_ms ? o.now_ms : std::function<int64_t()>([&store] { return sync_port(store).clock_now_ms(); });
    up0_ = t.bytes_sent();
    down0_ = t.bytes_received();
  }

  // One sync; a device the server revoked, or told to wipe, wipes its store here (in the
  // library, so every app does) and says what of its work went with it.
  Result<SyncReport> run() {
    auto done = passes();
    if (done || wiped_ || done.error().code != ErrorCode::revoked) return done;
    // Revoked by the office (wire code `revoked`): the device can no longer push, so it erases
    // what it holds, as told, and says what of it was on no server (nothing silently dropped).
    auto lost = store_.wipe();
    if (!lost) return make_error(ErrorCode::revoked, done.error().message + "; erasing the store failed: " + lost.error().message);
    return make_error(ErrorCode::revoked, done.error().message + "; the store on this device has been erased: " +
                                              lost_in_words(*lost));
  }

 private:
  Result<SyncReport> passes() {
    for (int pass = 0; pass < 3; ++pass) {
      bool reset = false;
      // 1. push; a failure here is remembered, and the pull still runs
      auto pushed = push(reset);
      if (!pushed) return pushed.error();  // the store itself failed
      if (reset) {
        ++report_.history_resets;
        continue;
      }
      std::optional<Error> push_error = *pushed;
      if (push_error && (push_error->code == ErrorCode::revoked || push_error->code == ErrorCode::expired ||
                         push_error->code == ErrorCode::not_enrolled))
        return *push_error;  // the credential itself was refused: a pull would be refused the same way
      // the office asked for a wipe: nothing more is pulled onto this device
      if (wipe_) return wipe(push_error);
      // 2. pull
      auto pulled = pull(reset);
      if (wipe_) return wipe(push_error);
      if (pulled && reset) {
        ++report_.history_resets;
        continue;
      }
      if (!pulled) {
        if (push_error)
          return make_error(push_error->code, "push failed: " + push_error->message + "; pull failed too: " +
                                                  pulled.error().message);
        return pulled.error();
      }
      if (push_error)
        return make_error(push_error->code, "push failed: " + push_error->message + " (the pull completed: " +
                                                std::to_string(report_.pulled) +
                                                " ops received; unsent work stays queued for the next sync)");
      return report_;
    }
    return make_error(ErrorCode::network, "the server's history changed again during this sync; sync again");
  }

  // The office asked for this device to be wiped (wire `wipe`, N5). Unless it said to discard
  // unsynced work, the store is wiped only once nothing on it is on no server: the push of this
  // sync delivered the outbox and the server acknowledged every refused op's report. Otherwise
  // it keeps everything and says so; the next sync pushes again and wipes then. Once wiped
  // (keys first: Store::wipe), the device acknowledges with its credential, read before.
  Result<SyncReport> wipe(const std::optional<Error>& push_error) {
    const wire::WipeOrder order = *wipe_;
    LostWork pending;
    pending.unsynced = port_.unsynced();
    auto refused = port_.quarantine();
    if (!refused) return refused.error();
    for (const auto& q : *refused) pending.quarantined += q.acknowledged ? 0 : 1;
    if (!order.discard_unsynced && (pending.unsynced > 0 || pending.quarantined > 0)) {
      return make_error(push_error ? push_error->code : ErrorCode::network,
                        "the office asked for this device to be wiped (at " + utc(order.requested_at_ms) +
                            "); it is wiped once its " + std::to_string(pending.unsynced) +
                            " unsynced operations and " + std::to_string(pending.quarantined) +
                            " unacknowledged refused ones reach the server, so nothing recorded is lost" +
                            (push_error ? ": the push failed (" + push_error->message + ")" : std::string()) +
                            "; sync again");
    }
    auto lost = store_.wipe();
    if (!lost) return make_error(ErrorCode::storage, "the office asked for this device to be wiped, and erasing the store failed: " +
                                                         lost.error().message + "; sync again to retry");
    wiped_ = true;
    // The store and its credential are gone: the acknowledgement uses the token read before.
    auto ack = call(t_, "/v1/wipe/ack",
                    wire::encode(wire::WipeAck{static_cast<uint64_t>(lost->unsynced), static_cast<uint64_t>(lost->quarantined)}),
                    token_, o_);
    std::string acknowledged = ack ? "; the office has the acknowledgement"
                                   : "; the acknowledgement did not reach the office (" + ack.error().message +
                                         "): tell them the device is wiped";
    return make_error(ErrorCode::revoked, "wiped at the office's request (asked at " + utc(order.requested_at_ms) + "): " +
                                              lost_in_words(*lost) +
                                              (order.discard_unsynced && (lost->unsynced || lost->quarantined)
                                                   ? " (the office said to discard what could not be pushed)"
                                                   : std::string()) +
                                              acknowledged + ". Enrol a new store to work again.");
  }

  void progress(const char* phase, size_t done, size_t total) {
    report_.bytes_up = t_.bytes_sent() - up0_;
    report_.bytes_down = t_.bytes_received() - down0_;
    if (o_.progress) o_.progress(SyncProgress{phase, done, total, report_.bytes_up, report_.bytes_down});
  }

  // Pushes the outbox in batches sized in bytes. The outer error is a local failure; the inner
  // one a push the server or the network refused.
  Result<std::optional<Error>> push(bool& reset) {
    PushLimits limits = load_limits(store_);
    auto known = port_.cursors();
    if (!known) return known.error();
    const std::string epoch = known->history_epoch;
    const size_t queued = port_.unsynced();  // not status(): that counts the whole history
    const size_t most = std::max<size_t>(1, o_.push_batch);
    size_t max_ops = most;
    size_t done = 0;
    // Work kept in quarantine is reported (with the first push) until the server acknowledges
    // the report, so that the lead professional sees it exists (DOMAIN.md §6.6).
    auto held = port_.quarantine();
    if (!held) return held.error();
    std::vector<wire::QuarantineNotice> notices;
    for (const auto& q : *held)
      if (!q.acknowledged && notices.size() < 100) notices.push_back(wire::QuarantineNotice{q.op_id, q.family, q.reason});
    // Held ops still waiting: the answer says which the server has decided (with the first push).
    auto waiting = port_.held_waiting(200);
    if (!waiting) return waiting.error();
    // Views of T2/T3 records the store logged (DOMAIN.md §9.1 VIEW), a batch per request.
    auto views = port_.record_views(wire::kMaxRecordViews);
    if (!views) return views.error();
    // Past the key lease with nothing to send, one empty push still goes: its answer measures
    // the device's clock, so a clock that ran ahead is corrected before the pull renews the
    // lease (otherwise the lease, measured on that clock, would end again at once).
    auto lease = store_.key_lease();
    bool clock_check = queued == 0 && lease && lease->ended;
    // every round sends a batch, quarantines an op, or halves the batch: bounded by the queue
    for (size_t round = 0; round < 2 * queued + 64; ++round) {
      auto batch = port_.outbox(max_ops);
      if (!batch) return batch.error();
      const bool views_due = views->through > 0 || views->dropped > 0;
      if (batch->empty() && notices.empty() && waiting->empty() && !clock_check && !views_due) break;
      auto delivered = port_.delivered_counter();
      if (!delivered) return delivered.error();

      wire::PushRequest req;
      req.device_time_ms = static_cast<uint64_t>(std::max<int64_t>(0, now_()));
      req.clock_floor_ms = port_.clock_floor_ms();
      req.history_epoch = epoch;
      req.delivered_counter = *delivered;
      req.quarantined = notices;
      req.held_waiting = *waiting;
      for (const auto& v : views->views)
        req.record_views.push_back(wire::RecordView{static_cast<uint64_t>(v.seq), v.family, v.type, v.record,
                                                    static_cast<uint64_t>(std::max<int64_t>(0, v.at_ms))});
      req.record_views_dropped = views->dropped;
      const size_t base = wire::encode(req).size();
      size_t size = base;
      std::map<std::string, int64_t> seq_of;
      std::vector<std::pair<int64_t, std::string>> keep;  // ops the server cannot take whole
      for (auto& e : *batch) {
        size_t entry = wire::push_entry_bytes(e.bytes.size());
        if (e.bytes.size() > limits.op_bytes || base + entry > limits.push_bytes) {
          keep.emplace_back(e.seq, "too_large: the op is " + std::to_string(e.bytes.size()) +
                                       " bytes, over the server's limit of " + std::to_string(limits.op_bytes) +
                                       " bytes per op; it is kept on this device");
          continue;
        }
        if (size + entry > limits.push_bytes) break;  // the batch is full
        size += entry;
        seq_of[e.id.to_string()] = e.seq;
        req.ops.push_back(std::move(e.bytes));
      }
      if (!keep.empty()) {
        if (auto r = port_.record_push({}, keep, now_()); !r) return r.error();
        report_.quarantined += keep.size();
        report_.rejected += keep.size();
        done += keep.size();
      }
      if (req.ops.empty() && req.quarantined.empty() && req.held_waiting.empty() && !clock_check && !views_due) continue;
      clock_check = false;

      ++report_.push_requests;
      // Framed (its ops as bytes, not base64) when the server reads it. The batch was sized by
      // its JSON form; a frame is smaller but for ops under 40 bytes, so a frame over the
      // limit goes as JSON.
      std::string framed = limits.frames >= wire::kFramesVersion && t_.carries_frames() ? wire::encode_framed(req) : "";
      if (framed.size() > limits.push_bytes) framed.clear();
      auto body = !framed.empty() ? call_as(t_, "/v1/push", framed, token_, o_, wire::kFramesType, wire::kJsonType)
                                  : call_as(t_, "/v1/push", wire::encode(req), token_, o_);
      if (!body && body.error().code == ErrorCode::too_large) {
        if (req.ops.size() > 1) {  // split the batch and try again
          max_ops = std::max<size_t>(1, req.ops.size() / 2);
          continue;
        }
        // One op within the limits the server advertised, refused as a whole body: something
        // in between (a proxy) is tighter than the server. The op stays queued, not quarantined,
        // and the failure is reported; the pull still runs.
        return std::optional<Error>(make_error(ErrorCode::too_large, body.error().message +
                                                                         " (one op of " + std::to_string(size - base) +
                                                                         " bytes, within the server's advertised limit)"));
      }
      if (!body) return std::optional<Error>(body.error());
      auto reply = answer(wire::decode_push_reply(body->body), "/v1/push");
      if (!reply) return std::optional<Error>(reply.error());
      if (reply->wipe) wipe_ = reply->wipe;  // the push goes on: the outbox first, then the wipe

      std::vector<int64_t> accepted;
      std::vector<std::pair<int64_t, std::string>> rejected;
      std::vector<HeldResult> kept_for_decision;
      for (const auto& r : reply->results) {
        auto it = seq_of.find(r.op_id);
        if (it == seq_of.end()) continue;
        if (r.status == wire::OpStatus::accepted) ++report_.pushed, accepted.push_back(it->second);
        else if (r.status == wire::OpStatus::duplicate) ++report_.duplicates, accepted.push_back(it->second);
        else if (r.status == wire::OpStatus::held)
          ++report_.held, kept_for_decision.push_back(HeldResult{it->second, r.reason.empty() ? "held" : r.reason, r.route_to});
        else {
          ++report_.rejected;
          if (r.code == WireError::too_large) ++report_.quarantined;
          std::string code = r.code ? std::string(wire::to_string(*r.code)) + ": " : std::string();
          rejected.emplace_back(it->second, code + (r.reason.empty() ? "rejected" : r.reason));
        }
      }
      if (!req.quarantined.empty()) {
        std::vector<std::string> sent;
        for (const auto& n : req.quarantined) sent.push_back(n.op_id);
        if (auto r = port_.mark_quarantine_reported(sent); !r) return r.error();
        notices.clear();
      }
      waiting->clear();
      // The server recorded the views it was sent (it answers with the last one): forgotten here.
      if (views_due) {
        const bool acknowledged = req.record_views.empty()
                                      ? reply->record_views_dropped == req.record_views_dropped
                                      : reply->record_views_through >= req.record_views.back().seq;
        if (acknowledged)
          if (auto r = port_.forget_record_views(views->through, reply->record_views_dropped); !r) return r.error();
        auto next = acknowledged ? port_.record_views(wire::kMaxRecordViews) : Result<PendingViews>(PendingViews{});
        if (!next) return next.error();
        *views = std::move(*next);
      }
      if (!reply->held_decided.empty()) {
        std::vector<HeldDecisionInfo> decided;
        for (const auto& d : reply->held_decided)
          decided.push_back(HeldDecisionInfo{d.op_id, d.outcome, d.by, d.note, static_cast<int64_t>(d.at_ms)});
        report_.held_decided += decided.size();
        if (auto r = port_.record_held_decisions(decided); !r) return r.error();
      }
      if (!reply->quarantine_acknowledged.empty())
        if (auto r = port_.mark_quarantine_acknowledged(reply->quarantine_acknowledged); !r) return r.error();
      if (!req.ops.empty() && accepted.empty() && rejected.empty() && kept_for_decision.empty())
        return std::optional<Error>(make_error(ErrorCode::corrupt, "the server answered a push without a result for any op"));
      if (auto r = port_.record_push(accepted, rejected, now_(), kept_for_decision); !r) return r.error();
      done += accepted.size() + rejected.size() + kept_for_decision.size();
      report_.clock_offset_ms = reply->clock_offset_ms;
      if (report_.clock_offset_ms != 0)
        if (auto r = port_.correct_clock(report_.clock_offset_ms); !r) return r.error();
      if (reply->server_time_ms != 0)  // docs/change-log.md, "Clocks": the floor of this device's later stamps
        if (auto r = port_.adopt_server_time(reply->server_time_ms); !r) return r.error();
      if (auto r = remember_limits(store_, limits, reply->max_push_bytes, reply->max_op_bytes); !r) return r.error();
      if (auto r = remember_frames(store_, limits, reply->frames); !r) return r.error();
      auto followed = follow_epoch(store_, epoch, reply->history.epoch);
      if (!followed) return followed.error();
      if (*followed) {
        reset = true;
        return std::optional<Error>();
      }
      max_ops = std::min(most, max_ops * 2);  // after a split, grow back
      progress("push", done, queued);
    }
    return std::optional<Error>();
  }

  // Pulls every visible family after its cursor, page by page; when the last feed version is
  // known, a probe carrying only it settles an unchanged sync in one small request.
  Result<void> pull(bool& reset) {
    auto known = port_.cursors();
    if (!known) return known.error();
    const std::string epoch = known->history_epoch;
    auto delivered = port_.delivered_counter();
    if (!delivered) return delivered.error();
    int64_t highest_cursor = 0;
    for (const auto& [family, cursor] : known->families) highest_cursor = std::max(highest_cursor, cursor);
    // One pull request, carrying the evidence of a history that went back (the epoch, the
    // delivered counter, the highest cursor). Its answer, or nothing when it came from another
    // history: the store then resets (`reset`) and the sync runs again.
    auto ask = [&](wire::PullRequest req) -> Result<std::optional<wire::PullReply>> {
      req.history_epoch = epoch;
      req.delivered_counter = *delivered;
      req.highest_cursor = highest_cursor;
      // The answer is framed when the server speaks the framing (its Content-Type says so); an
      // older server answers JSON.
      auto body = t_.carries_frames()
                      ? call_as(t_, "/v1/pull", wire::encode(req), token_, o_, wire::kJsonType,
                                std::string(wire::kFramesType) + ", " + wire::kJsonType)
                      : call_as(t_, "/v1/pull", wire::encode(req), token_, o_);
      if (!body) return body.error();
      auto reply = answer(wire::is_frames_type(body->content_type) ? wire::decode_framed_pull_reply(body->body)
                                                                    : wire::decode_pull_reply(body->body),
                          "/v1/pull");
      if (!reply) return reply.error();
      ++report_.pages;
      // The office asked for a wipe: nothing of this answer is applied, and its policy does not
      // renew the key lease (a device held back from pushing must not keep its keys longer).
      if (reply->wipe) {
        wipe_ = reply->wipe;
        return std::optional<wire::PullReply>();
      }
      auto followed = follow_epoch(store_, epoch, reply->history.epoch);
      if (!followed) return followed.error();
      if (*followed) {
        reset = true;
        return std::optional<wire::PullReply>();
      }
      // The policy the device enforces offline (DOMAIN.md §6.8), as of this answer.
      if (reply->policy)
        if (auto r = port_.record_policy(policy_of(*reply->policy)); !r) return r.error();
      return std::optional<wire::PullReply>(std::move(*reply));
    };
    if (known->feed_version) {
      wire::PullRequest probe;
      probe.probe = true;
      probe.feed_version = known->feed_version;
      auto reply = ask(std::move(probe));
      if (!reply) return reply.error();
      if (!*reply) return {};
      if (!(*reply)->changed) {
        if (auto r = port_.finish_pull(*known->feed_version, now_()); !r) return r.error();
        progress("pull", 0, 0);
        return {};
      }
    }
    // Families whose purge the store put off during this sync (they hold unsent work), with the
    // view the server announced for them: later requests of this sync name that view, so the
    // server does not send the family again from cursor 0 each time, while the store keeps
    // the view it holds and the next sync asks again.
    std::map<std::string, std::string> deferred;
    for (size_t page = 0; page < 1000000; ++page) {
      auto cursors = port_.cursors();
      if (!cursors) return cursors.error();
      wire::PullRequest req;
      req.cursors = cursors->families;
      req.views = cursors->views;
      for (const auto& [family, view] : deferred)
        if (!view.empty()) req.views[family] = view;
      req.max_bytes = o_.page_bytes;
      req.feed_version = cursors->feed_version;
      auto asked = ask(std::move(req));
      if (!asked) return asked.error();
      if (!*asked) return {};
      const wire::PullReply& reply = **asked;  // a page from another history is never applied
      // Purges first: a family whose view changed is listed here and its page, from cursor 0
      // under the new view, follows in `families` (a shrunk view so removes what it withholds).
      std::set<std::string> put_off;
      for (const auto& family : reply.purge) {
        // The store refuses (conflict) while the family holds unsynced or unacknowledged
        // refused work: the family is kept for a later sync, and nothing is dropped.
        auto purged = store_.purge_family(family);
        if (purged) {
          ++report_.families_purged;
          deferred.erase(family);
        } else if (purged.error().code == ErrorCode::conflict) {
          ++report_.purges_deferred;
          put_off.insert(family);
          deferred.emplace(family, std::string());
        } else {
          return purged.error();
        }
      }
      for (const auto& fam : reply.families) {
        if (put_off.count(fam.family)) {
          // Not applied as if purged: the family keeps its cursor and its view.
          deferred[fam.family] = fam.view;
          continue;
        }
        std::optional<FamilyViewInfo> view;
        if (!fam.view.empty() && !deferred.count(fam.family)) view = FamilyViewInfo{fam.view, fam.withheld};
        auto applied = port_.apply_page(fam.family, fam.ops, fam.cursor, view);
        if (!applied) return applied.error();
        report_.pulled += applied->applied;
      }
      progress("pull", report_.pulled, 0);
      if (!reply.more) {
        // After a purge put off, the next sync pulls in full (no probe), so it is asked again.
        std::optional<int64_t> feed = reply.feed_version.value_or(0);
        if (!deferred.empty()) feed.reset();
        return port_.finish_pull(feed, now_());
      }
    }
    return make_error(ErrorCode::network, "the pull did not finish within its page limit");
  }

  Store& store_;
  SyncPort port_;  // the store's sync bookkeeping
  Transport& t_;
  const SyncOptions& o_;
  std::string token_;
  std::function<int64_t()> now_;
  uint64_t up0_ = 0, down0_ = 0;
  SyncReport report_;
  std::optional<wire::WipeOrder> wipe_;  // the office's order, from any answer of this sync
  bool wiped_ = false;
};

}  // namespace

Result<void> enrol(Store& store, Transport& transport, const std::string& server_url, const std::string& ca_pem,
                   const std::string& code) {
  SyncOptions once;
  once.max_attempts = 1;
  auto body = call(transport, "/v1/enrol", wire::encode(wire::EnrolRequest{code, store.device_id(), store.practitioner_id()}), "", once);
  if (!body) {
    if (body.error().code == ErrorCode::expired)  // the code, not a credential
      return make_error(ErrorCode::expired, "the enrolment code is unknown, already used or expired: ask the office for a new code (" +
                                                body.error().message + ")");
    return body.error();
  }
  auto reply = answer(wire::decode_enrol_reply(*body), "/v1/enrol");
  if (!reply) return reply.error();
  if (reply->protocol != wire::kVersion)
    return make_error(ErrorCode::invalid_argument, "the server speaks protocol " + std::to_string(reply->protocol) +
                                                       " and this app " + std::to_string(wire::kVersion));
  if (reply->practitioner_id != store.practitioner_id())
    return make_error(ErrorCode::conflict, "the code was issued for " + reply->practitioner_id +
                                               ", but this store belongs to " + store.practitioner_id());
  if (auto r = sync_port(store).put_secret("server_url", server_url); !r) return r;
  if (auto r = sync_port(store).put_secret("server_ca", ca_pem); !r) return r;
  PushLimits limits = load_limits(store);
  if (auto r = remember_limits(store, limits, reply->max_push_bytes, reply->max_op_bytes); !r) return r;
  if (auto r = remember_frames(store, limits, reply->frames); !r) return r;
  // The server's history from the start: a new store has nothing to reset, and its first
  // sync then needs no reset either; a store enrolled again keeps its cursors if the epoch is
  // the one it knew.
  auto known = sync_port(store).cursors();
  if (!known) return known.error();
  auto followed = follow_epoch(store, known->history_epoch, reply->history.epoch);
  if (!followed) return followed.error();
  return sync_port(store).put_secret("device_token", reply->device_token);
}

Result<void> enrol(Store& store, const std::string& server_url, const std::string& ca_pem, const std::string& code) {
  auto t = make_curl_transport(CurlOptions{server_url, ca_pem});
  if (!t) return t.error();
  return enrol(store, **t, server_url, ca_pem, code);
}

Result<std::unique_ptr<Transport>> transport_for(const Store& store) {
  auto url = required_secret(store, "server_url");
  if (!url) return url.error();
  auto ca = required_secret(store, "server_ca");
  if (!ca) return ca.error();
  return make_curl_transport(CurlOptions{*url, *ca});
}

Result<SyncReport> sync(Store& store, Transport& t, const SyncOptions& o) {
  auto token = required_secret(store, "device_token");
  if (!token) return token.error();
  return Engine(store, t, o, *token).run();
}

}  // namespace hearth::client

namespace hearth::client {

Result<sync::protocol::EmergencyAccessReply> request_emergency_access(Store& store, Transport& t,
                                                                      const std::string& family,
                                                                      const std::string& reason_code,
                                                                      const std::string& reason) {
  auto token = required_secret(store, "device_token");
  if (!token) return token.error();
  SyncOptions once;
  once.max_attempts = 1;  // not idempotent: a second grant would be refused as a conflict anyway
  auto body = call(t, "/v1/break-glass", wire::encode(wire::EmergencyAccessRequest{family, reason_code, reason}),
                   *token, once);
  if (!body) return body.error();
  return answer(wire::decode_emergency_access_reply(*body), "/v1/break-glass");
}

}  // namespace hearth::client
