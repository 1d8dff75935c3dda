// The HTTP adapter over cpprestsdk (server/src/http/cpprest_server.cpp), in process, plain HTTP
// on 127.0.0.1: the decisions TOOLCHAIN.md §3 asks for, and the bounds on every request
// (issue 7, "bounded work per request"), each tested with the hostile input the issue names.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>
#include <mutex>
#include <stdexcept>

#include "hearth/client/transport.hpp"
#include "hearth/platform/encoding.hpp"
#include "hearth/platform/gzip.hpp"
#include "hearth/server/http.hpp"
#include "../support/must.hpp"
#include "../support/raw_http.hpp"

using namespace hearth;
using hearth::test::must;
using hearth::test::raw_exchange;
using hearth::test::http_request;
using Catch::Matchers::Contains;

namespace {
std::unique_ptr<client::Transport> client_for(uint16_t port) {
  client::CurlOptions o{"http://127.0.0.1:" + std::to_string(port), ""};
  o.allow_plain_http = true;
  return must(client::make_curl_transport(o));
}

// A server with the /v1 routes whose handler records what reached it.
struct Recorder {
  std::mutex m;
  std::vector<server::HttpRequest> seen;
  std::unique_ptr<server::HttpServer> srv;
  explicit Recorder(bool trust_forwarded_for = false) {
    server::init_http_runtime(2);
    server::HttpServerConfig config;
    config.tls = false;
    config.trust_forwarded_for = trust_forwarded_for;
    srv = must(server::start_http_server(config, [this](const server::HttpRequest& r) {
      std::lock_guard<std::mutex> lock(m);
      seen.push_back(r);
      bool known = r.path.rfind("/v1/", 0) == 0;
      return server::HttpResponse{known ? 200 : 404, "{\"bytes\":" + std::to_string(r.body.size()) + "}", "application/json"};
    }));
  }
  size_t calls() {
    std::lock_guard<std::mutex> lock(m);
    return seen.size();
  }
  server::HttpRequest last() {
    std::lock_guard<std::mutex> lock(m);
    return seen.back();
  }
  uint16_t port() const { return srv->port(); }
};

const std::string kToken = "Authorization: Bearer 5ecret-device-token-0123456789\r\n";
}  // namespace

TEST_CASE("HTTP adapter: a failing handler answers 500, bodies over the limit are refused, serving goes on", "[e2e][fault]") {
  server::init_http_runtime(2);
  server::HttpServerConfig config;
  config.tls = false;
  config.routes = {{"POST", "/throw", 64 * 1024}, {"POST", "/echo", 64 * 1024}};
  auto srv = must(server::start_http_server(config, [](const server::HttpRequest& r) -> server::HttpResponse {
    if (r.path == "/throw") throw std::runtime_error("handler failed on purpose");
    return server::HttpResponse{200, "{\"bytes\":" + std::to_string(r.body.size()) + "}", "application/json"};
  }));
  REQUIRE(srv->port() != 0);
  auto c = client_for(srv->port());

  auto thrown = must(c->post("/throw", "{}", ""));
  CHECK(thrown.status == 500);
  CHECK_THAT(thrown.body, Contains("handler failed on purpose") && Contains("\"code\":\"server\""));

  // random text does not compress: the Content-Length is over the limit, 413 before processing
  auto big = must(c->post("/echo", must(platform::random_hex(100 * 1024)), ""));
  CHECK(big.status == 413);
  CHECK_THAT(big.body, Contains("\"code\":\"too_large\""));
  // far over the socket buffers: the body is read and dropped, so the client, still sending
  // when the answer is ready, receives the 413 rather than a reset ("broken pipe")
  for (int i = 0; i < 3; ++i) {
    auto huge = must(c->post("/echo", must(platform::random_hex(450 * 1024)), ""));
    CHECK(huge.status == 413);
  }
  // a small gzip body that inflates past the limit is refused too
  auto bomb = must(c->post("/echo", std::string(10u * 1024 * 1024, 'a'), ""));
  CHECK(bomb.status == 413);
  CHECK_THAT(bomb.body, Contains("limit of 65536 bytes"));

  auto fine = must(c->post("/echo", std::string(1000, 'b'), ""));
  CHECK(fine.status == 200);
  CHECK(fine.body == "{\"bytes\":1000}");  // inflated by the adapter before the handler sees it
  srv->stop();
  srv->stop();  // idempotent
  CHECK_FALSE(c->post("/echo", "{}", "").ok());  // and really closed
}

TEST_CASE("HTTP adapter: plain HTTP listens on loopback only", "[security]") {
  server::init_http_runtime(2);
  CHECK(server::is_loopback_address("127.0.0.1"));
  CHECK(server::is_loopback_address("127.3.2.1"));
  CHECK(server::is_loopback_address("::1"));
  CHECK(server::is_loopback_address("localhost"));
  CHECK_FALSE(server::is_loopback_address("0.0.0.0"));
  CHECK_FALSE(server::is_loopback_address("::"));
  CHECK_FALSE(server::is_loopback_address("10.0.0.1"));
  CHECK_FALSE(server::is_loopback_address("128.0.0.1"));
  server::HttpServerConfig config;
  config.tls = false;
  config.host = "0.0.0.0";
  auto refused = server::start_http_server(config, [](const server::HttpRequest&) { return server::HttpResponse{}; });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::invalid_argument);
  CHECK_THAT(refused.error().message, Contains("loopback"));
  config.host = "127.0.0.1";
  config.routes.clear();
  CHECK_FALSE(server::start_http_server(config, [](const server::HttpRequest&) { return server::HttpResponse{}; }).ok());
}

TEST_CASE("HTTP adapter: methods outside the allow-list get 405 and nothing is echoed", "[security][fault]") {
  Recorder rec;
  // TRACE would echo the request, bearer token included
  for (const char* method : {"TRACE", "OPTIONS", "PUT", "DELETE", "HEAD", "PATCH", "CONNECT"}) {
    for (const char* path : {"/v1/push", "/v1/health", "/anything"}) {
      auto r = raw_exchange(rec.port(), false, http_request(method, path, "", kToken));
      INFO(method << " " << path);
      CHECK(r.status == 405);
      CHECK_THAT(r.head + r.body, !Contains("5ecret") && !Contains(method) && !Contains(path));
    }
  }
  auto get_push = raw_exchange(rec.port(), false, http_request("GET", "/v1/push", "", kToken));
  CHECK(get_push.status == 405);
  CHECK(get_push.header("allow") == "POST");
  CHECK_THAT(get_push.body, Contains("\"code\":\"method\""));
  auto post_health = raw_exchange(rec.port(), false, http_request("POST", "/v1/health", "{}"));
  CHECK(post_health.status == 405);
  CHECK(post_health.header("allow") == "GET");
  CHECK(rec.calls() == 0);  // none of them reached the handler
  auto health = raw_exchange(rec.port(), false, http_request("GET", "/v1/health"));
  CHECK(health.status == 200);
  CHECK(rec.calls() == 1);
}

TEST_CASE("HTTP adapter: a path that is not valid percent-encoded UTF-8 gets 400, never 5xx", "[security][fault]") {
  Recorder rec;
  for (const char* path : {"/%ff%fe", "/v1/%ff", "/v1/pu%C0%AFsh", "/v1/%00health", "/%ed%a0%80",
                           "/v1/pull%0d%0aX-Injected:%201"}) {
    for (const char* method : {"GET", "POST"}) {
      auto r = raw_exchange(rec.port(), false, http_request(method, path, method[0] == 'P' ? "{}" : ""));
      INFO(method << " " << path);
      CHECK(r.status == 400);
      CHECK_THAT(r.body, Contains("\"code\":\"bad_request\""));
    }
  }
  // not a URI at all: the listener answers 400 itself (no JSON body) before the adapter is called
  for (const char* path : {"/%", "/%zz"}) CHECK(raw_exchange(rec.port(), false, http_request("GET", path)).status == 400);
  std::string long_path = "/v1/" + std::string(5000, 'a');
  CHECK(raw_exchange(rec.port(), false, http_request("GET", long_path)).status == 414);
  CHECK(rec.calls() == 0);
  // valid percent-encoding is decoded before the handler sees it
  CHECK(raw_exchange(rec.port(), false, http_request("GET", "/v1/h%65alth")).status == 200);
  CHECK(rec.last().path == "/v1/health");
  // a path we do not serve reaches the handler (it says what it serves) without its body
  auto unknown = raw_exchange(rec.port(), false, http_request("POST", "/v2/pull", std::string(3000, 'x')));
  CHECK(unknown.status == 404);
  CHECK(rec.last().path == "/v2/pull");
  CHECK(rec.last().body.empty());
}

TEST_CASE("HTTP adapter: too many or too large headers get 431", "[security][fault]") {
  Recorder rec;
  std::string many;
  for (int i = 0; i < 10000; ++i) many += "X-Filler-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
  auto r = raw_exchange(rec.port(), false, http_request("GET", "/v1/health", "", many));
  CHECK(r.status == 431);
  CHECK_THAT(r.body, Contains("\"code\":\"too_large\""));
  // the same name 10,000 times: the listener joins them into one value
  std::string repeated;
  for (int i = 0; i < 10000; ++i) repeated += "X-Same: 1\r\n";
  CHECK(raw_exchange(rec.port(), false, http_request("GET", "/v1/health", "", repeated)).status == 431);
  // one header of 4 MiB (cpprestsdk buffers it whole before the adapter sees it: TOOLCHAIN.md P7b)
  auto huge = raw_exchange(rec.port(), false, http_request("GET", "/v1/health", "", "X-Big: " + std::string(4u << 20, 'h') + "\r\n"));
  CHECK(huge.status == 431);
  // a header value that is not UTF-8 text
  CHECK(raw_exchange(rec.port(), false, http_request("GET", "/v1/health", "", "Hearth-Protocol: \xff\xfe\r\n")).status == 400);
  CHECK(rec.calls() == 0);
}

TEST_CASE("HTTP adapter: each endpoint's body limit holds before the body is read or inflated", "[security][fault]") {
  Recorder rec;
  sync::protocol::Limits limits;
  SECTION("Content-Length over the enrolment limit: 413 and the connection is closed") {
    auto r = raw_exchange(rec.port(), false, http_request("POST", "/v1/enrol", std::string(limits.enrol_bytes + 1, '{')));
    CHECK(r.status == 413);
    CHECK(r.header("connection") == "close");
    CHECK_THAT(r.body, Contains("\"code\":\"too_large\"") && Contains(std::to_string(limits.enrol_bytes)));
    CHECK(rec.calls() == 0);
  }
  SECTION("a 10 KB gzip of nested JSON to /v1/enrol is refused while inflating") {
    std::string nested = std::string(4000000, '[') + std::string(4000000, ']');
    std::string z = platform::gzip(nested, 9);  // the smallest bomb zlib makes
    CHECK(z.size() < 20000);
    auto r = raw_exchange(rec.port(), false, http_request("POST", "/v1/enrol", z, "Content-Encoding: gzip\r\n"));
    CHECK(r.status == 413);
    CHECK(rec.calls() == 0);
  }
  SECTION("a chunked body over the limit: 413, and the server stops reading it") {
    test::RawConnection c(rec.port(), false);
    REQUIRE(c.send("POST /v1/enrol HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::string chunk = "1000\r\n" + std::string(0x1000, 'a') + "\r\n";
    for (int i = 0; i < 64 * 256 && c.send(chunk); ++i) {  // up to 64 MiB, unless the server stops reading
    }
    auto r = c.read_reply(std::chrono::seconds(10));
    CHECK(r.status == 413);
    CHECK(r.bytes_sent < (32u << 20));  // it stopped reading long before the end
    CHECK(rec.calls() == 0);
  }
  SECTION("within the limits, gzip or not, the handler gets the inflated body") {
    std::string body = "{\"code\":\"abc\",\"device_id\":\"d1\"}";
    CHECK(raw_exchange(rec.port(), false, http_request("POST", "/v1/enrol", body)).status == 200);
    CHECK(rec.last().body == body);
    std::string push(limits.push_bytes, ' ');
    CHECK(raw_exchange(rec.port(), false, http_request("POST", "/v1/push", platform::gzip(push), "Content-Encoding: gzip\r\n")).status == 200);
    CHECK(rec.last().body.size() == limits.push_bytes);
    CHECK(raw_exchange(rec.port(), false, http_request("POST", "/v1/push", platform::gzip(push + " "), "Content-Encoding: gzip\r\n")).status == 413);
    CHECK(raw_exchange(rec.port(), false, http_request("POST", "/v1/pull", std::string(server::kPullBodyBytes + 1, ' '))).status == 413);
    CHECK(raw_exchange(rec.port(), false, http_request("POST", "/v1/push", "not gzip", "Content-Encoding: gzip\r\n")).status == 400);
  }
  // the server is still serving
  CHECK(raw_exchange(rec.port(), false, http_request("GET", "/v1/health")).status == 200);
}

TEST_CASE("HTTP adapter: X-Forwarded-For names the client only behind a proxy on loopback", "[security]") {
  {
    Recorder direct(false);
    CHECK(raw_exchange(direct.port(), false, http_request("GET", "/v1/health", "", "X-Forwarded-For: 203.0.113.7\r\n")).status == 200);
    CHECK(direct.last().remote == "127.0.0.1");
  }
  Recorder proxied(true);
  CHECK(raw_exchange(proxied.port(), false, http_request("GET", "/v1/health", "", "X-Forwarded-For: 203.0.113.7\r\n")).status == 200);
  CHECK(proxied.last().remote == "203.0.113.7");
  // nginx sets the header to the client's address; a forged earlier entry does not count
  raw_exchange(proxied.port(), false, http_request("GET", "/v1/health", "", "X-Forwarded-For: 10.9.9.9, 2001:db8::5\r\n"));
  CHECK(proxied.last().remote == "2001:db8::5");
  raw_exchange(proxied.port(), false, http_request("GET", "/v1/health", "", "X-Forwarded-For: not-an-address\r\n"));
  CHECK(proxied.last().remote == "127.0.0.1");
}

TEST_CASE("HTTP adapter: handlers run on threads of their own behind a bounded queue, beyond it 503 with Retry-After",
          "[e2e][fault]") {
  server::init_http_runtime(2);
  server::HttpServerConfig config;
  config.tls = false;
  config.routes = {{"POST", "/work", 1024}};
  config.handler_threads = 1;
  config.handler_queue = 1;
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};
  auto srv = must(server::start_http_server(config, [&](const server::HttpRequest&) {
    ++calls;
    std::unique_lock<std::mutex> lock(m);
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return open; });  // the database, slow today
    return server::HttpResponse{200, "{}", "application/json"};
  }));
  std::string request = http_request("POST", "/work", "{}");
  auto send = [&] { return raw_exchange(srv->port(), false, request); };
  // The first request holds the only handler thread.
  auto first = std::async(std::launch::async, send);
  for (int i = 0; i < 400 && calls.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(calls.load() == 1);
  // Of four more, one waits in the queue; the other three are answered at once.
  std::vector<std::future<test::RawReply>> more;
  for (int i = 0; i < 4; ++i) more.push_back(std::async(std::launch::async, send));
  int busy = 0;
  for (int i = 0; i < 400 && busy < 3; ++i) {
    busy = 0;
    for (auto& f : more)
      if (f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) ++busy;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(busy == 3);
  {
    std::lock_guard<std::mutex> lock(m);
    open = true;
  }
  cv.notify_all();
  CHECK(first.get().status == 200);
  int ok = 0, refused = 0;
  for (auto& f : more) {
    auto r = f.get();
    if (r.status == 200) ++ok;
    if (r.status == 503) {
      ++refused;
      CHECK(r.header("Retry-After") == "1");
      CHECK_THAT(r.body, Contains("\"code\":\"unavailable\""));
    }
  }
  CHECK(ok == 1);
  CHECK(refused == 3);
  CHECK(calls.load() == 2);  // a refused request never reached the handler
  srv->stop();
}
