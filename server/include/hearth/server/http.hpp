#pragma once
// The HTTP boundary of hearth-server: plain structs and one handler function, so the
// framework underneath (cpprestsdk today, in src/http/cpprest_server.cpp) can be replaced.
//
// The adapter bounds the work of every request before the handler sees it (issue 7, "bounded
// work per request"): only the routes given are served, each with its own body limit decided
// from the method and path before any byte of the body is read or inflated; other methods get
// 405, a path that is not valid percent-encoded UTF-8 gets 400, too many or too large headers
// get 431. None of these answers repeats anything the client sent. Errors are the wire shape
// {"error": message, "code": "<code>"} of sync/protocol.hpp.
//
// What the adapter cannot bound (cpprestsdk, TOOLCHAIN.md P7, P7b): the listener buffers the
// request line and headers whole before they reach us, buffers one chunk of a chunked body
// whole, and has no timeout for a half-sent request. Production therefore runs behind nginx
// (deploy/nginx/hearth.conf, docs/deployment.md), with hearth-server on plain HTTP on loopback.
//
// Thread-safety: the handler is called concurrently from the server's threads.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/sync/protocol.hpp"

namespace hearth::server {

struct HttpRequest {
  std::string method;
  std::string path;                            // percent-decoded, valid UTF-8, no control characters
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // already decompressed, within the route's limit
  std::string remote;                          // the client's address (see trust_forwarded_for)
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

// One endpoint the adapter lets through to the handler.
struct Route {
  std::string method;         // "GET" or "POST"
  std::string path;           // exact decoded path, e.g. "/v1/enrol"
  size_t max_body_bytes = 0;  // after decompression; a larger body gets 413 and is not read further
};

// The body a pull request may carry: its cursors name at most a caseload of families (a few
// hundred); 1 MiB is about 10,000 families with the longest ids. The server bounds the
// cursor list by the caller's caseload as well (issue 7).
constexpr size_t kPullBodyBytes = 1u << 20;
// The body limit of the office endpoints (POST /v1/office/...): a few ids and a reason.
constexpr size_t kOfficeBodyBytes = 16u << 10;
// The body limit of the office feed's acknowledgements: up to 500 keys with office ids.
constexpr size_t kOfficeAckBodyBytes = 512u << 10;

// The /v1 endpoints (docs/protocol.md) and their limits: GET /v1/health (no body),
// POST /v1/enrol (limits.enrol_bytes: it needs no credential, so it is kept small),
// POST /v1/push (limits.push_bytes), POST /v1/pull (kPullBodyBytes),
// POST /v1/break-glass and POST /v1/wipe/ack (limits.enrol_bytes),
// POST /v1/office/consent/withdraw and POST /v1/office/feed (kOfficeBodyBytes),
// POST /v1/office/feed/ack (kOfficeAckBodyBytes).
std::vector<Route> v1_routes(const sync::protocol::Limits& limits = {});

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port is chosen (see HttpServer::port)
  bool tls = true;    // plain HTTP only on a loopback address (behind nginx, or local tests)
  std::string cert_pem;
  std::string key_pem;
  // Requests for a path outside `routes` reach the handler with an empty body (their body is
  // never read) when their method is one the routes use, so the handler can say what it serves
  // (e.g. which protocol version); any other method gets 405. Must not be empty.
  std::vector<Route> routes = v1_routes();
  size_t max_headers = 64;             // header fields (repeated names count once each time)
  size_t max_header_bytes = 16 << 10;  // names and values together; over either bound: 431
  size_t max_path_bytes = 2048;        // the encoded path; longer: 414
  // Behind a proxy on loopback: when the peer is a loopback address, the last address in
  // X-Forwarded-For (nginx sets it to the client's address) becomes HttpRequest::remote.
  // From any other peer the header is ignored.
  bool trust_forwarded_for = false;
  size_t compress_over_bytes = 1024;  // gzip responses larger than this when accepted
  // The handler runs on `handler_threads` threads of the adapter's own, not on the framework's
  // (those do sockets, TLS and gzip, and must never wait on a database: TOOLCHAIN.md §3 P2);
  // 0 runs it on the framework's threads. Requests whose body is read wait in a queue of at
  // most `handler_queue`; beyond it the answer is 503 (code "unavailable", Retry-After: 1),
  // which clients retry, so memory stays bounded under any load.
  size_t handler_threads = 0;
  size_t handler_queue = 64;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  virtual void stop() = 0;  // idempotent; waits for requests in flight
};

// True for 127.0.0.0/8, ::1 and "localhost": the only addresses plain HTTP may listen on.
bool is_loopback_address(const std::string& host);

// Call first thing in main, before any other thread exists: sets up OpenSSL and the
// framework's thread pool (its default of 40 threads halves throughput on 2 cores).
void init_http_runtime(size_t threads);
// Errors: invalid_argument for TLS without a certificate, plain HTTP on a non-loopback address
// or no routes; storage when the address cannot be bound.
Result<std::unique_ptr<HttpServer>> start_http_server(const HttpServerConfig& config, Handler handler);

}  // namespace hearth::server
