// Framed op batches between a device and the sync service (docs/protocol.md, "Framed op
// batches"): negotiated per request, so framed and JSON devices share one server, and a
// malformed frame is a 400 naming what is wrong.
#include <catch2/catch.hpp>

#include "hearth/sync/protocol.hpp"
#include "../support/loopback_transport.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::test;
namespace wire = hearth::sync::protocol;

TEST_CASE("Frames: a framed device and a JSON device sync through one server and converge", "[protocol]") {
  LoopbackServer server;
  LoopbackDevice framed(server, "hv-1");
  framed.transport->frames = true;
  size_t framed_pushes = 0, framed_pulls = 0, json_pulls = 0;
  framed.transport->observe = [&](const std::string& path, const client::HttpReply& reply) {
    if (path == "/v1/pull" && reply.status == 200) (wire::is_frames_type(reply.content_type) ? framed_pulls : json_pulls)++;
  };
  framed.transport->rewrite = [&](const std::string& path, std::string& body) {
    if (path == "/v1/push" && body.rfind("HFR1", 0) == 0) ++framed_pushes;
  };
  std::string fam = must(framed.store->create_family(family_fields()));
  must(framed.store->create(fam, "Contact", contact_fields("2026-11-20T10:00:00Z", "a visit")));
  framed.sync();
  CHECK(framed_pushes >= 1);  // the enrolment answer said the server reads frames
  CHECK(framed_pulls >= 1);
  CHECK(json_pulls == 0);

  server.allocate(fam, "tm-1");
  LoopbackDevice plain(server, "tm-1");  // speaks JSON only (an older tablet)
  size_t plain_framed = 0;
  plain.transport->observe = [&](const std::string&, const client::HttpReply& reply) {
    if (wire::is_frames_type(reply.content_type)) ++plain_framed;
  };
  plain.sync();
  must(plain.store->create(fam, "Contact", contact_fields("2026-11-21T10:00:00Z", "another visit")));
  plain.sync();
  framed.sync();
  CHECK(plain_framed == 0);
  CHECK(framed.family_json(fam) == plain.family_json(fam));
}

TEST_CASE("Frames: a malformed framed push is a 400 naming what is wrong", "[protocol][security]") {
  LoopbackServer server;
  LoopbackDevice d(server, "hv-1");
  must(d.store->create_family(family_fields()));
  d.transport->frames = true;
  d.transport->rewrite = [](const std::string& path, std::string& body) {
    if (path == "/v1/push" && body.rfind("HFR1", 0) == 0) body.resize(body.size() - 3);  // the last op cut short
  };
  std::string refused;
  d.transport->observe = [&](const std::string& path, const client::HttpReply& reply) {
    if (path == "/v1/push") refused = std::to_string(reply.status) + " " + reply.body;
  };
  auto r = d.try_sync();
  CHECK_THAT(refused, Catch::StartsWith("400"));
  CHECK_THAT(refused, Catch::Contains("framed body is malformed"));
  CHECK_THAT(refused, Catch::Contains("bad_request"));
  CHECK(d.store->status().value().unsynced > 0);  // nothing is lost: the ops stay queued
}
