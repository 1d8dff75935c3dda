#pragma once
// A throwaway nginx for the hostile-input tests (TOOLCHAIN.md §10): Debian's nginx run as an
// ordinary foreground process from a temporary folder, configured from the shipped
// deploy/nginx/hearth.conf, listening with TLS on a free port of 127.0.0.1 and proxying to a
// hearth-server on loopback plain HTTP. Stopped by the destructor, so also when a test fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "temp_dir.hpp"

#ifndef HEARTH_SOURCE_DIR
#error "HEARTH_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

namespace hearth::test {

// The nginx binary, or "" when it is not installed. HEARTH_NGINX names another binary (a path
// that does not exist plays "not installed").
inline std::string find_nginx() {
  if (const char* given = std::getenv("HEARTH_NGINX")) return ::access(given, X_OK) == 0 ? given : "";
  for (const char* p : {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

inline bool accepts_connections(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The test configuration: deploy/nginx/hearth.conf with only these replaced (each must be found
// exactly as written there, so the shipped file and the tested one cannot drift apart):
// the listen address, the certificate paths, the backend port, the log paths, and the client
// header and body timeouts (10 s shortened to `timeout_s`, to keep the half-sent test short);
// one line is added (proxy_bind, below). The port-80 redirect server is left out.
inline std::string hearth_conf_for_test(const std::string& dir, uint16_t port, uint16_t backend,
                                        const std::string& cert_dir, int timeout_s) {
  std::string conf = read_text(std::string(HEARTH_SOURCE_DIR) + "/deploy/nginx/hearth.conf");
  size_t cut = conf.find("# Plain HTTP only redirects");
  if (cut == std::string::npos) throw std::runtime_error("hearth.conf: the port-80 server marker is missing");
  conf.resize(cut);
  std::string t = std::to_string(timeout_s) + "s;";
  std::vector<std::pair<std::string, std::string>> edits = {
      {"    listen 443 ssl;\n", "    listen 127.0.0.1:" + std::to_string(port) + " ssl;\n"},
      {"    listen [::]:443 ssl;\n", ""},
      {"/etc/hearth/tls/server.crt", cert_dir + "/server.crt"},
      {"/etc/hearth/tls/server.key", cert_dir + "/server.key"},
      {"server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(backend) + ";"},
      {"/var/log/nginx/hearth.access.log", dir + "/access.log"},
      {"/var/log/nginx/hearth.error.log", dir + "/error.log"},
      {"client_header_timeout 10s;", "client_header_timeout " + t},
      {"client_body_timeout 10s;", "client_body_timeout " + t},
      // added: nginx reaches hearth-server from 127.0.0.2, so the tests can tell the proxy's
      // address from the client's
      {"    proxy_http_version 1.1;\n", "    proxy_http_version 1.1;\n    proxy_bind 127.0.0.2;\n"},
  };
  for (const auto& [from, to] : edits) {
    size_t at = conf.find(from);
    if (at == std::string::npos) throw std::runtime_error("hearth.conf no longer contains '" + from + "'");
    conf.replace(at, from.size(), to);
  }
  return conf;
}

class NginxProcess {
 public:
  // `cert_dir` holds server.crt and server.key (`hearth-server init --dev`); `backend` is the
  // hearth-server port on 127.0.0.1.
  NginxProcess(uint16_t backend, const std::string& cert_dir, int timeout_s = 2) {
    std::string bin = find_nginx();
    if (bin.empty()) throw std::runtime_error("nginx is not installed");
    std::filesystem::permissions(dir_.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                                  std::filesystem::perms::others_exec);
    for (int attempt = 0; attempt < 5; ++attempt) {  // the probed port may be taken meanwhile
      port_ = free_loopback_port();
      write_config(backend, cert_dir, timeout_s);
      spawn(bin);
      for (int i = 0; i < 200; ++i) {  // bounded: 10 s
        if (accepts_connections(port_)) return;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      stop();
    }
    throw std::runtime_error("nginx did not start: " + read_text(dir_.file("error.log")) + read_text(dir_.file("stderr.log")));
  }
  ~NginxProcess() { stop(); }
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string error_log() const { return read_text(dir_.file("error.log")); }
  std::string access_log() const { return read_text(dir_.file("access.log")); }
  std::string config() const { return read_text(dir_.file("hearth.conf")); }

  // SIGTERM (fast shutdown), then SIGKILL to the whole process group after 5 s.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  void write_config(uint16_t backend, const std::string& cert_dir, int timeout_s) {
    std::string d = dir_.path().string();
    std::ofstream(dir_.file("hearth.conf")) << hearth_conf_for_test(d, port_, backend, cert_dir, timeout_s);
    std::ofstream(dir_.file("nginx.conf"))
        << "worker_processes 1;\n"
        << "error_log " << d << "/error.log warn;\n"
        << "events { worker_connections 256; }\n"
        << "http {\n"
        << "  default_type application/octet-stream;\n"
        << "  access_log " << d << "/access.log;\n"
        << "  client_body_temp_path " << d << "/body;\n"
        << "  proxy_temp_path " << d << "/proxy;\n"
        << "  fastcgi_temp_path " << d << "/fastcgi;\n"
        << "  uwsgi_temp_path " << d << "/uwsgi;\n"
        << "  scgi_temp_path " << d << "/scgi;\n"
        << "  include " << d << "/hearth.conf;\n"
        << "}\n";
  }
  void spawn(const std::string& bin) {
    std::string d = dir_.path().string();
    pid_ = fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);  // its workers can be killed as a group if it does not stop
      FILE* f = std::freopen(dir_.file("stderr.log").c_str(), "a", stderr);
      (void)f;
      std::string global = "daemon off; pid " + d + "/nginx.pid;";
      execl(bin.c_str(), bin.c_str(), "-p", d.c_str(), "-c", (d + "/nginx.conf").c_str(), "-g", global.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  TempDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace hearth::test
