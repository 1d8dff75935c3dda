#pragma once
// The HTTP boundary of hearth-server: plain structs and one handler function, so the
// framework underneath (cpprestsdk today, in src/http/cpprest_server.cpp) can be replaced.
// Thread-safety: the handler is called concurrently from the server's threads.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // already decompressed
  std::string remote;
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

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port is chosen (see HttpServer::port)
  bool tls = true;    // plain HTTP only when explicitly asked for (local tests)
  std::string cert_pem;
  std::string key_pem;
  size_t max_body_bytes = 8u * 1024 * 1024;  // larger requests get 413 without being processed
  size_t compress_over_bytes = 1024;         // gzip responses larger than this when accepted
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  virtual void stop() = 0;  // idempotent; waits for requests in flight
};

// Call first thing in main, before any other thread exists: sets up OpenSSL and the
// framework's thread pool (its default of 40 threads halves throughput on 2 cores).
void init_http_runtime(size_t threads);
Result<std::unique_ptr<HttpServer>> start_http_server(const HttpServerConfig& config, Handler handler);

}  // namespace hearth::server
