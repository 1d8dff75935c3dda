#include "stats.hpp"

#include <algorithm>
#include <cmath>

namespace hearth::loadgen {

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::enrol: return "enrol";
    case Kind::push: return "push";
    case Kind::pull: return "pull";
    case Kind::sync: return "sync";
    case Kind::lag: return "start_lag";
    case Kind::due: return "sync_from_due";
    case Kind::count_: break;
  }
  return "?";
}

Percentiles percentiles(std::vector<float> samples) {
  Percentiles p;
  p.n = samples.size();
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {  // nearest rank
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return static_cast<double>(samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)]);
  };
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.max = static_cast<double>(samples.back());
  return p;
}

uint64_t Window::error_count() const {
  uint64_t n = 0;
  for (const auto& [kind, count] : errors) n += count;
  return n;
}

void Recorder::latency(size_t window, Kind kind, double ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  windows_.at(window).latency_ms[static_cast<size_t>(kind)].push_back(static_cast<float>(ms));
}

void Recorder::sync_done(size_t window, uint64_t accepted, uint64_t duplicate) {
  std::lock_guard<std::mutex> lock(mutex_);
  Window& w = windows_.at(window);
  ++w.syncs;
  w.accepted += accepted;
  w.duplicate += duplicate;
}

void Recorder::pulled(size_t window, uint64_t ops) {
  std::lock_guard<std::mutex> lock(mutex_);
  windows_.at(window).pulled += ops;
}

void Recorder::error(size_t window, const std::string& kind, const std::string& detail) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++windows_.at(window).errors[kind];
  if (!detail.empty()) windows_.at(window).first_error.emplace(kind, detail);
}

void Recorder::bytes(size_t window, uint64_t up, uint64_t down) {
  std::lock_guard<std::mutex> lock(mutex_);
  windows_.at(window).bytes_up += up;
  windows_.at(window).bytes_down += down;
}

void Recorder::describe(size_t window, double from_s, double to_s, size_t devices) {
  std::lock_guard<std::mutex> lock(mutex_);
  Window& w = windows_.at(window);
  w.from_s = from_s;
  w.to_s = to_s;
  w.devices = devices;
}

std::vector<Window> Recorder::windows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return windows_;
}

Window Recorder::total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Window t;
  if (windows_.empty()) return t;
  t.from_s = windows_.front().from_s;
  for (const auto& w : windows_) {
    t.to_s = std::max(t.to_s, w.to_s);
    t.devices = std::max(t.devices, w.devices);
    for (size_t k = 0; k < kKinds; ++k)
      t.latency_ms[k].insert(t.latency_ms[k].end(), w.latency_ms[k].begin(), w.latency_ms[k].end());
    t.syncs += w.syncs;
    t.accepted += w.accepted;
    t.duplicate += w.duplicate;
    t.pulled += w.pulled;
    t.bytes_up += w.bytes_up;
    t.bytes_down += w.bytes_down;
    for (const auto& [kind, count] : w.errors) t.errors[kind] += count;
    for (const auto& [kind, detail] : w.first_error) t.first_error.emplace(kind, detail);
  }
  return t;
}

}  // namespace hearth::loadgen
