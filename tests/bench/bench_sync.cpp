// End-to-end sync over TLS on loopback for the peer workload (../shared/peers/README.md): a
// real hearth-server process, two encrypted tablet stores in this process. Not a test.
//
//   hearth-bench-sync SIZE [DIR] [plain] [no-updates]    SIZE = tiny | small | medium | large
// `plain` runs the server with encryption at rest off ("encrypt_at_rest": false): the baseline
// scripts/bench.sh measures the server's encryption cost against, in the same run.
// `no-updates` leaves out the push and pull of the U updates, so the growth of the initial,
// incremental and empty syncs with the number of families can be measured up to `large`
// (scripts/bench.sh growth) without the hour its million updates would take.
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "bench_common.hpp"
#include "peer_benchmark_schema.hpp"
#include "hearth/client/sync_client.hpp"

using namespace hearth;
using namespace hearth::bench;

namespace {

fs::path sibling(const std::string& relative) {
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() / relative;
}

std::string run(const std::vector<std::string>& args) {
  std::string cmd;
  for (const auto& a : args) cmd += "'" + a + "' ";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) die("cannot run " + args[0]);
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) die(cmd + " failed");
  return out.substr(0, out.find('\n'));
}

// A line of /proc/<pid>/status in KiB: "VmHWM:" (peak RSS) or "VmRSS:" (RSS now).
long server_status_kb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  return 0;
}

// The CPU time (user + system, seconds) a process has used so far, from /proc/<pid>/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // fields 3..13 (state .. cmajflt)
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Server {
  fs::path data;
  pid_t pid = -1;
  std::string url;
  std::string ca;
  std::string admin_bin = sibling("tests/bench/hearth-bench-server").string();
  std::string admin(std::vector<std::string> args) {
    args.insert(args.begin(), {admin_bin, "--data", data.string(), "--schema", "peer-benchmark"});
    return run(args);
  }
  void start() {
    fs::path port_file = data / "port";
    pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen((data / "server.log").c_str(), "w", stderr);
      (void)f;
      execl(admin_bin.c_str(), admin_bin.c_str(), "--data", data.c_str(), "serve", "--port", "0", "--port-file",
            port_file.c_str(), "--schema", "peer-benchmark", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(port_file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(port_file);
    int port = 0;
    if (!(in >> port)) die("hearth-server did not start");
    url = "https://127.0.0.1:" + std::to_string(port);
    std::ifstream c(data / "certs" / "ca.crt");
    std::stringstream ss;
    ss << c.rdbuf();
    ca = ss.str();
  }
  ~Server() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
};

struct Timed {
  client::SyncReport report;
  double seconds = 0;
  double server_cpu_s = 0;  // CPU the server used during this sync
};

pid_t server_pid = -1;

Timed timed_sync(client::Store& s, client::Transport& t) {
  double cpu0 = cpu_seconds(server_pid);
  auto t0 = Clock::now();
  Timed r{must(client::sync(s, t), "sync"), 0, 0};
  r.seconds = seconds_since(t0);
  r.server_cpu_s = cpu_seconds(server_pid) - cpu0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: hearth-bench-sync SIZE [DIR] [plain] [no-updates]");
  bool server_encrypted = true, with_updates = true;
  for (int i = 3; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "plain")
      server_encrypted = false;
    else if (flag == "no-updates")
      with_updates = false;
    else
      die("unknown option '" + flag + "' (plain, no-updates)");
  }
  const Size* size = find_size(argv[1]);
  if (!size) die(std::string("unknown size '") + argv[1] + "'");
  fs::path dir = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "hearth-bench-sync";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Workload w(*size);
  std::cout << w.checksum_line() << "\n";
  const Schema& schema = peer_benchmark_schema();

  Server server;
  server.data = dir / "server";
  server.admin({"init", "--dev"});
  if (!server_encrypted) {  // made afresh with encryption off (a sealed database does not open without its KEK)
    fs::path config = server.data / "hearth-server.json";
    std::ifstream in(config);
    nlohmann::json c = nlohmann::json::parse(in);
    c["encrypt_at_rest"] = false;
    std::ofstream(config) << c.dump(2);
    for (const char* f : {"hearth-server.db", "hearth-server.db-wal", "hearth-server.db-shm", "keyring"})
      fs::remove_all(server.data / f);
  }
  server.admin({"add-org", "--id", "org", "--name", "Org", "--type", "OTHER"});
  for (const char* p : {"replica-a", "replica-b"})
    server.admin({"add-practitioner", "--id", p, "--org", "org", "--name", p, "--role", "PRACTITIONER"});
  server.start();
  server_pid = server.pid;

  auto a = open_store(dir / "a.db", schema, "replica-a", true);
  auto b = open_store(dir / "b.db", schema, "replica-b", true);
  must(client::enrol(*a, server.url, server.ca, server.admin({"enrol-code", "--practitioner", "replica-a"})), "enrol a");
  must(client::enrol(*b, server.url, server.ca, server.admin({"enrol-code", "--practitioner", "replica-b"})), "enrol b");
  auto ta = must(client::transport_for(*a), "transport a");
  auto tb = must(client::transport_for(*b), "transport b");

  Ids ids;
  must(a->atomically([&]() -> Result<void> {
    create_docs(*a, ids, w);
    return {};
  }), "create");
  size_t created = must(a->status(), "status").unsynced;
  Timed push_docs = timed_sync(*a, *ta);

  server.admin({"allocate", "--practitioner", "replica-b", "--like", "replica-a"});
  Timed initial = timed_sync(*b, *tb);

  Timed push_updates, pull_updates;
  if (with_updates) {
    auto updates = w.updates();
    for (size_t i = 0; i < updates.size(); i += 1000)
      must(a->atomically([&]() -> Result<void> {
        for (size_t j = i; j < std::min(updates.size(), i + 1000); ++j) apply(*a, ids, updates[j]);
        return {};
      }), "updates");
    push_updates = timed_sync(*a, *ta);
    pull_updates = timed_sync(*b, *tb);
  }

  auto incr = w.incremental();
  for (const auto& op : incr) apply(*a, ids, op);
  Timed push_incr = timed_sync(*a, *ta);
  Timed pull_incr = timed_sync(*b, *tb);

  std::vector<double> empty;
  uint64_t empty_bytes = 0;
  double empty_cpu = 0;
  for (int i = 0; i < 21; ++i) {
    Timed e = timed_sync(*b, *tb);
    empty_cpu += e.server_cpu_s;
    empty.push_back(e.seconds);
    empty_bytes = e.report.bytes_up + e.report.bytes_down;  // body bytes on the wire (after gzip)
  }
  std::sort(empty.begin(), empty.end());

  size_t diverged = 0;
  for (const auto& fam : must(a->families(), "families"))
    if (must(a->export_family(fam), "export") != must(b->export_family(fam), "export")) ++diverged;
  long server_rss = server_status_kb(server.pid, "VmHWM:");
  long server_rss_now = server_status_kb(server.pid, "VmRSS:");

  auto rate = [](size_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  nlohmann::json out = {
      {"engine", "hearth-sync"}, {"server_encrypted", server_encrypted}, {"with_updates", with_updates}, {"size", size->name}, {"F", size->F}, {"U", size->U},
      {"push_initial_ops", push_docs.report.pushed}, {"push_initial_s", push_docs.seconds},
      {"push_initial_ops_per_s", rate(push_docs.report.pushed, push_docs.seconds)},
      {"push_initial_bytes_up", push_docs.report.bytes_up},
      {"initial_sync_ops", initial.report.pulled}, {"initial_sync_s", initial.seconds},
      {"initial_sync_ops_per_s", rate(initial.report.pulled, initial.seconds)},
      {"initial_sync_docs_per_s", rate(size->F, initial.seconds)}, {"initial_sync_bytes_down", initial.report.bytes_down},
      {"initial_sync_pages", initial.report.pages},
      {"push_updates_ops_per_s", rate(push_updates.report.pushed, push_updates.seconds)},
      {"push_updates_s", push_updates.seconds}, {"push_updates_bytes_up", push_updates.report.bytes_up},
      {"pull_updates_ops_per_s", rate(pull_updates.report.pulled, pull_updates.seconds)},
      {"pull_updates_s", pull_updates.seconds}, {"pull_updates_bytes_down", pull_updates.report.bytes_down},
      {"incremental_ops", incr.size()}, {"incremental_push_s", push_incr.seconds},
      {"incremental_pull_s", pull_incr.seconds}, {"incremental_e2e_s", push_incr.seconds + pull_incr.seconds},
      {"incremental_bytes", push_incr.report.bytes_up + pull_incr.report.bytes_down},
      {"empty_sync_median_ms", 1000 * empty[empty.size() / 2]}, {"empty_sync_body_bytes", empty_bytes},
      // what the pushing tablet's own sync downloads after its push (its pull; its own ops come back or not)
      {"push_initial_bytes_down", push_docs.report.bytes_down}, {"push_updates_bytes_down", push_updates.report.bytes_down},
      {"incremental_push_bytes_down", push_incr.report.bytes_down},
      {"push_initial_server_cpu_s", push_docs.server_cpu_s}, {"initial_sync_server_cpu_s", initial.server_cpu_s},
      {"push_updates_server_cpu_s", push_updates.server_cpu_s}, {"pull_updates_server_cpu_s", pull_updates.server_cpu_s},
      {"incremental_server_cpu_s", push_incr.server_cpu_s + pull_incr.server_cpu_s},
      {"empty_sync_server_cpu_s_total_21", empty_cpu},
      {"converged", diverged == 0}, {"created_ops", created},
      {"client_peak_rss_kb", peak_rss_kb()}, {"server_peak_rss_kb", server_rss}, {"server_rss_after_kb", server_rss_now}};
  std::printf("\nserver encryption at rest: %s\n", server_encrypted ? "on" : "OFF (baseline)");
  std::printf("%-48s %12zu ops in %.2f s = %.0f ops/s, %.1f MiB up\n", "push of the created docs (initial)",
              push_docs.report.pushed, push_docs.seconds, rate(push_docs.report.pushed, push_docs.seconds),
              static_cast<double>(push_docs.report.bytes_up) / 1048576.0);
  std::printf("%-48s %12zu ops in %.2f s = %.0f ops/s (%.0f docs/s), %.1f MiB down, %zu pages\n",
              "initial sync of every family to a fresh tablet", initial.report.pulled, initial.seconds,
              rate(initial.report.pulled, initial.seconds), rate(size->F, initial.seconds),
              static_cast<double>(initial.report.bytes_down) / 1048576.0, initial.report.pages);
  std::printf("%-48s %12zu ops in %.2f s = %.0f ops/s, %.1f MiB up\n", "push of the U updates", push_updates.report.pushed,
              push_updates.seconds, rate(push_updates.report.pushed, push_updates.seconds),
              static_cast<double>(push_updates.report.bytes_up) / 1048576.0);
  std::printf("%-48s %12zu ops in %.2f s = %.0f ops/s, %.1f MiB down\n", "pull of the U updates", pull_updates.report.pulled,
              pull_updates.seconds, rate(pull_updates.report.pulled, pull_updates.seconds),
              static_cast<double>(pull_updates.report.bytes_down) / 1048576.0);
  std::printf("%-48s %12zu ops: push %.1f ms + pull %.1f ms, %llu bytes\n", "incremental 1% set", incr.size(),
              1000 * push_incr.seconds, 1000 * pull_incr.seconds,
              static_cast<unsigned long long>(push_incr.report.bytes_up + pull_incr.report.bytes_down));
  std::printf("%-48s %12.2f ms (median of 21), %llu body bytes\n", "empty sync round trip", 1000 * empty[empty.size() / 2],
              static_cast<unsigned long long>(empty_bytes));
  std::printf("%-48s push %.2f s, initial %.2f s, updates %.2f + %.2f s, incremental %.3f s, 21 empty %.3f s\n",
              "server CPU (user + system)", push_docs.server_cpu_s, initial.server_cpu_s, push_updates.server_cpu_s,
              pull_updates.server_cpu_s, push_incr.server_cpu_s + pull_incr.server_cpu_s, empty_cpu);
  std::printf("%-48s %12s\n", "converged", diverged == 0 ? "yes" : "NO");
  std::printf("%-48s %12ld KiB client (two stores), %ld KiB server (%ld KiB at the end)\n", "peak RSS", peak_rss_kb(),
              server_rss, server_rss_now);
  std::cout << out.dump() << "\n";
  return diverged == 0 ? 0 : 3;
}
