#pragma once
// What hearth-loadgen measures, per window (one ramp step, or the whole run when there is no
// ramp): latencies in milliseconds per kind, counts, and errors by kind.
// Thread-safety: every method may be called from any worker (one mutex; a sync records a few
// numbers, so it is never the bottleneck next to TLS and the server).
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace hearth::loadgen {

// lag: how late a turn started against its plan (waiting for a free worker); due: a sync from when
// it was due to its end (lag + sync), what a tablet would see if it never waited on the generator.
enum class Kind { enrol, push, pull, sync, lag, due, count_ };
constexpr size_t kKinds = static_cast<size_t>(Kind::count_);
const char* to_string(Kind kind);

struct Percentiles {
  size_t n = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;  // ms
};
Percentiles percentiles(std::vector<float> samples);

struct Window {
  double from_s = 0, to_s = 0;  // since the start of the run
  size_t devices = 0;           // devices active in the window
  std::array<std::vector<float>, kKinds> latency_ms;
  uint64_t syncs = 0;     // syncs that finished without error
  uint64_t accepted = 0;  // ops the server validated and accepted
  uint64_t duplicate = 0; // ops it answered as already held (a resend after an error)
  uint64_t pulled = 0;    // ops received by pulls
  uint64_t bytes_up = 0, bytes_down = 0;
  std::map<std::string, uint64_t> errors;  // kind -> count
  std::map<std::string, std::string> first_error;  // kind -> the first one in words
  uint64_t error_count() const;
};

class Recorder {
 public:
  explicit Recorder(size_t windows) : windows_(windows) {}
  void latency(size_t window, Kind kind, double ms);
  void sync_done(size_t window, uint64_t accepted, uint64_t duplicate);
  void pulled(size_t window, uint64_t ops);
  void error(size_t window, const std::string& kind, const std::string& detail = "");
  void bytes(size_t window, uint64_t up, uint64_t down);
  void describe(size_t window, double from_s, double to_s, size_t devices);
  std::vector<Window> windows() const;  // a copy
  Window total() const;                 // every window merged

 private:
  mutable std::mutex mutex_;
  std::vector<Window> windows_;
};

}  // namespace hearth::loadgen
