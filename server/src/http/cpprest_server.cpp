// The only translation unit that includes cpprestsdk (TOOLCHAIN.md §3: it is slow to
// compile and defines macros). Decisions on its known problems:
//  - thread pool: sized by init_http_runtime before anything else runs (P2, P11);
//  - port 0: a free port is probed, then bound, retrying if taken meanwhile (P3);
//  - TLS: PEMs loaded once, TLS 1.2+ only, set on every connection's context (P4);
//  - body size: Content-Length over the limit gets 413 before any processing; a chunked body
//    is checked after reading (the listener buffers it: P7 — keep a proxy in front on an
//    untrusted network); `Expect: 100-continue` is disabled by our client (P6);
//  - exceptions: the handler is wrapped, every continuation observes its task (P10);
//  - gzip: request bodies are inflated and responses deflated here (P12).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cctype>

#include "hearth/platform/gzip.hpp"
#include "hearth/server/http.hpp"
#include "hearth/sync/protocol.hpp"

namespace hearth::server {

namespace {

namespace http = web::http;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

uint16_t probe_free_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

http::http_response to_cpprest(const HttpResponse& r, bool gzip_ok, size_t compress_over) {
  http::http_response resp(static_cast<http::status_code>(r.status));
  resp.headers().add("Cache-Control", "no-store");
  resp.headers().add("Vary", "Accept-Encoding");
  std::vector<unsigned char> body;
  if (gzip_ok && r.body.size() > compress_over) {
    std::string z = platform::gzip(r.body);
    body.assign(z.begin(), z.end());
    resp.headers().add("Content-Encoding", "gzip");
  } else {
    body.assign(r.body.begin(), r.body.end());
  }
  resp.set_body(std::move(body));
  resp.headers().set_content_type(r.content_type);
  return resp;
}

using sync::protocol::WireError;

// Errors found before the service runs, written by the protocol codec like every other body.
HttpResponse error_response(WireError code, const std::string& message) {
  return HttpResponse{sync::protocol::http_status(code), sync::protocol::encode(sync::protocol::ErrorReply{code, message}),
                      "application/json"};
}

class CpprestServer final : public HttpServer {
 public:
  CpprestServer(HttpServerConfig config, Handler handler) : config_(std::move(config)), handler_(std::move(handler)) {}
  ~CpprestServer() override { stop(); }

  Result<void> open() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      uint16_t port = config_.port ? config_.port : probe_free_port(config_.host);
      if (port == 0) return make_error(ErrorCode::storage, "no free port on " + config_.host);
      std::string uri = std::string(config_.tls ? "https" : "http") + "://" + config_.host + ":" + std::to_string(port);
      http_listener_config cfg;
      if (config_.tls) {
        cfg.set_ssl_context_callback([this](boost::asio::ssl::context& ctx) {
          namespace ssl = boost::asio::ssl;
          ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
          SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
          SSL_CTX_set_cipher_list(ctx.native_handle(), "ECDHE+AESGCM:ECDHE+CHACHA20");
          ctx.use_certificate_chain(boost::asio::buffer(config_.cert_pem));
          ctx.use_private_key(boost::asio::buffer(config_.key_pem), ssl::context::pem);
        });
      }
      auto listener = std::make_unique<http_listener>(web::uri(uri), cfg);
      listener->support([this](http::http_request req) { serve(std::move(req)); });
      try {
        listener->open().wait();
      } catch (const std::exception& e) {
        if (config_.port) return make_error(ErrorCode::storage, "cannot listen on " + uri + ": " + e.what());
        continue;  // the probed port was taken meanwhile
      }
      listener_ = std::move(listener);
      port_ = port;
      return {};
    }
    return make_error(ErrorCode::storage, "could not bind a free port on " + config_.host);
  }

  uint16_t port() const override { return port_; }

  void stop() override {
    if (!listener_) return;
    try {
      listener_->close().wait();
    } catch (...) {
    }
    listener_.reset();
  }

 private:
  void serve(http::http_request req) {
    bool gzip_ok = lower(req.headers().has("Accept-Encoding") ? req.headers()["Accept-Encoding"] : "").find("gzip") !=
                   std::string::npos;
    auto reply = [req, gzip_ok, this](const HttpResponse& r) mutable {
      req.reply(to_cpprest(r, gzip_ok, config_.compress_over_bytes)).then([](pplx::task<void> t) {
        try {
          t.get();
        } catch (...) {  // the client went away: nothing to do (P10)
        }
      });
    };
    auto length = req.headers().content_length();
    if (length > config_.max_body_bytes) {
      reply(error_response(WireError::too_large, "request body of " + std::to_string(length) + " bytes is over the limit of " +
                                    std::to_string(config_.max_body_bytes)));
      return;
    }
    req.extract_vector()
        .then([this, req, reply](pplx::task<std::vector<unsigned char>> t) mutable {
          HttpResponse response;
          try {
            std::vector<unsigned char> raw = t.get();
            HttpRequest in;
            in.method = req.method();
            in.path = web::uri::decode(req.relative_uri().path());
            in.remote = req.remote_address();
            for (const auto& [name, value] : req.headers()) in.headers[lower(name)] = value;
            if (raw.size() > config_.max_body_bytes) {
              reply(error_response(WireError::too_large, "request body is over the limit of " + std::to_string(config_.max_body_bytes)));
              return;
            }
            in.body.assign(raw.begin(), raw.end());
            if (lower(in.header("content-encoding")) == "gzip") {
              auto inflated = platform::gunzip(in.body, config_.max_body_bytes);
              if (!inflated) {
                reply(error_response(WireError::bad_request, inflated.error().message));
                return;
              }
              in.body = std::move(inflated.value());
            }
            response = handler_(in);
          } catch (const std::exception& e) {
            response = error_response(WireError::server, std::string("internal error: ") + e.what());
          } catch (...) {
            response = error_response(WireError::server, "internal error");
          }
          reply(response);
        })
        .then([](pplx::task<void> t) {
          try {
            t.get();
          } catch (...) {
          }
        });
  }

  HttpServerConfig config_;
  Handler handler_;
  std::unique_ptr<http_listener> listener_;
  uint16_t port_ = 0;
};

}  // namespace

void init_http_runtime(size_t threads) {
  OPENSSL_init_ssl(0, nullptr);  // before the pool: keeps LeakSanitizer quiet (P8)
  static bool done = false;
  if (!done) {
    crossplat::threadpool::initialize_with_threads(threads);
    done = true;
  }
}

Result<std::unique_ptr<HttpServer>> start_http_server(const HttpServerConfig& config, Handler handler) {
  if (config.tls && (config.cert_pem.empty() || config.key_pem.empty()))
    return make_error(ErrorCode::invalid_argument, "TLS needs a certificate and a key (or explicitly allow plain HTTP)");
  auto server = std::make_unique<CpprestServer>(config, std::move(handler));
  if (auto r = server->open(); !r) return r.error();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace hearth::server
