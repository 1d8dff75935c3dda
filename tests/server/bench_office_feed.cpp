// Benchmark, not a test (hidden: run `hearth_tests "[.office-bench]"`; it asserts nothing about
// speed). Issue 10 part 8: export throughput of the office outbox in records per second, on a
// generated dataset sealed at rest: the pull feed read in pages of 500 and acknowledged, and the
// repeater delivering one item per post to an office answering at once in process (so the
// figure is the server's side: a real office adds its own latency per post).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "service_harness.hpp"
#include "usecases/office.hpp"
#include "usecases/office_feed.hpp"
#include "usecases/office_repeater.hpp"

using namespace hearth;
using namespace hearth::test;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("Benchmark: office export throughput, pull feed and repeater", "[.office-bench]") {
  const int families = 200, contacts = 20;  // 200 families x (family, 2 persons, referral, 20 contacts)
  TempDir keydir;
  auto ring = must(server::SqlKeyring::open(keydir.file("keyring.db"),
                                               must(server::keys::FileKek::from_secret(std::string(32, 'k'), "bench KEK"))));
  ServiceHarness h(std::shared_ptr<server::ServerKeys>(std::move(ring)));
  Device hv(h, "dev-hv", "hv-1");
  auto t0 = std::chrono::steady_clock::now();
  size_t pushed = 0;
  for (int f = 0; f < families; ++f) {
    const std::string fam = "fam-" + std::to_string(f);
    std::vector<sync::Op> ops{must(hv.replica.create(fam, "Family", fam, family_fields())),
                              must(hv.replica.create(fam, "Person", fam + "-m", person_fields("M", "1990-01-01"))),
                              must(hv.replica.create(fam, "Person", fam + "-c", person_fields("C", "2021-01-01"))),
                              must(hv.replica.create(fam, "Referral", fam + "-r", referral_fields()))};
    for (int c = 0; c < contacts; ++c)
      ops.push_back(must(hv.replica.create(fam, "Contact", fam + "-c" + std::to_string(c),
                                           contact_fields("2026-11-23T10:00:00Z", "Visit note number " + std::to_string(c)))));
    pushed += ops.size();
    for (const auto& r : hv.push(ops)) REQUIRE(r.status == sync::protocol::OpStatus::accepted);
  }
  const double push_s = seconds_since(t0);
  const int64_t queued = must(h.store->outbox().counts()).queued;
  REQUIRE(queued >= static_cast<int64_t>(pushed));

  // The pull feed: pages of 500, each acknowledged with an office id.
  std::string token = must(h.service.with_context(
      [](server::ServiceContext& ctx) { return server::issue_office_credential(ctx, "bench-office"); }));
  t0 = std::chrono::steady_clock::now();
  int64_t cursor = 0;
  size_t read = 0;
  for (int page = 0; page < 10000; ++page) {  // bounded
    auto r = h.post(server::kOfficeFeedPath, nlohmann::json{{"after", cursor}, {"limit", 500}}.dump(), token);
    REQUIRE(r.status == 200);
    auto j = nlohmann::json::parse(r.body);
    nlohmann::json acks = nlohmann::json::array();
    for (const auto& item : j["items"]) acks.push_back({{"key", item["key"]}, {"office_ref", "EHM-" + item["record"].get<std::string>()}});
    read += j["items"].size();
    if (!acks.empty()) REQUIRE(h.post(server::kOfficeFeedAckPath, nlohmann::json{{"acks", acks}}.dump(), token).status == 200);
    cursor = j["next_cursor"].get<int64_t>();
    if (!j["more"].get<bool>()) break;
  }
  const double pull_s = seconds_since(t0);
  CHECK(read == static_cast<size_t>(queued));

  // The repeater: one post per item, the office answering 200 at once.
  server::RepeaterConfig config;
  config.url = "https://office.invalid/items";
  size_t posts = 0;
  server::OfficePoster post = [&](const server::HttpPostRequest&) -> Result<server::HttpPostReply> {
    ++posts;
    return server::HttpPostReply{200, R"({"office_ref": "EHM-1"})"};
  };
  t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < pushed * 2 + 10; ++i) {  // bounded
    auto d = must(server::deliver_once(h.service, config, post));
    if (d.outcome == server::Delivery::Outcome::idle) break;
  }
  const double push_out_s = seconds_since(t0);
  CHECK(posts == static_cast<size_t>(queued));

  std::printf("office export, %d families, %lld items (sealed at rest):\n", families, static_cast<long long>(queued));
  std::printf("  accepting the ops with their outbox items: %.0f ops/s (%.2f s)\n", static_cast<double>(pushed) / push_s, push_s);
  std::printf("  pull feed (pages of 500, acknowledged):     %.0f records/s (%.2f s)\n",
              static_cast<double>(read) / pull_s, pull_s);
  std::printf("  repeater (in-process office, one post each): %.0f records/s (%.2f s)\n",
              static_cast<double>(posts) / push_out_s, push_out_s);
}
