#pragma once
// Drives the simulated devices: a pool of worker threads, each with its own keep-alive
// connection to every server, serves the device state machines in the order they are due
// (enrol once; then each turn: a few edits, push, pull, think). One server is picked at random
// per sync. The load phase ends at --duration (or at the end of the last --ramp step); the
// settle phase then pushes what is left and pulls until nothing more, for the final check.
// Thread-safety: load() and settle() are called from one thread and start their own workers;
// a Connections belongs to one worker.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "device.hpp"
#include "hearth/client/transport.hpp"
#include "options.hpp"
#include "stats.hpp"

namespace hearth::loadgen {

// Where one request ended.
struct Call {
  std::string body;   // the answer when ok
  std::string error;  // "" or the error's kind, e.g. "network", "http-500-server", "decode"
  std::string detail; // the error in words
  double ms = 0;
  uint64_t up = 0, down = 0;  // bytes on the wire (after gzip)
};

// One worker's connections: a libcurl transport per server, made on first use.
class Connections {
 public:
  Connections(const std::vector<std::string>& servers, const std::string& ca_pem, long timeout_ms)
      : servers_(servers), ca_pem_(ca_pem), timeout_ms_(timeout_ms), transports_(servers.size()) {}
  size_t count() const { return servers_.size(); }
  Call post(size_t server, const std::string& path, const std::string& body, const std::string& token);

 private:
  std::vector<std::string> servers_;
  std::string ca_pem_;
  long timeout_ms_;
  std::vector<std::unique_ptr<client::Transport>> transports_;
};

class Schedule;

class Runner {
 public:
  Runner(const Options& options, std::vector<std::unique_ptr<SimDevice>>& devices, std::string ca_pem,
         Recorder& recorder);
  static size_t window_count(const Options& options);
  double planned_seconds() const { return planned_s_; }

  void load();  // the load phase, on options.workers threads
  // Settle: every enrolled device pushes what it holds and pulls until nothing more (twice, so
  // the last round sees every push). Devices whose settle failed are counted, with the reason.
  struct Settled {
    size_t devices = 0, failed = 0;
    std::string first_failure;
  };
  Settled settle();

 private:
  void work(size_t worker);
  void turn(Connections& c, SimDevice& d, std::mt19937_64& rng, size_t window,
            std::chrono::steady_clock::time_point due);
  bool pull_all(Connections& c, size_t server, SimDevice& d, size_t window, bool probe, std::string* failure);
  size_t window_at(double seconds) const;
  size_t active_at(size_t window) const;
  double activation_s(size_t device) const;

  const Options& o_;
  std::vector<std::unique_ptr<SimDevice>>& devices_;
  std::string ca_pem_;
  Recorder& rec_;
  double planned_s_ = 0;
  Schedule* schedule_ = nullptr;  // the load phase's, while it runs
  std::chrono::steady_clock::time_point start_;
};

}  // namespace hearth::loadgen
