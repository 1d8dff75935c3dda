#pragma once
// The server's outbound HTTPS calls (the office repeater, usecases/office_repeater.hpp) as plain
// structs and one function, so the framework underneath (cpprestsdk's http_client, in
// src/http/cpprest_client.cpp, ARCHITECTURE.md "Office integration") can be replaced.
// TLS: the peer's certificate is verified against `ca_file` (else the system's CAs) and its
// name against the URL's host; TLS 1.2 or later. Redirects are not followed.
// Thread-safety: http_post may be called from any thread; init_http_runtime (http.hpp) must
// have run first, as for the listener.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct HttpPostRequest {
  std::string url;  // https://host:port/path (http:// only to a loopback address)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  std::string ca_file;         // PEM bundle of the CAs trusted for this peer; "" the system's
  int64_t timeout_ms = 10000;  // the whole exchange
  size_t max_reply_bytes = 1u << 20;  // a longer answer body is cut here
};

struct HttpPostReply {
  int status = 0;
  std::string body;
};

// Posts once. Errors: ErrorCode::network when the peer cannot be reached, TLS fails, or the
// time runs out; invalid_argument for a URL that is not http(s) (or plain http to a host that
// is not loopback). Any HTTP status is a reply, not an error.
Result<HttpPostReply> http_post(const HttpPostRequest& request);

}  // namespace hearth::server
