// A pull does not send a device its own ops back in a family it holds under the same view
// (server/src/usecases/pull.cpp): its cursor moves past them. A family it receives afresh (new
// to it, a view change, a cursor it no longer holds) brings them again.
#include <catch2/catch.hpp>

#include "hearth/sync/encoding.hpp"
#include "hearth/sync/protocol.hpp"
#include "../support/loopback_transport.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::test;
namespace wire = hearth::sync::protocol;

namespace {

// What the last pull answer held for one family: ops by author device, and the cursor.
struct Seen {
  bool page = false;
  bool purged = false;
  size_t own = 0;
  size_t others = 0;
  int64_t cursor = 0;
};

void watch(LoopbackDevice& d, const std::string& family, Seen& seen) {
  d.transport->observe = [&d, family, &seen](const std::string& path, const client::HttpReply& reply) {
    if (path != "/v1/pull" || reply.status != 200) return;
    auto r = must(wire::decode_pull_reply(reply.body));
    if (!r.changed) return;  // a probe's answer
    seen = Seen{};
    for (const auto& p : r.purge) seen.purged = seen.purged || p == family;
    for (const auto& page : r.families) {
      if (page.family != family) continue;
      seen.page = true;
      seen.cursor = page.cursor;
      for (const auto& bytes : page.ops) {
        auto op = must(sync::decode(bytes));
        (op.id.device == d.store->device_id() ? seen.own : seen.others) += 1;
      }
    }
  };
}

}  // namespace

TEST_CASE("Pull: the pusher does not receive its own ops back in a family it holds under the same view", "[protocol]") {
  LoopbackServer server;
  LoopbackDevice a(server, "hv-1");
  std::string fam = must(a.store->create_family(family_fields()));
  a.sync();  // a family made on the device is new to it at the server: it comes back once, whole

  Seen seen;
  watch(a, fam, seen);
  for (int i = 0; i < 3; ++i) must(a.store->create(fam, "Contact", contact_fields("2026-11-20T10:00:00Z", "visit " + std::to_string(i))));
  auto report = a.sync();
  CHECK(report.pushed >= 3);
  CHECK(seen.page);      // the page moves the cursor past the device's own ops...
  CHECK(seen.own == 0);  // ...without sending them
  CHECK(seen.cursor > 0);

  // The cursor moved: the next full pull reads nothing of the family.
  seen = Seen{};
  a.transport->rewrite = [](const std::string& path, std::string& body) {  // no probe: a full pull
    if (path != "/v1/pull") return;
    auto req = must(wire::decode_pull_request(body));
    req.probe = false;
    req.feed_version.reset();
    body = wire::encode(req);
  };
  a.sync();
  CHECK_FALSE(seen.page);

  // A colleague's ops still arrive, and the colleague receives the device's.
  server.allocate(fam, "tm-1");
  LoopbackDevice b(server, "tm-1");
  Seen seen_b;
  watch(b, fam, seen_b);
  b.sync();
  CHECK(seen_b.others >= 4);  // the family and the three visits, all a's
  must(b.store->create(fam, "Contact", contact_fields("2026-11-21T10:00:00Z", "b's visit")));
  b.sync();
  CHECK(seen_b.own == 0);
  a.sync();
  CHECK(seen.others >= 1);  // b's visit (and the office's allocation of tm-1)
  CHECK(seen.own == 0);
  CHECK(a.family_json(fam) == b.family_json(fam));
}

TEST_CASE("Pull: a device receives its own ops again when it receives a family afresh", "[protocol]") {
  LoopbackServer server;
  LoopbackDevice a(server, "hv-1");
  std::string fam = must(a.store->create_family(family_fields()));
  must(a.store->create(fam, "Contact", contact_fields("2026-11-20T10:00:00Z", "a visit")));
  a.sync();
  Seen seen;
  watch(a, fam, seen);

  // The device asks for the family from cursor 0 (so the server reads its whole log).
  SECTION("from cursor 0 under the view the device holds: its own ops are still skipped") {
    a.transport->rewrite = [fam](const std::string& path, std::string& body) {
      if (path != "/v1/pull") return;
      auto req = must(wire::decode_pull_request(body));
      if (req.probe) return;
      req.cursors[fam] = 0;
      body = wire::encode(req);
    };
    must(a.store->create(fam, "Contact", contact_fields("2026-11-21T10:00:00Z", "another visit")));
    a.sync();
    CHECK_FALSE(seen.purged);
    CHECK(seen.page);
    CHECK(seen.own == 0);
  }
  SECTION("a view the device holds that is not the current one: purged and sent whole") {
    a.transport->rewrite = [fam](const std::string& path, std::string& body) {
      if (path != "/v1/pull") return;
      auto req = must(wire::decode_pull_request(body));
      req.probe = false;
      req.feed_version.reset();
      req.cursors[fam] = 0;
      req.views[fam] = "an-older-view";
      body = wire::encode(req);
    };
    a.sync();
    CHECK(seen.purged);
    CHECK(seen.page);
    CHECK(seen.own >= 2);
  }
  SECTION("a cursor the device does not send (it no longer holds the family): sent whole") {
    a.transport->rewrite = [fam](const std::string& path, std::string& body) {
      if (path != "/v1/pull") return;
      auto req = must(wire::decode_pull_request(body));
      req.probe = false;
      req.feed_version.reset();
      req.cursors.erase(fam);
      req.views.erase(fam);
      body = wire::encode(req);
    };
    a.sync();
    CHECK_FALSE(seen.purged);
    CHECK(seen.page);
    CHECK(seen.own >= 2);
  }
  SECTION("a second device of the same practitioner receives everything") {
    LoopbackDevice a2(server, "hv-1");
    a2.sync();
    CHECK(must(a2.store->families()).size() == 1);
    CHECK(a2.family_json(fam) == a.family_json(fam));
  }
}
