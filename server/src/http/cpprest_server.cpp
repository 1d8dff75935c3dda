// The only translation unit that includes cpprestsdk (TOOLCHAIN.md §3: it is slow to
// compile and defines macros). Decisions on its known problems:
//  - thread pool: sized by init_http_runtime before anything else runs (P2, P11);
//  - port 0: a free port is probed, then bound, retrying if taken meanwhile (P3);
//  - TLS: PEMs loaded once, TLS 1.2+ only, set on every connection's context (P4);
//  - bounded work per request (issue 7; the checks themselves are in request_bounds.cpp): the
//    method, path and headers are checked and the route chosen before any body byte is read.
//    The body is then read in pieces up to the route's limit. A body over the limit is read on
//    and dropped up to kDrainBytes, so the client sees the 413 rather than a reset; beyond that
//    (or on a path we do not serve) it is not read further: its stream is closed with an error,
//    which makes the listener stop reading the socket, and the answer carries `Connection: close`.
//    What remains unbounded here is what the listener buffers before calling us (request line
//    and headers, one whole chunk of a chunked body) and a half-sent request, which it never times out (P7, P7b): nginx in front bounds those;
//    `Expect: 100-continue` is disabled by our client (P6);
//  - methods: the listener answers OPTIONS itself and echoes a TRACE request whole (bearer token
//    included) unless those methods have handlers of their own: they are routed to serve() too;
//  - exceptions: the handler is wrapped, every continuation observes its task (P10); nothing a
//    client sends can make the adapter answer 5xx;
//  - gzip: request bodies are inflated here, stopping at the route's limit; responses deflated (P12);
//  - blocking: with handler_threads, the handler (database work) runs on threads of our own fed
//    by a bounded queue, never on the framework's (P2); a full queue is answered 503 at once.
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
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "hearth/platform/gzip.hpp"
#include "hearth/server/http.hpp"
#include "request_bounds.hpp"

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

// An answer and how to send it.
struct Answer {
  HttpResponse response;
  bool close = false;  // the request's body was not read whole: end the connection after this answer
  bool drain = false;  // read and drop the rest of the body (up to kDrainBytes) before answering
  std::string allow;   // 405: the methods the path allows
};

Answer refuse(int status, const char* code, const std::string& message, bool close) {
  return Answer{http_bounds::wire_error(status, code, message), close, {}};
}

http::http_response to_cpprest(const Answer& a, bool gzip_ok, size_t compress_over) {
  const HttpResponse& r = a.response;
  http::http_response resp(static_cast<http::status_code>(r.status));
  resp.headers().add("Cache-Control", "no-store");
  resp.headers().add("Vary", "Accept-Encoding, Accept");  // pull answers may be framed (docs/protocol.md)
  if (a.close) resp.headers().add("Connection", "close");
  if (!a.allow.empty()) resp.headers().add("Allow", a.allow);
  if (r.status == 503) resp.headers().add("Retry-After", "1");  // busy: the client retries (protocol.hpp)
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

// Makes the listener stop reading this request's body: its next write into the body stream
// fails, which ends the request (the answer is then sent, and `Connection: close` ends the
// connection instead of parsing the rest of the body as a next request).
void stop_reading(const http::http_request& req) {
  try {
    req.body().streambuf().close(std::ios_base::out, std::make_exception_ptr(std::runtime_error("body refused")))
        .then([](pplx::task<void> t) {
          try {
            t.get();
          } catch (...) {
          }
        });
  } catch (...) {  // already closed: the body was complete
  }
}

// Reads a request body in pieces, stopping as soon as it is over `limit` bytes.
struct BodyReader {
  concurrency::streams::streambuf<uint8_t> buf;
  size_t limit = 0;
  std::string bytes;
  bool over = false;
  std::vector<uint8_t> piece = std::vector<uint8_t>(16 * 1024);
};

pplx::task<void> read_more(std::shared_ptr<BodyReader> r) {
  return r->buf.getn(r->piece.data(), r->piece.size()).then([r](size_t n) -> pplx::task<void> {
    if (n == 0) return pplx::task_from_result();
    r->bytes.append(reinterpret_cast<const char*>(r->piece.data()), n);
    if (r->bytes.size() > r->limit) {
      r->over = true;
      return pplx::task_from_result();
    }
    return read_more(r);
  });
}

// A refused body up to this many bytes is read and dropped before the answer goes out, as
// nginx's lingering close does: closing a socket with request bytes still arriving makes the
// kernel reset the connection, and a client still sending then sees "broken pipe" instead of
// the 413 that tells it what was wrong. Beyond this the body is cut off (its stream closed).
constexpr size_t kDrainBytes = 1024 * 1024;

// Reads and drops the rest of a body; true when it ended before `left` more bytes.
pplx::task<bool> drain_body(std::shared_ptr<BodyReader> r, size_t left) {
  return r->buf.getn(r->piece.data(), r->piece.size()).then([r, left](size_t n) -> pplx::task<bool> {
    if (n == 0) return pplx::task_from_result(true);
    if (n >= left) return pplx::task_from_result(false);
    return drain_body(r, left - n);
  });
}

bool has_body(const http::http_request& req) {
  return req.headers().content_length() > 0 || req.headers().has("Transfer-Encoding");
}

std::string over_limit(size_t limit) {
  return "the request body is over this endpoint's limit of " + std::to_string(limit) + " bytes";
}

// Threads that run handler calls, fed by a queue of at most `capacity` jobs.
class HandlerPool {
 public:
  HandlerPool(size_t threads, size_t capacity) : capacity_(capacity) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~HandlerPool() { stop(); }
  // False when the queue is full or the pool stopped: the caller answers 503 itself.
  bool submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ || queue_.size() >= capacity_) return false;
      queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
  }
  // Runs every job queued, then ends the threads. Idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      try {
        job();
      } catch (...) {  // the framework threw while replying (the client went away): nothing to do (P10)
      }
    }
  }

  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class CpprestServer final : public HttpServer {
 public:
  CpprestServer(HttpServerConfig config, Handler handler) : config_(std::move(config)), handler_(std::move(handler)) {
    if (config_.handler_threads > 0)
      pool_ = std::make_unique<HandlerPool>(config_.handler_threads, std::max<size_t>(config_.handler_queue, 1));
  }
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
      // The listener answers OPTIONS itself and echoes TRACE requests whole, bearer token
      // included, unless these methods have their own handlers: they come to serve() (405).
      listener->support([this](http::http_request req) { serve(std::move(req)); });
      listener->support(http::methods::TRCE, [this](http::http_request req) { serve(std::move(req)); });
      listener->support(http::methods::OPTIONS, [this](http::http_request req) { serve(std::move(req)); });
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
    if (listener_) {
      try {
        listener_->close().wait();
      } catch (...) {
      }
      listener_.reset();
    }
    if (pool_) pool_->stop();  // the requests queued are answered first
  }

 private:
  // Everything decided from the request line and headers, before the body: the route and its
  // limit, or the refusal. `in` receives the decoded path, headers and client address.
  std::optional<Answer> check_head(const http::http_request& req, HttpRequest& in, const Route*& route) const {
    bool body = has_body(req);
    in.method = req.method();
    std::string raw_path = req.request_uri().path();
    if (raw_path.size() > config_.max_path_bytes)
      return refuse(414, "bad_request", "the request path is too long", body);
    auto path = http_bounds::decode_path(raw_path);
    if (!path) return refuse(400, "bad_request", "the request path is not valid percent-encoded UTF-8", body);
    in.path = std::move(*path);
    size_t count = 0, bytes = 0;
    for (const auto& [name, value] : req.headers()) {
      // the listener joins repeated names with ", ": count each occurrence
      count += 1 + static_cast<size_t>(std::count(value.begin(), value.end(), ','));
      bytes += name.size() + value.size();
      if (count > config_.max_headers || bytes > config_.max_header_bytes)
        return refuse(431, "too_large",
                      "the request headers are over the limit of " + std::to_string(config_.max_headers) + " fields or " +
                          std::to_string(config_.max_header_bytes) + " bytes",
                      body);
      if (!http_bounds::valid_text(name) || !http_bounds::valid_text(value))
        return refuse(400, "bad_request", "a request header is not valid UTF-8 text", body);
      in.headers[lower(name)] = value;
    }
    in.remote = http_bounds::client_address(req.remote_address(), in.header("x-forwarded-for"), config_.trust_forwarded_for);
    auto match = http_bounds::match_route(config_.routes, in.method, in.path);
    if (!match.route && (match.path_known || !match.method_known)) {
      Answer a = refuse(405, "method", "this method is not allowed here", body);
      a.allow = http_bounds::allowed_methods(config_.routes, in.path);
      return a;
    }
    route = match.route;  // null: a path we do not serve, passed to the handler without its body
    if (route && req.headers().content_length() > route->max_body_bytes) {
      Answer a = refuse(413, "too_large", over_limit(route->max_body_bytes), true);
      a.drain = req.headers().content_length() <= kDrainBytes;
      return a;
    }
    return std::nullopt;
  }

  void serve(http::http_request req) {
    bool gzip_ok = lower(req.headers().has("Accept-Encoding") ? req.headers()["Accept-Encoding"] : "").find("gzip") !=
                   std::string::npos;
    auto send = [req, gzip_ok, this](const Answer& a) mutable {
      req.reply(to_cpprest(a, gzip_ok, config_.compress_over_bytes)).then([](pplx::task<void> t) {
        try {
          t.get();
        } catch (...) {  // the client went away: nothing to do (P10)
        }
      });
    };
    auto reply = [req, send](const Answer& a) mutable {
      if (!a.drain) {
        if (a.close) stop_reading(req);
        return send(a);
      }
      auto reader = std::make_shared<BodyReader>();
      reader->buf = req.body().streambuf();
      drain_body(reader, kDrainBytes).then([req, send, a](pplx::task<bool> t) mutable {
        bool whole = false;
        try {
          whole = t.get();
        } catch (...) {  // the client broke the body off: answer anyway
        }
        if (!whole) stop_reading(req);
        send(a);
      });
    };
    auto in = std::make_shared<HttpRequest>();
    const Route* route = nullptr;
    try {
      if (auto refused = check_head(req, *in, route)) return reply(*refused);
      if (!route) {  // a path we do not serve: the handler says so; its body is never read
        Answer a{call_handler(*in), has_body(req), {}};
        return reply(a);
      }
    } catch (...) {  // the framework threw on something the client sent
      return reply(refuse(400, "bad_request", "the request could not be read", true));
    }
    auto reader = std::make_shared<BodyReader>();
    reader->buf = req.body().streambuf();
    reader->limit = route->max_body_bytes;
    read_more(reader).then([this, in, reader, reply](pplx::task<void> t) mutable {
      Answer answer;
      try {
        t.get();
      } catch (...) {  // the client went away or broke the body off
        return reply(refuse(400, "bad_request", "the request body could not be read", true));
      }
      if (reader->over) {
        Answer a = refuse(413, "too_large", over_limit(reader->limit), true);
        a.drain = reader->bytes.size() < kDrainBytes;
        return reply(a);
      }
      in->body = std::move(reader->bytes);
      if (lower(in->header("content-encoding")) == "gzip") {
        auto inflated = platform::gunzip(in->body, reader->limit);
        if (!inflated) {
          bool too_large = inflated.error().code == ErrorCode::too_large;
          return reply(too_large ? refuse(413, "too_large", over_limit(reader->limit), false)
                                 : refuse(400, "bad_request", "the gzip request body is malformed", false));
        }
        in->body = std::move(inflated.value());
      }
      if (pool_) {  // the handler waits on the database: on our threads, not the framework's (P2)
        if (!pool_->submit([this, in, reply]() mutable {
              Answer queued;
              queued.response = call_handler(*in);
              reply(queued);
            }))
          reply(refuse(503, "unavailable", "the server is busy; retry shortly", false));
        return;
      }
      answer.response = call_handler(*in);
      reply(answer);
    }).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {
      }
    });
  }

  // A failing handler is the server's fault: 500 with code "server".
  HttpResponse call_handler(const HttpRequest& in) {
    try {
      return handler_(in);
    } catch (const std::exception& e) {
      return http_bounds::wire_error(500, "server", std::string("internal error: ") + e.what());
    } catch (...) {
      return http_bounds::wire_error(500, "server", "internal error");
    }
  }

  HttpServerConfig config_;
  Handler handler_;
  std::unique_ptr<http_listener> listener_;
  uint16_t port_ = 0;
  std::unique_ptr<HandlerPool> pool_;  // null: the handler runs on the framework's threads
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
  if (!config.tls && !is_loopback_address(config.host))
    return make_error(ErrorCode::invalid_argument, "plain HTTP listens on a loopback address only (127.0.0.1 or ::1) behind a "
                                                   "proxy that terminates TLS; '" + config.host + "' is not one");
  if (config.routes.empty()) return make_error(ErrorCode::invalid_argument, "the HTTP server needs at least one route");
  auto server = std::make_unique<CpprestServer>(config, std::move(handler));
  if (auto r = server->open(); !r) return r.error();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace hearth::server
