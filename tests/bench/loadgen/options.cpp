#include "options.hpp"

#include <CLI/CLI.hpp>

#include <random>
#include <sstream>

namespace hearth::loadgen {

namespace {

// https://<loopback>:<port>, nothing after the port but an optional "/".
bool local_url(const std::string& url) {
  for (std::string host : {"https://127.0.0.1:", "https://localhost:", "https://[::1]:"}) {
    if (url.rfind(host, 0) != 0) continue;
    std::string port = url.substr(host.size());
    if (!port.empty() && port.back() == '/') port.pop_back();
    return !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  }
  return false;
}

}  // namespace

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  CLI::App app{"hearth-loadgen: simulated tablets syncing against hearth-server on this machine (docs/loadgen.md)"};
  std::string servers, ramp;
  std::vector<long> pids;
  app.add_option("--servers", servers, "URL[,URL...]: https://127.0.0.1:PORT of each server (one picked per sync)");
  app.add_option("--ca", o.ca_file, "the servers' CA certificate (PEM)");
  app.add_option("--data", o.data, "a server's data directory: codes are issued there with `bulk-enrol`");
  app.add_option("--admin", o.admin, "the admin program run with --data (default: hearth-bench-server beside this one)");
  app.add_option("--start-server", o.start_server,
                 "start a fresh hearth-bench-server in this (emptied) folder on 127.0.0.1 for the run, and stop it after");
  app.add_option("--server-pid", pids, "a server process to sample RSS of (repeatable)")->delimiter(',');
  app.add_option("--devices", o.devices, "simulated tablets (default 20)")->check(CLI::Range(1, 100000));
  app.add_option("--devices-per-practitioner", o.devices_per_practitioner, "default 2")->check(CLI::Range(1, 100));
  app.add_option("--families", o.families, "families per practitioner (default 5)")->check(CLI::Range(1, 1000));
  app.add_option("--duration", o.duration_s, "seconds of load (default 10)")->check(CLI::Range(1.0, 86400.0));
  app.add_option("--think-ms", o.think_ms, "mean wait between a device's syncs, ms (default 5000)")
      ->check(CLI::Range(0.0, 3600000.0));
  app.add_option("--ops-per-sync", o.ops_per_sync, "edits per sync (default 3)")->check(CLI::Range(0, 10000));
  app.add_option("--ramp", ramp, "STEP,SECONDS: start STEP devices, add STEP more every SECONDS (capacity)");
  app.add_option("--workers", o.workers, "worker threads (default 16)")->check(CLI::Range(1, 1024));
  app.add_option("--seed", o.seed, "random seed (default 1)");
  app.add_option("--prefix", o.prefix, "id prefix of practitioners and devices (default: random)");
  app.add_option("--timeout-ms", o.timeout_ms, "per request (default 30000)")->check(CLI::Range(100, 600000));
  app.add_option("--p99-target-ms", o.p99_target_ms, "ramp: a step serves its devices if p99 sync is under this")
      ->check(CLI::Range(1.0, 600000.0));
  app.add_option("--json", o.json, "also write the report as JSON to this file (- for stdout)");
  app.add_option("--fault", o.fault, "forget-op: one device forgets one op before the check (the check must fail)")
      ->check(CLI::IsMember({"forget-op"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    o.help = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return make_error(ErrorCode::invalid_argument, e.what());
  }
  std::stringstream list(servers);
  for (std::string url; std::getline(list, url, ',');)
    if (!url.empty()) o.servers.push_back(url.back() == '/' ? url.substr(0, url.size() - 1) : url);
  for (long p : pids) o.server_pids.push_back(static_cast<pid_t>(p));
  if (o.start_server.empty()) {
    if (o.servers.empty()) return make_error(ErrorCode::invalid_argument, "give --servers (or --start-server)");
    if (o.ca_file.empty() || o.data.empty())
      return make_error(ErrorCode::invalid_argument, "--servers needs --ca and --data (where codes are issued)");
  } else if (!o.servers.empty()) {
    return make_error(ErrorCode::invalid_argument, "give --servers or --start-server, not both");
  }
  for (const auto& url : o.servers)
    if (!local_url(url))
      return make_error(ErrorCode::invalid_argument, "--servers: '" + url + "' is not https://127.0.0.1:PORT (or localhost, [::1])");
  if (!ramp.empty()) {
    Ramp r;
    char comma = 0;
    std::stringstream in(ramp);
    if (!(in >> r.step >> comma >> r.seconds) || comma != ',' || r.step == 0 || r.seconds <= 0)
      return make_error(ErrorCode::invalid_argument, "--ramp: expected STEP,SECONDS (e.g. 100,30), got '" + ramp + "'");
    o.ramp = r;
  }
  if (o.prefix.empty()) o.prefix = "lg" + std::to_string(std::random_device{}() % 1000000);
  return o;
}

}  // namespace hearth::loadgen
