#pragma once
// The server side hearth-loadgen needs: enrolment codes in bulk from the admin program
// (`hearth-server bulk-enrol`), and, with --start-server, a fresh hearth-bench-server on
// 127.0.0.1 (serving the peer-benchmark schema the simulated devices write) for the run.
// One server serves a data directory (serve.lock); the admin commands may run beside it.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::loadgen {

// hearth-bench-server in this program's folder.
std::string default_admin();

struct Enrolment {
  std::string practitioner;
  std::string code;
};
// Runs `ADMIN --data DATA --schema peer-benchmark bulk-enrol`: practitioners PREFIX-p1..N (added
// when missing) and `per_practitioner` one-time codes each, in practitioner order.
Result<std::vector<Enrolment>> bulk_enrol(const std::string& admin, const std::string& data, const std::string& prefix,
                                          size_t practitioners, size_t per_practitioner);

// A hearth-bench-server on a fresh data directory; SIGTERM and wait on destruction.
// Start it before any thread of this process exists (it forks).
class LocalServer {
 public:
  static Result<LocalServer*> start(const std::string& admin, const std::filesystem::path& folder);
  ~LocalServer();
  const std::string& url() const { return url_; }
  std::string ca_file() const { return (data_ / "certs" / "ca.crt").string(); }
  std::string data() const { return data_.string(); }
  pid_t pid() const { return pid_; }

 private:
  LocalServer() = default;
  std::filesystem::path data_;
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace hearth::loadgen
