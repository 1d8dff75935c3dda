#pragma once
// Samples the resident set size (VmRSS in /proc/<pid>/status) of the server processes named
// with --server-pid, once a second on its own thread, and keeps the last sample of each minute.
// Thread-safety: start() and stop() from one thread; minutes() after stop().
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth::loadgen {

long rss_kib(pid_t pid);  // 0 when the process is gone or unreadable

struct RssMinute {
  int minute = 0;             // 1 = the first minute of the run
  std::vector<long> kib;      // per pid, the sample at the end of the minute (or the last one)
  std::vector<long> peak_kib; // per pid, the highest sample in the minute
  int samples = 0;            // one a second: 60 in a whole minute
};

class RssSampler {
 public:
  explicit RssSampler(std::vector<pid_t> pids) : pids_(std::move(pids)) {}
  ~RssSampler() { stop(); }
  void start();
  void stop();
  const std::vector<pid_t>& pids() const { return pids_; }
  std::vector<RssMinute> minutes() const;

 private:
  void sample(int minute);
  std::vector<pid_t> pids_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<RssMinute> minutes_;
};

}  // namespace hearth::loadgen
