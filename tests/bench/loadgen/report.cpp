#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace hearth::loadgen {

namespace {

double rate(uint64_t n, double seconds) { return seconds > 0 ? static_cast<double>(n) / seconds : 0; }
double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

std::string fmt(const char* format, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a);
  return buf;
}

nlohmann::json latency_json(const Window& w) {
  nlohmann::json out = nlohmann::json::object();
  for (size_t k = 0; k < kKinds; ++k) {
    Percentiles p = percentiles(w.latency_ms[k]);
    out[to_string(static_cast<Kind>(k))] = {{"n", p.n}, {"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
  }
  return out;
}

nlohmann::json window_json(const Window& w, double seconds) {
  return {{"from_s", w.from_s}, {"to_s", w.to_s}, {"devices", w.devices}, {"syncs", w.syncs},
          {"syncs_per_s", rate(w.syncs, seconds)}, {"accepted_ops", w.accepted},
          {"validated_changes_per_s", rate(w.accepted, seconds)}, {"duplicate_ops", w.duplicate},
          {"pulled_ops", w.pulled}, {"bytes_up", w.bytes_up}, {"bytes_down", w.bytes_down},
          {"latency_ms", latency_json(w)}, {"errors", w.errors}, {"first_error", w.first_error}};
}

}  // namespace

bool Report::passed() const {
  return total.error_count() == 0 && settled.failed == 0 && verification.ok();
}

std::optional<double> rss_growth_percent(const std::vector<RssMinute>& minutes, size_t i) {
  auto third = std::find_if(minutes.begin(), minutes.end(), [](const RssMinute& m) { return m.minute == 3; });
  // Only when the run went on through a whole minute 4: a last sample just past minute 3 says nothing.
  bool fourth = std::any_of(minutes.begin(), minutes.end(), [](const RssMinute& m) { return m.minute == 4 && m.samples >= 55; });
  if (third == minutes.end() || !fourth || third->kib.at(i) <= 0) return std::nullopt;
  return 100.0 * static_cast<double>(minutes.back().kib.at(i) - third->kib.at(i)) / static_cast<double>(third->kib.at(i));
}

size_t devices_served(const Report& r) {
  size_t served = 0;
  for (const auto& w : r.windows) {  // up to the first step that missed: a later lucky step does not count
    Percentiles p = percentiles(w.latency_ms[static_cast<size_t>(Kind::due)]);
    if (p.n == 0 || p.p99 >= r.options->p99_target_ms || w.error_count() > 0) break;
    served = w.devices;
  }
  return served;
}

void print_text(const Report& r, std::ostream& out) {
  const Options& o = *r.options;
  char line[256];
  out << "hearth-loadgen: " << o.devices << " devices (" << o.devices_per_practitioner << " per practitioner, "
      << o.families << " families each), think " << o.think_ms << " ms, " << o.ops_per_sync << " edits per sync, "
      << o.servers.size() << " server(s), " << fmt("%.1f", r.seconds) << " s of load\n";
  const Window& t = r.total;
  std::snprintf(line, sizeof line, "throughput: %.1f validated changes/s, %.1f syncs/s (%llu ops accepted, %llu duplicate, "
                "%llu pulled; %.1f MiB up, %.1f MiB down)\n", rate(t.accepted, r.seconds), rate(t.syncs, r.seconds),
                static_cast<unsigned long long>(t.accepted), static_cast<unsigned long long>(t.duplicate),
                static_cast<unsigned long long>(t.pulled), static_cast<double>(t.bytes_up) / 1048576.0,
                static_cast<double>(t.bytes_down) / 1048576.0);
  out << line;
  if (o.servers.size() > 1)
    out << "  per server: " << fmt("%.1f", rate(t.accepted, r.seconds) / static_cast<double>(o.servers.size()))
        << " validated changes/s\n";
  out << "latency (ms)           n       p50       p95       p99       max\n";
  for (Kind k : {Kind::push, Kind::pull, Kind::sync, Kind::due, Kind::enrol, Kind::lag}) {
    Percentiles p = percentiles(t.latency_ms[static_cast<size_t>(k)]);
    std::snprintf(line, sizeof line, "  %-13s %8zu %9.1f %9.1f %9.1f %9.1f\n", to_string(k), p.n, p.p50, p.p95, p.p99, p.max);
    out << line;
  }
  out << "errors: ";
  if (t.errors.empty()) out << "none";
  for (const auto& [kind, count] : t.errors) out << kind << "=" << count << " ";
  out << "\n";
  for (const auto& [kind, detail] : t.first_error) out << "  first " << kind << ": " << detail << "\n";
  for (size_t i = 0; i < r.pids.size(); ++i) {
    out << "server " << r.pids[i] << " RSS (MiB) at the end of each minute:";
    for (const auto& m : r.rss) out << " " << m.minute << ":" << fmt("%.1f", mib(m.kib.at(i)));
    auto growth = rss_growth_percent(r.rss, i);
    out << (growth ? "; growth from minute 3 to the end: " + fmt("%+.1f%%", *growth) : "; growth: n/a (the run did not last through minute 4)")
        << "\n";
  }
  if (o.ramp) {
    out << "ramp step   devices   syncs/s  changes/s   p50 sync   p95 sync   p99 sync  p99 due   p99 lag  errors\n";
    for (size_t s = 0; s < r.windows.size(); ++s) {
      const Window& w = r.windows[s];
      double seconds = w.to_s - w.from_s;
      Percentiles p = percentiles(w.latency_ms[static_cast<size_t>(Kind::sync)]);
      Percentiles due = percentiles(w.latency_ms[static_cast<size_t>(Kind::due)]);
      Percentiles lag = percentiles(w.latency_ms[static_cast<size_t>(Kind::lag)]);
      std::snprintf(line, sizeof line, "  %6zu %9zu %9.1f %10.1f %10.1f %10.1f %10.1f %8.1f %9.1f %7llu\n", s + 1,
                    w.devices, rate(w.syncs, seconds), rate(w.accepted, seconds), p.p50, p.p95, p.p99, due.p99, lag.p99,
                    static_cast<unsigned long long>(w.error_count()));
      out << line;
    }
    size_t served = devices_served(r);
    out << "served: " << served << " devices (" << (served + o.devices_per_practitioner - 1) / o.devices_per_practitioner
        << " practitioners) with p99 sync (from when it was due) under " << o.p99_target_ms << " ms and no error\n";
  }
  const Verification& v = r.verification;
  out << "settle: " << r.settled.devices << " devices pushed what was left and pulled to the end, " << r.settled.failed << " failed"
      << (r.settled.first_failure.empty() ? "" : " (first: " + r.settled.first_failure + ")") << "\n";
  out << "check: " << v.practitioners << " practitioners, " << v.devices << " devices; " << v.confirmed_ops
      << " confirmed ops, " << v.server_ops << " ops in the practitioners' views; lost " << v.lost << ", duplicated "
      << v.duplicated << ", devices diverged " << v.devices_diverged << " (missing " << v.missing_on_devices
      << ", extra " << v.extra_on_devices << "), full pulls failed " << v.audit_failures << "\n";
  for (const auto& e : v.examples) out << "  " << e << "\n";
  out << (r.passed() ? "PASS" : "FAIL") << ": " << (v.ok() ? "every confirmed op held exactly once, replicas converge"
                                                            : "the final check found a mismatch")
      << ", " << t.error_count() << " errors\n";
}

nlohmann::json to_json(const Report& r) {
  const Options& o = *r.options;
  nlohmann::json rss = nlohmann::json::array();
  for (size_t i = 0; i < r.pids.size(); ++i) {
    nlohmann::json minutes = nlohmann::json::array();
    for (const auto& m : r.rss) minutes.push_back({{"minute", m.minute}, {"rss_kib", m.kib.at(i)}, {"peak_kib", m.peak_kib.at(i)}});
    auto growth = rss_growth_percent(r.rss, i);
    rss.push_back({{"pid", r.pids[i]}, {"minutes", minutes},
                   {"growth_from_minute_3_percent", growth ? nlohmann::json(*growth) : nlohmann::json()}});
  }
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& w : r.windows) steps.push_back(window_json(w, w.to_s - w.from_s));
  const Verification& v = r.verification;
  nlohmann::json out = {
      {"tool", "hearth-loadgen"},
      {"options", {{"devices", o.devices}, {"devices_per_practitioner", o.devices_per_practitioner},
                   {"families", o.families}, {"think_ms", o.think_ms}, {"ops_per_sync", o.ops_per_sync},
                   {"servers", o.servers}, {"workers", o.workers}, {"duration_s", o.duration_s},
                   {"ramp", o.ramp ? nlohmann::json({{"step", o.ramp->step}, {"seconds", o.ramp->seconds}}) : nlohmann::json()}}},
      {"seconds", r.seconds},
      {"total", window_json(r.total, r.seconds)},
      {"server_rss", rss},
      {"settle", {{"devices", r.settled.devices}, {"failed", r.settled.failed}, {"first_failure", r.settled.first_failure}}},
      {"check", {{"practitioners", v.practitioners}, {"devices", v.devices}, {"server_ops", v.server_ops},
                 {"confirmed_ops", v.confirmed_ops}, {"lost", v.lost}, {"duplicated", v.duplicated},
                 {"devices_diverged", v.devices_diverged}, {"missing_on_devices", v.missing_on_devices},
                 {"extra_on_devices", v.extra_on_devices}, {"audit_failures", v.audit_failures},
                 {"examples", v.examples}, {"ok", v.ok()}}},
      {"passed", r.passed()}};
  if (o.ramp) {
    out["ramp_steps"] = steps;
    out["devices_served"] = devices_served(r);
    out["p99_target_ms"] = o.p99_target_ms;
  }
  return out;
}

}  // namespace hearth::loadgen
