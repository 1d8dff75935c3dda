#pragma once
#include <cstdint>
#include <memory>

#include "hearth/sync/hlc.hpp"

namespace hearth::test {

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
