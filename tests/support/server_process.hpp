#pragma once
// A real hearth-server for end-to-end tests: its own data directory with development
// certificates, listening over TLS on a free port of 127.0.0.1, stopped by the destructor.
// `serve_args` are added to `serve` (e.g. {"--behind-proxy"}: plain HTTP behind nginx);
// `binary` is the hearth-server to run (default: this build's).
#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "process.hpp"
#include "temp_dir.hpp"

namespace hearth::test {

class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> serve_args = {}, std::string binary = {})
      : serve_args_(std::move(serve_args)),
        binary_(binary.empty() ? build_binary("server/hearth-server") : std::move(binary)) {
    admin({"init", "--dev"});
    admin({"add-org", "--id", "org-hv", "--name", "Health Visiting", "--type", "HEALTH_VISITING"});
    admin({"add-org", "--id", "org-ys", "--name", "Youth Service", "--type", "LA_YOUTH_SERVICE"});
    // One organisation, the lead agency of the families these practitioners make, so consent
    // does not narrow what they see (DOMAIN.md §6.2); consent tests add other organisations.
    for (const char* p : {"hv-1", "yw-1", "tm-1"})
      admin({"add-practitioner", "--id", p, "--org", "org-hv", "--name", p, "--role", "PRACTITIONER"});
    start();
  }
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::string admin(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data()});
    auto r = run_process(binary_, args);
    if (r.code != 0) throw std::runtime_error("hearth-server " + args[2] + " failed: " + r.err);
    return r.out;
  }
  std::string enrol_code(const std::string& practitioner) {
    std::string out = admin({"enrol-code", "--practitioner", practitioner});
    return out.substr(0, out.find('\n'));
  }

  // Starts serving (on the same port as before after a restart). `cert` picks another
  // certificate pair from the certs folder, e.g. "rogue-server".
  // Edits the server's configuration file (takes effect at the next start).
  void configure(const std::function<void(nlohmann::json&)>& edit) {
    std::string path = dir_.file("data/hearth-server.json");
    std::ifstream in(path);
    nlohmann::json config = nlohmann::json::parse(in);
    edit(config);
    std::ofstream(path) << config.dump(2);
  }

  void start(const std::string& cert = "server") {
    std::string port_file = dir_.file("port");
    std::remove(port_file.c_str());
    if (cert != "server")
      configure([&](nlohmann::json& c) {
        c["cert"] = dir_.file("data/certs/" + cert + ".crt");
        c["key"] = dir_.file("data/certs/" + cert + ".key");
      });
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = dir_.file("server.log");
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      std::string bin = binary_;
      std::string port = std::to_string(port_);
      std::vector<std::string> args{bin, "--data", data(), "serve", "--port", port, "--port-file", port_file};
      args.insert(args.end(), serve_args_.begin(), serve_args_.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {  // bounded: 10 s
      std::ifstream in(port_file);
      int p = 0;
      if (in >> p && p > 0) {
        port_ = static_cast<uint16_t>(p);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("hearth-server did not start; see " + dir_.file("server.log"));
  }
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  void kill_hard() { stop(SIGKILL); }

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string data() const { return dir_.file("data"); }
  std::string db() const { return dir_.file("data/hearth-server.db"); }
  std::string ca_pem(const std::string& name = "ca") const {
    std::ifstream in(dir_.file("data/certs/" + name + ".crt"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string log() const {
    std::ifstream in(dir_.file("server.log"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::vector<std::string> serve_args_;
  std::string binary_;
  TempDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace hearth::test
