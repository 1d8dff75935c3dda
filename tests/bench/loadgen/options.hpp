#pragma once
// hearth-loadgen's command line (docs/loadgen.md).
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::loadgen {

struct Ramp {
  size_t step = 0;      // devices added per step
  double seconds = 0;   // length of a step
};

struct Options {
  std::vector<std::string> servers;  // https://127.0.0.1:PORT, one picked at random per sync
  std::string ca_file;               // the servers' CA (PEM)
  std::string data;                  // a server's data directory, for `bulk-enrol`
  std::string admin;                 // the admin program (default: hearth-bench-server beside this one)
  std::string start_server;          // a folder: start a fresh hearth-bench-server there for the run
  std::vector<pid_t> server_pids;    // sampled for RSS
  size_t devices = 20;
  size_t devices_per_practitioner = 2;
  size_t families = 5;               // per practitioner, created by its first device
  double duration_s = 10;
  double think_ms = 5000;            // mean wait between a device's syncs (uniform, 0.5x to 1.5x)
  size_t ops_per_sync = 3;
  std::optional<Ramp> ramp;
  size_t workers = 16;               // threads, each with its own keep-alive connection per server
  uint64_t seed = 1;
  std::string prefix;                // practitioner and device id prefix (default: random per run)
  long timeout_ms = 30000;           // per request
  double p99_target_ms = 1000;       // a ramp step "serves" its devices when p99 sync is under this
  std::string json;                  // also write the report as JSON here ("-": stdout)
  std::string fault;                 // "forget-op": checks the checker (one device forgets one op)
  std::string help;                  // set (and nothing else) when --help was asked
};

// Parses argv; ErrorCode::invalid_argument naming the option.
Result<Options> parse_options(int argc, char** argv);

}  // namespace hearth::loadgen
