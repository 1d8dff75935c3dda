#include "office_repeater.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "authority_write.hpp"
#include "office_feed.hpp"
#include "office_outbox.hpp"

namespace hearth::server {

namespace {

using nlohmann::json;

Result<int64_t> bounded(const json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
    return make_error(ErrorCode::invalid_argument, std::string("office_endpoint.") + key + " must be a whole number from " +
                                                       std::to_string(lo) + " to " + std::to_string(hi));
  return it->get<int64_t>();
}

Result<std::string> text(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return make_error(ErrorCode::invalid_argument, std::string("office_endpoint.") + key + " is required");
    return std::string();
  }
  if (!it->is_string()) return make_error(ErrorCode::invalid_argument, std::string("office_endpoint.") + key + " must be a string");
  return it->get<std::string>();
}

// What the office answered, shortened for the item's last_error (never its body: it may echo data).
std::string failure_of(const Result<HttpPostReply>& r) {
  if (!r) return r.error().message;
  return "the office answered HTTP " + std::to_string(r->status);
}

}  // namespace

const char* to_string(Delivery::Outcome o) {
  switch (o) {
    case Delivery::Outcome::idle: return "idle";
    case Delivery::Outcome::sent: return "sent";
    case Delivery::Outcome::failed: return "failed";
    case Delivery::Outcome::dead: return "dead";
    case Delivery::Outcome::cancelled: return "cancelled";
  }
  return "idle";
}

Result<RepeaterConfig> repeater_config_from_json(const std::string& object_json) {
  json j = json::parse(object_json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::invalid_argument, "office_endpoint must be an object {\"url\", \"ca_file\", \"token\", ...}");
  RepeaterConfig c;
  for (auto [into, key, required] : {std::tuple<std::string*, const char*, bool>{&c.url, "url", true},
                                     {&c.ca_file, "ca_file", false},
                                     {&c.token, "token", false},
                                     {&c.name, "name", false}}) {
    auto v = text(j, key, required);
    if (!v) return v.error();
    if (!v->empty() || required) *into = *v;
  }
  if (c.url.rfind("https://", 0) != 0 && c.url.rfind("http://", 0) != 0)
    return make_error(ErrorCode::invalid_argument, "office_endpoint.url must be an https:// URL, not '" + c.url + "'");
  if (c.name.empty()) c.name = "office-endpoint";
  auto attempts = bounded(j, "max_attempts", c.max_attempts, 1, 100);
  if (!attempts) return attempts.error();
  c.max_attempts = static_cast<int>(*attempts);
  for (auto [into, key, lo, hi] : {std::tuple<int64_t*, const char*, int64_t, int64_t>{&c.base_delay_ms, "retry_base_ms", 1, 3600000},
                                   {&c.max_delay_ms, "retry_max_ms", 1, 86400000},
                                   {&c.timeout_ms, "timeout_ms", 100, 600000},
                                   {&c.idle_ms, "idle_ms", 10, 600000}}) {
    auto v = bounded(j, key, *into, lo, hi);
    if (!v) return v.error();
    *into = *v;
  }
  return c;
}

int64_t retry_delay_ms(const RepeaterConfig& config, int attempts) {
  int64_t delay = config.base_delay_ms;
  for (int i = 1; i < attempts && delay < config.max_delay_ms; ++i) delay *= 2;
  return std::min(delay, config.max_delay_ms);
}

Result<Delivery> deliver_once(SyncService& service, const RepeaterConfig& config, const OfficePoster& post) {
  // (1) The next due item, checked again against the family's consent.
  std::optional<OutboxItem> item;
  Delivery d;
  auto taken = service.with_context([&](ServiceContext& ctx) {
    return ctx.store.transaction([&]() -> Result<void> {
      auto next = ctx.store.outbox().next_due(ctx.now());
      if (!next) return next.error();
      if (!*next) return {};
      auto stop = office_send_stop(ctx, **next);
      if (!stop) return stop.error();
      d.seq = (*next)->seq;
      d.key = (*next)->key;
      if (!stop->empty()) {
        d.outcome = Delivery::Outcome::cancelled;
        d.error = *stop;
        if (auto r = ctx.store.outbox().cancel(d.seq, *stop); !r) return r;
        return ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, "", "office-cancelled", (*next)->family,
                                                   "queued item " + d.key + " (" + (*next)->type +
                                                       ") cancelled at send time: " + *stop});
      }
      item = std::move(*next);
      return {};
    });
  });
  if (!taken) return taken.error();
  if (!item) return d;

  // (2) The post, without the service's lock.
  json body = json::parse(item->payload, nullptr, false);
  if (body.is_discarded()) body = json::object();
  body["seq"] = item->seq;
  body["priority"] = item->priority;
  HttpPostRequest request;
  request.url = config.url;
  request.ca_file = config.ca_file;
  request.timeout_ms = config.timeout_ms;
  request.body = body.dump();
  request.headers.emplace_back("Idempotency-Key", item->key);
  if (!config.token.empty()) request.headers.emplace_back("Authorization", "Bearer " + config.token);
  auto answer = post(request);
  const bool ok = answer && answer->status >= 200 && answer->status < 300;

  // (3) The outcome.
  auto recorded = service.with_context([&](ServiceContext& ctx) {
    return ctx.store.transaction([&]() -> Result<void> {
      auto& outbox = ctx.store.outbox();
      if (ok) {
        d.outcome = Delivery::Outcome::sent;
        // A family erased while the post was in flight keeps no row here, not even this one.
        auto held = ctx.store.ops().family_has_ops(item->family);
        if (!held) return held.error();
        if (!*held) return {};
        if (auto r = outbox.mark_sent(item->seq, ctx.now()); !r) return r;
        auto added = outbox.disclose(OfficeDisclosure{0, ctx.now(), item->family, item->record, item->type, item->revision,
                                                      item->kind, config.name, "push", item->seq});
        if (!added) return added.error();
        json reply = json::parse(answer->body, nullptr, false);
        std::string stored;
        if (reply.is_object() && reply.contains("office_ref") && reply["office_ref"].is_string()) {
          auto ref = store_office_ref(ctx, *item, reply["office_ref"].get<std::string>(), config.name);
          if (ref && *ref) stored = "; the office's id for it stored";
        }
        if (!*added) return {};
        return ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, "", "office-disclosed", item->family,
                                                   item->kind + " " + item->key + " (" + item->type + ") posted to " +
                                                       config.name + stored});
      }
      const int attempts = item->attempts + 1;
      const bool dead = attempts >= config.max_attempts;
      d.outcome = dead ? Delivery::Outcome::dead : Delivery::Outcome::failed;
      d.error = failure_of(answer);
      const std::string note = "attempt " + std::to_string(attempts) + " of " + std::to_string(config.max_attempts) +
                               ": " + d.error;
      if (auto r = outbox.mark_failed(item->seq, attempts, ctx.now() + retry_delay_ms(config, attempts), note, dead); !r)
        return r;
      if (!dead) return {};
      return ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, "", "office-dead-letter", item->family,
                                                 item->kind + " " + item->key + " (" + item->type + ") moved to the "
                                                 "dead-letter queue after " + note +
                                                 "; requeue it with `hearth-server office retry`"});
    });
  });
  if (!recorded) return recorded.error();
  return d;
}

Repeater::Repeater(SyncService& service, RepeaterConfig config, OfficePoster post, Log log)
    : service_(service), config_(std::move(config)), post_(std::move(post)), log_(std::move(log)) {}

Repeater::~Repeater() { stop(); }

void Repeater::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void Repeater::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Repeater::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    int64_t wait_ms = config_.idle_ms;
    try {
      auto d = deliver_once(service_, config_, post_);
      if (!d) {
        if (log_) log_(Delivery{}, d.error().message);
      } else {
        if (log_ && d->outcome != Delivery::Outcome::idle) log_(*d, "");
        // Something was done: look again at once. A failure: a short pause, so an endpoint that
        // is down is not hammered while each item waits out its own backoff.
        if (d->outcome == Delivery::Outcome::sent || d->outcome == Delivery::Outcome::cancelled) wait_ms = 0;
        else if (d->outcome != Delivery::Outcome::idle) wait_ms = std::min<int64_t>(config_.idle_ms, 200);
      }
    } catch (const std::exception& e) {  // the next round tries again; the server stays up
      if (log_) log_(Delivery{}, e.what());
    }
    lock.lock();
    if (wait_ms > 0) wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stopping_; });
  }
}

}  // namespace hearth::server
