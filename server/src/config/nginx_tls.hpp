#pragma once
// What an nginx configuration (deploy/nginx/hearth.conf as installed) says about TLS: for each
// `server { ... }` block naming a certificate, its `server_name`s, `ssl_certificate` and
// `ssl_certificate_key`, so `check-config --nginx FILE` can check the files nginx will serve
// with. Reads only: never runs nginx. `include` directives are not followed.
#include <filesystem>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server::config {

struct NginxTlsServer {
  int line = 0;                    // where its `server {` opens
  std::vector<std::string> names;  // server_name values, as written ("_" and patterns included)
  std::string cert;                // ssl_certificate
  std::string key;                 // ssl_certificate_key
};

// The server blocks of `text` that name an ssl_certificate, in order. ErrorCode::
// invalid_argument for braces that do not balance or a quote that is not closed.
Result<std::vector<NginxTlsServer>> nginx_tls_servers(const std::string& text);

}  // namespace hearth::server::config
