// Issue 7, "bounded work per request": the hostile input sent straight to a real hearth-server
// (TLS, as in development and the demo). What cpprestsdk's listener cannot bound itself (the
// request line and headers are read whole before the adapter sees them, one chunk of a chunked
// body is read whole, a half-sent request is never timed out: TOOLCHAIN.md P7, P7b) is bounded
// by nginx in production: see test_nginx.cpp.
#include <catch2/catch.hpp>

#include "hearth/platform/gzip.hpp"
#include "hostile.hpp"
#include "../support/raw_http.hpp"
#include "../support/server_process.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {
constexpr bool kTls = true;

void check_peak_growth(const ServerProcess& server, const Memory& before) {
  Memory after = memory_of(server.pid());
  INFO("peak RSS before " << before.peak_kb << " kB, after " << after.peak_kb << " kB");
  REQUIRE(after.peak_kb > 0);
  if (!hostile::kSanitized) CHECK(after.peak_kb - before.peak_kb < hostile::kMaxGrowthKb);
}
}  // namespace

TEST_CASE("Hostile input, direct: a 10 KB gzip of nested JSON to /v1/enrol without a credential", "[security][fault]") {
  ServerProcess server;
  std::string bomb = hostile::nested_json_gzip();
  CHECK(bomb.size() < 20000);
  Memory before = memory_of(server.pid());
  for (int i = 0; i < 3; ++i) {
    auto r = raw_exchange(server.port(), kTls,
                          http_request("POST", "/v1/enrol", bomb, "Content-Encoding: gzip\r\nContent-Type: application/json\r\n"));
    CHECK(r.status == 413);
    CHECK_THAT(r.body, Contains("\"code\":\"too_large\""));
  }
  check_peak_growth(server, before);
  // the plain (not compressed) equivalent is refused by its Content-Length
  auto plain = raw_exchange(server.port(), kTls, http_request("POST", "/v1/enrol", std::string(64 * 1024, '[')));
  CHECK(plain.status == 413);
  CHECK(raw_exchange(server.port(), kTls, http_request("GET", "/v1/health")).status == 200);
}

TEST_CASE("Hostile input, direct: TRACE and other methods get 405 without echoing the bearer token", "[security][fault]") {
  ServerProcess server;
  for (const char* method : {"TRACE", "OPTIONS", "PUT", "DELETE", "HEAD", "PATCH"}) {
    auto r = raw_exchange(server.port(), kTls, http_request(method, "/v1/pull", "", hostile::bearer(hostile::kBearer)));
    INFO(method);
    CHECK(r.status == 405);
    CHECK_THAT(r.head + r.body, !Contains(hostile::kBearer) && !Contains("Bearer"));
  }
}

TEST_CASE("Hostile input, direct: GET /%ff%fe and other undecodable paths get 400, never 5xx", "[security][fault]") {
  ServerProcess server;
  for (const char* path : {"/%ff%fe", "/v1/%ff%fe", "/%c0%ae%c0%ae/", "/%zz", "/v1/pull%00"}) {
    auto r = raw_exchange(server.port(), kTls, http_request("GET", path));
    INFO(path);
    CHECK(r.status == 400);
  }
  // a header that is not UTF-8 text (the server echoed the protocol version in its message)
  auto r = raw_exchange(server.port(), kTls, http_request("GET", "/v1/health", "", "Hearth-Protocol: \xff\xfe\r\n"));
  CHECK(r.status == 400);
  CHECK(raw_exchange(server.port(), kTls, http_request("GET", "/v1/health")).status == 200);
}

TEST_CASE("Hostile input, direct: 10,000 headers or a 4 MiB header get 431", "[security][fault]") {
  ServerProcess server;
  Memory before = memory_of(server.pid());
  auto many = raw_exchange(server.port(), kTls, http_request("GET", "/v1/health", "", hostile::many_headers(10000)));
  CHECK(many.status == 431);
  // cpprestsdk reads the 4 MiB line whole before the adapter can refuse it (TOOLCHAIN.md P7b);
  // the refusal keeps it from going further, and nginx refuses it after 8 KiB (test_nginx.cpp)
  auto big = raw_exchange(server.port(), kTls,
                          http_request("GET", "/v1/health", "", "X-Big: " + std::string(4u << 20, 'h') + "\r\n"));
  CHECK(big.status == 431);
  check_peak_growth(server, before);
}

TEST_CASE("Hostile input, direct: bodies over an endpoint's limit are not read further", "[security][fault]") {
  ServerProcess server;
  Memory before = memory_of(server.pid());
  SECTION("by Content-Length: 413 at once, the connection closed") {
    RawConnection c(server.port(), kTls);
    REQUIRE(c.send("POST /v1/push HTTP/1.1\r\nHost: localhost\r\nContent-Length: 209715200\r\n\r\n"));
    std::string piece(64 * 1024, 'x');
    for (int i = 0; i < 3200 && c.send(piece); ++i) {  // up to 200 MB, unless the server stops reading
    }
    auto r = c.read_reply(std::chrono::seconds(10));
    CHECK(r.status == 413);
    CHECK(r.bytes_sent < (100u << 20));
  }
  SECTION("chunked: 413 once past the limit") {
    RawConnection c(server.port(), kTls);
    REQUIRE(c.send("POST /v1/enrol HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
    for (int i = 0; i < 3200 && c.send(chunk); ++i) {
    }
    auto r = c.read_reply(std::chrono::seconds(10));
    CHECK(r.status == 413);
    CHECK(r.bytes_sent < (100u << 20));
  }
  check_peak_growth(server, before);
  CHECK(raw_exchange(server.port(), kTls, http_request("GET", "/v1/health")).status == 200);
}

TEST_CASE("Hostile input, direct: a pull naming 100,000 families is refused, with no audit row per family", "[security][fault]") {
  ServerProcess server;
  std::string token = hostile::enrol(server.port(), kTls, server.enrol_code("hv-1"), "hostile-puller");
  int64_t rows_before = hostile::audit_rows(server.db());
  std::string body = hostile::pull_naming(100000);
  auto plain = raw_exchange(server.port(), kTls, http_request("POST", "/v1/pull", body, hostile::bearer(token)));
  CHECK(plain.status == 413);
  auto zipped = raw_exchange(server.port(), kTls,
                             http_request("POST", "/v1/pull", platform::gzip(body),
                                          hostile::bearer(token) + "Content-Encoding: gzip\r\n"));
  CHECK(zipped.status == 413);
  CHECK(hostile::audit_rows(server.db()) - rows_before < 100);
}

// The bounds below are enforced by the protocol codec (JSON depth and element count while
// parsing, sync/protocol.hpp Limits) and by the pull use case (cursors bounded by the caseload),
// which other parts of issue 7 bring. [!mayfail] until those are merged: remove the tag then.
TEST_CASE("Hostile input, direct: a pull naming 30,000 families within the body limit is bounded by the caseload",
          "[security][fault][!mayfail]") {
  ServerProcess server;
  std::string token = hostile::enrol(server.port(), kTls, server.enrol_code("hv-1"), "hostile-puller");
  int64_t rows_before = hostile::audit_rows(server.db());
  std::string body = hostile::pull_naming(30000);
  REQUIRE(body.size() < 1000000);
  auto r = raw_exchange(server.port(), kTls, http_request("POST", "/v1/pull", body, hostile::bearer(token)));
  CHECK(r.status < 500);
  CHECK(hostile::audit_rows(server.db()) - rows_before < 100);
}

TEST_CASE("Hostile input, direct: deeply nested or huge JSON from an enrolled device is refused while parsing",
          "[security][fault][!mayfail]") {
  ServerProcess server;
  std::string token = hostile::enrol(server.port(), kTls, server.enrol_code("hv-1"), "hostile-pusher");
  Memory before = memory_of(server.pid());
  std::string nested = "{\"ops\":" + std::string(2000000, '[') + std::string(2000000, ']') + "}";
  auto deep = raw_exchange(server.port(), kTls,
                           http_request("POST", "/v1/push", platform::gzip(nested), hostile::bearer(token) + "Content-Encoding: gzip\r\n"));
  CHECK(deep.status >= 400);
  CHECK(deep.status < 500);
  std::string wide = "{\"ops\":[";
  for (int i = 0; i < 1500000; ++i) wide += i ? ",0" : "0";
  wide += "]}";
  auto many = raw_exchange(server.port(), kTls,
                           http_request("POST", "/v1/push", platform::gzip(wide), hostile::bearer(token) + "Content-Encoding: gzip\r\n"));
  CHECK(many.status >= 400);
  CHECK(many.status < 500);
  check_peak_growth(server, before);
}

TEST_CASE("hearth-server serves plain HTTP on loopback only, behind a proxy", "[security]") {
  ServerProcess server;  // TLS by itself stays the default
  CHECK_THAT(server.log(), Contains("\"tls\":true"));
  server.stop();
  std::string bin = build_binary("server/hearth-server");
  for (const char* host : {"0.0.0.0", "192.0.2.10", "::"}) {
    for (const char* mode : {"--behind-proxy", "--insecure-http"}) {
      auto r = run_process(bin, {"--data", server.data(), "serve", mode, "--host", host, "--port", "0"});
      INFO(mode << " " << host);
      CHECK(r.code == 1);
      CHECK_THAT(r.err, Contains("loopback"));
    }
  }
  // the same from the configuration file
  server.configure([](nlohmann::json& c) {
    c["behind_proxy"] = true;
    c["listen"] = "0.0.0.0";
  });
  auto r = run_process(bin, {"--data", server.data(), "serve", "--port", "0"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("loopback"));
}
