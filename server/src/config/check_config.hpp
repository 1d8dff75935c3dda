#pragma once
// `hearth-server check-config`: everything that would stop `serve`, found before it runs, and
// the checks `serve` itself runs at start (docs/configuration.md, "Checking a configuration").
// Thread-safety: no shared state.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "config_keys.hpp"
#include "hearth/core/error.hpp"
#include "tls/tls_check.hpp"

namespace hearth::server::config {

// The files the configuration names for hearth-server's own TLS: "cert", "key" and "ca", each
// labelled with the key and `config_file` for messages.
tls::TlsFiles server_tls_files(const nlohmann::json& config, const std::string& config_file);

// For `serve`: warnings are appended to `warnings`; the problems, one per line, make an
// ErrorCode::invalid_argument (the server does not start).
Result<void> refuse_on_problems(const std::vector<Finding>& findings, std::vector<std::string>& warnings);

struct CheckConfigRequest {
  std::filesystem::path config_file;  // DATA/hearth-server.json, or `--config FILE`
  std::filesystem::path data_dir;     // where the keys are looked for by default
  std::string nginx_conf;             // not empty: also check the TLS files this nginx file names
  int64_t now = 0;                    // Unix seconds
};

// Checks, printing one line each ("ok: ...", "warning: ...", "PROBLEM: ...") and a verdict:
// the configuration (config_keys.hpp validate); when hearth-server serves TLS itself, its
// certificate and key (tls_check.hpp) against `server_name` or the listen address; the KEK and
// the audit key where the server will look for them (a warning when they are only provided by
// systemd's LoadCredential= and so not visible here); the office endpoint's CA file; the LSOA
// table; with `nginx_conf`, each TLS server block's certificate and key against its
// server_name. Returns 0 when nothing found would stop the server (or nginx), 2 otherwise.
int check_config(const CheckConfigRequest& request, std::ostream& out);

}  // namespace hearth::server::config
