// The HTTP adapter over cpprestsdk (server/src/http/cpprest_server.cpp), in process, plain HTTP
// on 127.0.0.1: the decisions TOOLCHAIN.md §3 asks for, each tested.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "hearth/client/transport.hpp"
#include "hearth/platform/encoding.hpp"
#include "hearth/server/http.hpp"
#include "../support/must.hpp"

using namespace hearth;
using hearth::test::must;
using Catch::Matchers::Contains;

namespace {
std::unique_ptr<client::Transport> client_for(uint16_t port) {
  client::CurlOptions o{"http://127.0.0.1:" + std::to_string(port), ""};
  o.allow_plain_http = true;
  return must(client::make_curl_transport(o));
}
}  // namespace

TEST_CASE("HTTP adapter: a failing handler answers 500, bodies over the limit are refused, serving goes on", "[e2e][fault]") {
  server::init_http_runtime(2);
  server::HttpServerConfig config;
  config.tls = false;
  config.max_body_bytes = 64 * 1024;
  auto srv = must(server::start_http_server(config, [](const server::HttpRequest& r) -> server::HttpResponse {
    if (r.path == "/throw") throw std::runtime_error("handler failed on purpose");
    return server::HttpResponse{200, "{\"bytes\":" + std::to_string(r.body.size()) + "}", "application/json"};
  }));
  REQUIRE(srv->port() != 0);
  auto c = client_for(srv->port());

  auto thrown = must(c->post("/throw", "{}", ""));
  CHECK(thrown.status == 500);
  CHECK_THAT(thrown.body, Contains("handler failed on purpose"));

  // random text does not compress: the Content-Length is over the limit, 413 before processing
  auto big = must(c->post("/echo", must(platform::random_hex(100 * 1024)), ""));
  CHECK(big.status == 413);
  // a small gzip body that inflates past the limit is refused too
  auto bomb = must(c->post("/echo", std::string(10u * 1024 * 1024, 'a'), ""));
  CHECK(bomb.status >= 400);
  CHECK(bomb.status < 500);
  CHECK_THAT(bomb.body, Contains("over the size limit"));

  auto fine = must(c->post("/echo", std::string(1000, 'b'), ""));
  CHECK(fine.status == 200);
  CHECK(fine.body == "{\"bytes\":1000}");  // inflated by the adapter before the handler sees it
  srv->stop();
  srv->stop();  // idempotent
  CHECK_FALSE(c->post("/echo", "{}", "").ok());  // and really closed
}
