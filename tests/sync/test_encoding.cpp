#include <catch2/catch.hpp>

#include <random>

#include "hearth/core/text.hpp"
#include "hearth/sync/encoding.hpp"
#include "../support/sample_op.hpp"

using namespace hearth;
using namespace hearth::sync;

namespace {
Op sample(OpKind kind) { return test::sample_op(kind); }
}  // namespace

TEST_CASE("Encoding: every op kind round-trips exactly", "[unit][encoding]") {
  for (int k = 1; k <= 8; ++k) {
    Op op = sample(static_cast<OpKind>(k));
    auto back = decode(encode(op));
    REQUIRE(back.ok());
    CHECK(*back == op);
  }
  Op big = sample(OpKind::Set);
  big.value = Value(int64_t{INT64_MIN});
  CHECK(*decode(encode(big)) == big);
  big.value = Value(int64_t{INT64_MAX});
  CHECK(*decode(encode(big)) == big);
}

TEST_CASE("Encoding: every truncation is rejected as corrupt", "[unit][encoding]") {
  std::string bytes = encode(sample(OpKind::Create));
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode(std::string_view(bytes).substr(0, n));
    INFO("prefix " << n);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::corrupt);
  }
}

TEST_CASE("Encoding: malformed input gets a precise error, never a crash", "[unit][encoding]") {
  std::string bytes = encode(sample(OpKind::Set));
  SECTION("unknown version") {
    bytes[0] = 9;
    auto r = decode(bytes);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Matchers::Contains("unsupported encoding version 9"));
  }
  SECTION("unknown kind") {
    bytes[1] = 77;
    auto r = decode(bytes);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Matchers::Contains("unknown op kind 77"));
  }
  SECTION("trailing bytes") {
    bytes += "x";
    auto r = decode(bytes);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Matchers::Contains("trailing bytes"));
  }
  SECTION("a huge length prefix") {
    std::string evil = {1, 2, '\xff', '\xff', '\xff', '\xff', '\x0f'};
    auto r = decode(evil);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::corrupt);
  }
}

TEST_CASE("Encoding: random mutations never crash the decoder", "[unit][encoding][property]") {
  std::mt19937 rng(20240601);
  std::string base = encode(sample(OpKind::Create));
  size_t rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = base;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<char>(rng() & 0xFF);
    auto r = decode(b);
    if (!r.ok()) {
      ++rejected;
      CHECK(r.error().code == ErrorCode::corrupt);
    }
  }
  CHECK(rejected > 0);
}
