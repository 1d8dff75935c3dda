#include "rss.hpp"

#include <algorithm>
#include <fstream>
#include <string>

namespace hearth::loadgen {

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

void RssSampler::start() {
  if (pids_.empty()) return;
  thread_ = std::thread([this] {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    for (long second = 0; !stopping_; ++second) {  // bounded by stop()
      lock.unlock();
      sample(static_cast<int>(second / 60) + 1);
      lock.lock();
      wake_.wait_until(lock, start + std::chrono::seconds(second + 1), [this] { return stopping_; });
    }
  });
}

void RssSampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RssSampler::sample(int minute) {
  std::vector<long> now;
  for (pid_t pid : pids_) now.push_back(rss_kib(pid));
  std::lock_guard<std::mutex> lock(mutex_);
  if (minutes_.empty() || minutes_.back().minute != minute)
    minutes_.push_back(RssMinute{minute, now, std::vector<long>(pids_.size(), 0)});
  RssMinute& m = minutes_.back();
  m.kib = now;
  ++m.samples;
  for (size_t i = 0; i < now.size(); ++i) m.peak_kib[i] = std::max(m.peak_kib[i], now[i]);
}

std::vector<RssMinute> RssSampler::minutes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return minutes_;
}

}  // namespace hearth::loadgen
