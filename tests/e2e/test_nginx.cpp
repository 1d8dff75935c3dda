// The supported production deployment (docs/deployment.md), tested with the hostile input of
// issue 7: a real nginx, configured from deploy/nginx/hearth.conf, terminating TLS with the
// development certificates on 127.0.0.1, in front of a real hearth-server on loopback plain HTTP
// (`serve --behind-proxy`). nginx bounds what cpprestsdk cannot (TOOLCHAIN.md P7, P7b).
//
// Run in the release pass of scripts/test.sh (the sanitizer pass leaves them out: its ctest call
// excludes names starting "nginx:"). Skipped when nginx is not installed, unless CI=true.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "hearth/client/store.hpp"
#include "hearth/client/sync_client.hpp"
#include "hearth/platform/gzip.hpp"
#include "hostile.hpp"
#include "../support/must.hpp"
#include "../support/nginx_process.hpp"
#include "../support/raw_http.hpp"
#include "../support/samples.hpp"
#include "../support/server_process.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

constexpr bool kTls = true;

// True when nginx is installed. Without it the test is skipped, except in CI, where a missing
// nginx is a failure (scripts/install-deps.sh installs it).
bool have_nginx() {
  if (!find_nginx().empty()) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") FAIL("nginx is not installed and CI=true: run scripts/install-deps.sh");
  WARN("nginx is not installed: skipping (apt-get install nginx)");
  return false;
}

// hearth-server behind nginx, both on 127.0.0.1.
struct Deployment {
  ServerProcess server{{"--behind-proxy"}};
  NginxProcess nginx{server.port(), server.data() + "/certs"};
  uint16_t port() const { return nginx.port(); }
  // The requests that reached hearth-server (its log has one JSON line per request).
  size_t backend_requests(const std::string& path) const {
    std::string log = server.log(), needle = "\"path\":\"" + path + "\"";
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
};

}  // namespace

TEST_CASE("nginx: a tablet enrols and syncs through nginx to hearth-server on loopback plain HTTP", "[security][nginx][e2e]") {
  if (!have_nginx()) return;
  Deployment d;
  CHECK_THAT(d.server.log(), Contains("\"behind_proxy\":true") && Contains("\"tls\":false"));
  // the health check, as an operator would run it
  auto health = raw_exchange(d.port(), kTls, http_request("GET", "/v1/health"));
  CHECK(health.status == 200);
  CHECK_THAT(health.body, Contains("\"status\":\"ok\""));
  CHECK(health.header("server") == "nginx");  // server_tokens off: no version

  TempDir dir;
  client::StoreOptions o;
  o.practitioner_id = "hv-1";
  o.pin = "2468";
  o.kdf = client::KdfParams{1u << 10, 8, 1};
  auto store = must(client::Store::open(dir.file("tablet.db"), std::move(o)));
  must(client::enrol(*store, d.nginx.url(), d.server.ca_pem(), d.server.enrol_code("hv-1")));
  must(store->create_family(family_fields()));
  auto t = must(client::transport_for(*store));
  auto report = must(client::sync(*store, *t));
  CHECK(report.pushed == 1);
  CHECK(d.backend_requests("/v1/push") >= 1);
}

TEST_CASE("nginx: hearth-server records the client's address, which the client cannot forge", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;  // nginx connects to hearth-server from 127.0.0.2 (the test configuration)
  auto r = raw_exchange(d.port(), kTls, http_request("POST", "/v1/pull", "{}", "X-Forwarded-For: 203.0.113.9\r\n"),
                        std::chrono::seconds(20), "127.0.0.3");
  CHECK(r.status == 401);
  std::string log = d.server.log();
  CHECK_THAT(log, Contains("\"remote\":\"127.0.0.3\""));  // the client, from X-Forwarded-For set by nginx
  CHECK_THAT(log, !Contains("203.0.113.9"));                 // not what the client claimed
  CHECK_THAT(log, !Contains("\"remote\":\"127.0.0.2\""));  // nor the proxy
}

TEST_CASE("nginx: a 10 KB gzip of nested JSON to /v1/enrol is refused and hearth-server's memory stays bounded",
          "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;
  Memory before = memory_of(d.server.pid());
  auto r = raw_exchange(d.port(), kTls, http_request("POST", "/v1/enrol", hostile::nested_json_gzip(), "Content-Encoding: gzip\r\n"));
  CHECK(r.status == 413);
  CHECK_THAT(r.body, Contains("\"code\":\"too_large\""));
  Memory after = memory_of(d.server.pid());
  INFO("hearth-server peak RSS before " << before.peak_kb << " kB, after " << after.peak_kb << " kB");
  REQUIRE(after.peak_kb > 0);
  if (!hostile::kSanitized) CHECK(after.peak_kb - before.peak_kb < hostile::kMaxGrowthKb);
}

TEST_CASE("nginx: 10,000 headers or a 4 MiB header are refused before reaching hearth-server", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;
  auto many = raw_exchange(d.port(), kTls, http_request("GET", "/v1/health", "", hostile::many_headers(10000)));
  CHECK(many.status >= 400);
  CHECK(many.status < 500);
  auto big = raw_exchange(d.port(), kTls, http_request("GET", "/v1/health", "", "X-Big: " + std::string(4u << 20, 'h') + "\r\n"));
  CHECK(big.status >= 400);
  CHECK(big.status < 500);
  CHECK(d.backend_requests("/v1/health") == 0);
}

TEST_CASE("nginx: TRACE gets 405 and never echoes the request or its bearer token", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;
  for (const char* method : {"TRACE", "OPTIONS", "PUT", "DELETE", "PATCH", "GET"}) {
    for (const char* path : {"/v1/push", "/v1/enrol"}) {
      auto r = raw_exchange(d.port(), kTls, http_request(method, path, "", hostile::bearer(hostile::kBearer)));
      INFO(method << " " << path);
      CHECK(r.status == 405);
      CHECK_THAT(r.head + r.body, !Contains(hostile::kBearer) && !Contains("Bearer"));
    }
  }
  auto post_health = raw_exchange(d.port(), kTls, http_request("POST", "/v1/health", "{}"));
  CHECK(post_health.status == 405);
  CHECK(d.backend_requests("/v1/push") + d.backend_requests("/v1/enrol") + d.backend_requests("/v1/health") == 0);
}

TEST_CASE("nginx: GET /%ff%fe and paths outside /v1 get 4xx, never 5xx", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;
  for (const char* path : {"/%ff%fe", "/v1/%ff%fe", "/", "/v2/pull", "/v1/push/../../etc/passwd", "/%zz", "/v1/pull%00"}) {
    auto r = raw_exchange(d.port(), kTls, http_request("GET", path));
    INFO(path);
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
  }
}

TEST_CASE("nginx: a chunked body over the limit gets 413 without reaching hearth-server", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;
  for (const char* path : {"/v1/push", "/v1/enrol"}) {
    RawConnection c(d.port(), kTls);
    REQUIRE(c.send(std::string("POST ") + path + " HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n" +
                   hostile::bearer(hostile::kBearer) + "\r\n"));
    std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
    for (int i = 0; i < 320 && c.send(chunk); ++i) {  // up to 20 MiB, unless nginx stops reading
    }
    c.send("0\r\n\r\n");
    auto r = c.read_reply(std::chrono::seconds(15));
    INFO(path << ": " << r.head << r.body << "\n" << d.nginx.error_log());
    CHECK(r.status == 413);
    CHECK_THAT(r.body, Contains("\"code\":\"too_large\""));
    CHECK(d.backend_requests(path) == 0);
  }
}

TEST_CASE("nginx: a half-sent request is dropped after the client timeout", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;  // the test configuration shortens the 10 s client timeouts to 2 s
  SECTION("half the headers") {
    RawConnection c(d.port(), kTls);
    REQUIRE(c.send("POST /v1/push HTTP/1.1\r\nHost: localhost\r\nContent-Le"));
    auto r = c.read_reply(std::chrono::seconds(15), false);
    CHECK(r.closed);
    CHECK(r.seconds < 12);
  }
  SECTION("half the body") {
    RawConnection c(d.port(), kTls);
    REQUIRE(c.send("POST /v1/enrol HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"code\":"));
    auto r = c.read_reply(std::chrono::seconds(15), false);
    CHECK(r.closed);
    CHECK(r.seconds < 12);
  }
  CHECK(d.backend_requests("/v1/push") + d.backend_requests("/v1/enrol") == 0);
  CHECK(raw_exchange(d.port(), kTls, http_request("GET", "/v1/health")).status == 200);  // still serving
}

TEST_CASE("nginx: a pull naming 100,000 families gets 4xx and writes no audit row per family", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;
  std::string token = hostile::enrol(d.port(), kTls, d.server.enrol_code("hv-1"), "hostile-puller");
  int64_t rows_before = hostile::audit_rows(d.server.db());
  std::string body = hostile::pull_naming(100000);
  auto plain = raw_exchange(d.port(), kTls, http_request("POST", "/v1/pull", body, hostile::bearer(token)));
  CHECK(plain.status >= 400);
  CHECK(plain.status < 500);
  auto zipped = raw_exchange(d.port(), kTls, http_request("POST", "/v1/pull", platform::gzip(body),
                                                          hostile::bearer(token) + "Content-Encoding: gzip\r\n"));
  CHECK(zipped.status >= 400);
  CHECK(zipped.status < 500);
  CHECK(hostile::audit_rows(d.server.db()) - rows_before < 100);
}

TEST_CASE("nginx: enrolment attempts from one address are rate-limited", "[security][nginx]") {
  if (!have_nginx()) return;
  Deployment d;
  int limited = 0, refused = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = raw_exchange(d.port(), kTls, http_request("POST", "/v1/enrol", "{\"code\":\"guess-" + std::to_string(i) + "\",\"device_id\":\"d\"}"));
    if (r.status == 429) ++limited;
    if (r.status == 401) ++refused;
  }
  CHECK(refused >= 1);   // the first attempts reach hearth-server, which refuses the wrong codes
  CHECK(limited >= 10);  // then nginx answers for it
  CHECK(d.backend_requests("/v1/enrol") <= 10);
}
