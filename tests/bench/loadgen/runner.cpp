#include "runner.hpp"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>

#include "hearth/sync/protocol.hpp"

namespace hearth::loadgen {

namespace wire = sync::protocol;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxPages = 1000;  // pages of one pull

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

// The devices due next, earliest first; workers wait on it until the end of the phase.
class Schedule {
 public:
  explicit Schedule(Clock::time_point end) : end_(end) {}
  void add(Clock::time_point due, size_t device) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (due >= end_) return;
      queue_.push({due, device});
    }
    wake_.notify_one();
  }
  // The next device once it is due, with when it was due; nothing once the phase is over.
  std::optional<std::pair<Clock::time_point, size_t>> next() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (Clock::now() < end_) {  // bounded by end_
      Clock::time_point until = queue_.empty() ? end_ : std::min(end_, queue_.top().first);
      if (!queue_.empty() && queue_.top().first <= Clock::now()) {
        auto item = queue_.top();
        queue_.pop();
        return item;
      }
      wake_.wait_until(lock, until);
    }
    wake_.notify_all();
    return std::nullopt;
  }

 private:
  using Item = std::pair<Clock::time_point, size_t>;
  Clock::time_point end_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue_;
};

Call Connections::post(size_t server, const std::string& path, const std::string& body, const std::string& token) {
  Call call;
  auto& t = transports_.at(server);
  if (!t) {
    client::CurlOptions options;
    options.base_url = servers_.at(server);
    options.ca_pem = ca_pem_;
    options.timeout_ms = timeout_ms_;
    options.connect_timeout_ms = std::min(timeout_ms_, 10000L);
    auto made = client::make_curl_transport(options);
    if (!made) {
      call.error = "transport";
      call.detail = made.error().describe();
      return call;
    }
    t = std::move(made.value());
  }
  const uint64_t up0 = t->bytes_sent(), down0 = t->bytes_received();
  auto t0 = Clock::now();
  auto reply = t->post(path, body, token);
  call.ms = ms_since(t0);
  call.up = t->bytes_sent() - up0;
  call.down = t->bytes_received() - down0;
  if (!reply) {
    call.error = std::string(to_string(reply.error().code));  // network, clock
    call.detail = reply.error().describe();
    return call;
  }
  if (reply->status != 200) {
    auto said = wire::decode_error_reply(reply->body);
    call.error = "http-" + std::to_string(reply->status) + (said ? std::string("-") + wire::to_string(said->code) : "");
    call.detail = path + ": " + (said ? said->message : reply->body.substr(0, 200));
    return call;
  }
  call.body = std::move(reply->body);
  return call;
}

Runner::Runner(const Options& options, std::vector<std::unique_ptr<SimDevice>>& devices, std::string ca_pem,
               Recorder& recorder)
    : o_(options), devices_(devices), ca_pem_(std::move(ca_pem)), rec_(recorder) {
  planned_s_ = o_.ramp ? static_cast<double>(window_count(o_)) * o_.ramp->seconds : o_.duration_s;
  for (size_t w = 0; w < window_count(o_); ++w) {
    double from = o_.ramp ? static_cast<double>(w) * o_.ramp->seconds : 0;
    rec_.describe(w, from, o_.ramp ? from + o_.ramp->seconds : planned_s_, active_at(w));
  }
}

size_t Runner::window_count(const Options& o) {
  return o.ramp ? (o.devices + o.ramp->step - 1) / o.ramp->step : 1;
}

size_t Runner::window_at(double seconds) const {
  if (!o_.ramp) return 0;
  return std::min(window_count(o_) - 1, static_cast<size_t>(std::max(0.0, seconds) / o_.ramp->seconds));
}

size_t Runner::active_at(size_t window) const {
  return o_.ramp ? std::min(o_.devices, (window + 1) * o_.ramp->step) : o_.devices;
}

double Runner::activation_s(size_t device) const {
  return o_.ramp ? static_cast<double>(device / o_.ramp->step) * o_.ramp->seconds : 0;
}

void Runner::load() {
  start_ = Clock::now();
  Schedule schedule(start_ + std::chrono::milliseconds(static_cast<long>(planned_s_ * 1000)));
  schedule_ = &schedule;
  std::mt19937_64 rng(o_.seed);
  std::uniform_real_distribution<double> spread(0, 1);
  // First contact spread over one think time (at most half a ramp step), not all at once.
  const double spread_ms = o_.ramp ? std::min(o_.think_ms, o_.ramp->seconds * 500) : o_.think_ms;
  for (size_t i = 0; i < devices_.size(); ++i) {
    double at_ms = activation_s(i) * 1000 + spread(rng) * spread_ms;
    schedule.add(start_ + std::chrono::microseconds(static_cast<long>(at_ms * 1000)), i);
  }
  std::vector<std::thread> workers;
  for (size_t w = 0; w < o_.workers; ++w) workers.emplace_back([this, w] { work(w); });
  for (auto& t : workers) t.join();
  schedule_ = nullptr;
}

void Runner::work(size_t worker) {
  Connections c(o_.servers, ca_pem_, o_.timeout_ms);
  std::mt19937_64 rng(o_.seed * 7919 + worker);
  std::uniform_real_distribution<double> think(0.5, 1.5);
  while (auto next = schedule_->next()) {
    auto [due, index] = *next;
    size_t window = window_at(std::chrono::duration<double>(Clock::now() - start_).count());
    rec_.latency(window, Kind::lag, ms_since(due));
    SimDevice& d = *devices_[index];
    bool was_enrolled = d.enrolled();
    turn(c, d, rng, window, due);
    // Just enrolled: its first sync follows at once; otherwise it thinks.
    double wait_ms = was_enrolled || !d.enrolled() ? o_.think_ms * think(rng) : 0;
    if (!d.enrolled()) wait_ms = std::max(wait_ms, 1000.0);  // a failed enrolment is tried again, not hammered
    schedule_->add(Clock::now() + std::chrono::microseconds(static_cast<long>(wait_ms * 1000)), index);
  }
}

void Runner::turn(Connections& c, SimDevice& d, std::mt19937_64& rng, size_t window, Clock::time_point due) {
  size_t server = rng() % c.count();
  if (!d.enrolled()) {
    Call call = c.post(server, "/v1/enrol", d.enrol_body(), "");
    rec_.bytes(window, call.up, call.down);
    if (!call.error.empty()) return rec_.error(window, "enrol:" + call.error, call.detail);
    if (auto r = d.on_enrol(call.body); !r) return rec_.error(window, "enrol:decode", r.error().describe());
    rec_.latency(window, Kind::enrol, call.ms);
    return;
  }
  auto t0 = Clock::now();
  d.make_edits(rng, static_cast<int>(o_.ops_per_sync));
  PushOutcome pushed;
  if (d.outbox_size() > 0) {
    Call call = c.post(server, "/v1/push", d.push_body(wall_ms()), d.token());
    rec_.bytes(window, call.up, call.down);
    if (!call.error.empty()) return rec_.error(window, "push:" + call.error, call.detail);
    auto outcome = d.on_push(call.body);
    if (!outcome) return rec_.error(window, "push:decode", outcome.error().describe());
    pushed = *outcome;
    rec_.latency(window, Kind::push, call.ms);
    if (pushed.rejected) rec_.error(window, "op-rejected", pushed.first_problem);
    if (pushed.held) rec_.error(window, "op-held", pushed.first_problem);
  }
  auto p0 = Clock::now();
  std::string failure;
  if (!pull_all(c, server, d, window, true, &failure)) return;
  rec_.latency(window, Kind::pull, ms_since(p0));
  rec_.latency(window, Kind::sync, ms_since(t0));
  rec_.latency(window, Kind::due, ms_since(due));
  rec_.sync_done(window, pushed.accepted, pushed.duplicate);
}

// Pulls until the server has nothing more (a probe first when the feed version is known and
// `probe`). Errors are recorded; false when the pull did not finish.
bool Runner::pull_all(Connections& c, size_t server, SimDevice& d, size_t window, bool probe, std::string* failure) {
  auto fail = [&](const std::string& kind, const std::string& detail) {
    rec_.error(window, kind, detail);
    if (failure && failure->empty()) *failure = kind + ": " + detail;
    return false;
  };
  if (probe && d.knows_feed()) {
    Call call = c.post(server, "/v1/pull", d.probe_body(), d.token());
    rec_.bytes(window, call.up, call.down);
    if (!call.error.empty()) return fail("pull:" + call.error, call.detail);
    auto page = d.on_pull(call.body);
    if (!page) return fail("pull:decode", page.error().describe());
    if (!page->changed) return true;
  }
  for (size_t n = 0; n < kMaxPages; ++n) {
    Call call = c.post(server, "/v1/pull", d.pull_body(), d.token());
    rec_.bytes(window, call.up, call.down);
    if (!call.error.empty()) return fail("pull:" + call.error, call.detail);
    auto page = d.on_pull(call.body);
    if (!page) return fail("pull:decode", page.error().describe());
    rec_.pulled(window, page->ops);
    if (page->redelivered) rec_.error(window, "op-redelivered", d.id() + " received an op it had pulled before");
    if (page->purged) rec_.error(window, "family-purged", d.id() + " was told to purge a family");
    if (page->epoch_changed) rec_.error(window, "epoch-changed", d.id() + " saw a new history epoch");
    if (!page->more) return true;
  }
  return fail("pull:pages", "more than " + std::to_string(kMaxPages) + " pages");
}

Runner::Settled Runner::settle() {
  Settled out;
  const size_t last = window_count(o_) - 1;
  std::mutex mutex;
  for (int round = 0; round < 2; ++round) {  // the second round sees the pushes of the first
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (size_t w = 0; w < o_.workers; ++w)
      workers.emplace_back([&, w] {
        Connections c(o_.servers, ca_pem_, o_.timeout_ms);
        for (size_t i; (i = next++) < devices_.size();) {
          SimDevice& d = *devices_[i];
          if (!d.enrolled()) continue;
          size_t server = (i + w) % c.count();
          std::string failure;
          bool ok = true;
          for (int attempt = 0; attempt < 3 && d.outbox_size() > 0; ++attempt) {  // pushes left by errors
            Call call = c.post(server, "/v1/push", d.push_body(wall_ms()), d.token());
            if (!call.error.empty()) {
              failure = "push: " + call.detail;
              continue;
            }
            if (auto outcome = d.on_push(call.body); !outcome) failure = "push: " + outcome.error().describe();
          }
          if (d.outbox_size() > 0) ok = false;
          if (ok) ok = pull_all(c, server, d, last, false, &failure);
          if (round == 1) {
            std::lock_guard<std::mutex> lock(mutex);
            ++out.devices;
            if (!ok) {
              ++out.failed;
              if (out.first_failure.empty()) out.first_failure = d.id() + ": " + failure;
            }
          }
        }
      });
    for (auto& t : workers) t.join();
  }
  return out;
}

}  // namespace hearth::loadgen
