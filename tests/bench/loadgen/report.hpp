#pragma once
// hearth-loadgen's report, as text and as JSON (docs/loadgen.md describes every figure).
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "options.hpp"
#include "rss.hpp"
#include "runner.hpp"
#include "stats.hpp"
#include "verify.hpp"

namespace hearth::loadgen {

struct Report {
  const Options* options = nullptr;
  double seconds = 0;  // the load phase, measured
  std::vector<Window> windows;
  Window total;
  std::vector<pid_t> pids;
  std::vector<RssMinute> rss;
  Runner::Settled settled;
  Verification verification;
  bool passed() const;  // no error of any kind, and the final check holds
};

// RSS growth of pid number `i` from the end of minute 3 to the last sample, in percent
// (nothing unless the run lasted through a whole minute 4).
std::optional<double> rss_growth_percent(const std::vector<RssMinute>& minutes, size_t i);
// The devices of the last ramp step before the first one whose p99 sync_from_due missed the
// target or that had an error (0 when the first step missed).
size_t devices_served(const Report& r);

void print_text(const Report& r, std::ostream& out);
nlohmann::json to_json(const Report& r);

}  // namespace hearth::loadgen
