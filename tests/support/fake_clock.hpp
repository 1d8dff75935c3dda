#pragma once
#include <chrono>
#include <cstdint>
#include <memory>

#include "hearth/sync/hlc.hpp"

namespace hearth::test {

// The real wall clock, in milliseconds since the epoch.
inline uint64_t wall_now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A physical clock the test moves by hand. Copies share the same time.
class FakeClock {
 public:
  explicit FakeClock(uint64_t start_ms = 1767225600000ull) : now_(std::make_shared<uint64_t>(start_ms)) {}
  sync::PhysicalClock fn() const {
    auto now = now_;
    return [now] { return *now; };
  }
  void advance(uint64_t ms) const { *now_ += ms; }
  void set(uint64_t ms) const { *now_ = ms; }
  uint64_t now() const { return *now_; }

 private:
  std::shared_ptr<uint64_t> now_;
};

}  // namespace hearth::test
