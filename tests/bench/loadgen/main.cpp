// hearth-loadgen: N simulated tablets that enrol, edit with think time and sync against one or
// more hearth-servers on this machine, then check that every op is held exactly once and the
// replicas converge (docs/loadgen.md). A benchmark tool, not shipped.
//
//   hearth-loadgen --start-server DIR [--devices N] [--duration S] [--think-ms MS] ...
//   hearth-loadgen --servers URL[,URL] --ca CA.crt --data DATA [--server-pid PID] ...
// Exit: 0 when there was no error and the final check holds; 1 otherwise; 2 on bad usage.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "device.hpp"
#include "local_server.hpp"
#include "options.hpp"
#include "report.hpp"
#include "rss.hpp"
#include "runner.hpp"
#include "verify.hpp"

using namespace hearth;
using namespace hearth::loadgen;

namespace {

int fail(const std::string& what, int code = 1) {
  std::cerr << "hearth-loadgen: " << what << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (!parsed) return fail(parsed.error().message, 2);
  Options o = std::move(parsed.value());
  if (!o.help.empty()) {
    std::cout << o.help;
    return 0;
  }
  if (o.admin.empty()) o.admin = default_admin();

  std::unique_ptr<LocalServer> local;  // started before any thread exists (it forks)
  if (!o.start_server.empty()) {
    auto started = LocalServer::start(o.admin, o.start_server);
    if (!started) return fail(started.error().describe());
    local.reset(*started);
    o.servers = {local->url()};
    o.ca_file = local->ca_file();
    o.data = local->data();
    o.server_pids.push_back(local->pid());
  }
  std::ifstream ca_in(o.ca_file);
  std::stringstream ca;
  ca << ca_in.rdbuf();
  if (!ca_in) return fail("cannot read the CA certificate " + o.ca_file, 2);

  const size_t practitioners = (o.devices + o.devices_per_practitioner - 1) / o.devices_per_practitioner;
  auto codes = bulk_enrol(o.admin, o.data, o.prefix, practitioners, o.devices_per_practitioner);
  if (!codes) return fail("enrolment codes: " + codes.error().describe());
  OpKeys keys;
  std::vector<std::unique_ptr<SimDevice>> devices;
  for (size_t i = 0; i < o.devices; ++i) {
    const Enrolment& e = (*codes)[i];
    size_t nth = i % o.devices_per_practitioner;
    devices.push_back(std::make_unique<SimDevice>(e.practitioner + "-d" + std::to_string(nth), e.practitioner, e.code,
                                                  nth == 0 ? static_cast<int>(o.families) : 0, keys));
  }

  Recorder recorder(Runner::window_count(o));
  Runner runner(o, devices, ca.str(), recorder);
  RssSampler rss(o.server_pids);
  rss.start();
  std::cerr << "hearth-loadgen: " << o.devices << " devices against " << o.servers.size() << " server(s) for "
            << runner.planned_seconds() << " s\n";
  auto t0 = std::chrono::steady_clock::now();
  runner.load();
  rss.stop();  // the figures are the load phase's; the settle and the check are not load
  Report report;
  report.options = &o;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "hearth-loadgen: settling and checking\n";
  report.settled = runner.settle();
  if (o.fault == "forget-op") {
    bool forgot = false;
    for (auto& d : devices) forgot = forgot || d->forget_one_received();
    if (!forgot) return fail("--fault forget-op: no device had received an op from another device");
  }
  Connections connections(o.servers, ca.str(), o.timeout_ms);
  report.verification = verify(devices, connections, keys);
  report.windows = recorder.windows();
  report.total = recorder.total();
  report.pids = o.server_pids;
  report.rss = rss.minutes();

  print_text(report, std::cout);
  if (!o.json.empty()) {
    std::string json = to_json(report).dump(2);
    if (o.json == "-") {
      std::cout << json << "\n";
    } else if (!(std::ofstream(o.json) << json << "\n")) {
      return fail("cannot write " + o.json);
    }
  }
  return report.passed() ? 0 : 1;
}
