#include "local_server.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace hearth::loadgen {

namespace fs = std::filesystem;

namespace {

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a command; its standard output, or an error naming it.
Result<std::string> run(const std::vector<std::string>& args) {
  std::string cmd;
  for (const auto& a : args) cmd += quoted(a) + " ";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return make_error(ErrorCode::invalid_argument, "cannot run " + args.front());
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  if (pclose(p) != 0) return make_error(ErrorCode::invalid_argument, cmd + "failed");
  return out;
}

}  // namespace

std::string default_admin() {
  return (fs::read_symlink("/proc/self/exe").parent_path() / "hearth-bench-server").string();
}

Result<std::vector<Enrolment>> bulk_enrol(const std::string& admin, const std::string& data, const std::string& prefix,
                                          size_t practitioners, size_t per_practitioner) {
  auto out = run({admin, "--data", data, "--schema", "peer-benchmark", "bulk-enrol", "--prefix", prefix,
                  "--practitioners", std::to_string(practitioners), "--devices-per-practitioner",
                  std::to_string(per_practitioner)});
  if (!out) return out.error();
  std::vector<Enrolment> codes;
  std::stringstream lines(*out);
  for (std::string line; std::getline(lines, line);) {
    auto space = line.find(' ');
    if (space == std::string::npos) continue;
    codes.push_back(Enrolment{line.substr(0, space), line.substr(space + 1)});
  }
  if (codes.size() != practitioners * per_practitioner)
    return make_error(ErrorCode::invalid_argument, "bulk-enrol printed " + std::to_string(codes.size()) +
                                                       " codes, expected " +
                                                       std::to_string(practitioners * per_practitioner));
  return codes;
}

Result<LocalServer*> LocalServer::start(const std::string& admin, const fs::path& folder) {
  std::error_code ec;
  fs::remove_all(folder, ec);
  fs::create_directories(folder, ec);
  if (ec) return make_error(ErrorCode::invalid_argument, "cannot make " + folder.string() + ": " + ec.message());
  auto* server = new LocalServer();
  server->data_ = folder / "server";
  if (auto r = run({admin, "--data", server->data_.string(), "--schema", "peer-benchmark", "init", "--dev"}); !r) {
    delete server;
    return r.error();
  }
  fs::path port_file = folder / "port";
  fs::path log = folder / "server.log";
  pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stderr)) _exit(126);
    execl(admin.c_str(), admin.c_str(), "--data", server->data_.c_str(), "--schema", "peer-benchmark", "serve",
          "--host", "127.0.0.1", "--port", "0", "--port-file", port_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  server->pid_ = pid;
  int port = 0;
  for (int i = 0; i < 400 && port <= 0; ++i) {  // 20 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(port_file);
    if (!(in >> port)) port = 0;
  }
  if (port <= 0) {
    delete server;
    return make_error(ErrorCode::network, "hearth-bench-server did not start within 20 s; see " + log.string());
  }
  server->url_ = "https://127.0.0.1:" + std::to_string(port);
  return server;
}

LocalServer::~LocalServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
}

}  // namespace hearth::loadgen
