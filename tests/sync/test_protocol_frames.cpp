// Framed op batches (sync/protocol.hpp, docs/protocol.md "Framed op batches"): a push body and
// a pull answer round-trip framed, read the same as their JSON form, and every malformed frame
// (bad magic, lengths or counts past the end, trailing bytes, ops in the header, bodies over
// their limit) is an error naming what is wrong, never a crash.
#include <catch2/catch.hpp>

#include <string>

#include "hearth/sync/protocol.hpp"

using namespace hearth;
using namespace hearth::sync::protocol;

namespace {

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

std::string word(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 8) & 0xff),
                     static_cast<char>(v & 0xff)};
}

// A frame written by hand: magic, header, then the given tail.
std::string frame(const std::string& header, const std::string& tail, const std::string& magic = "HFR1") {
  return magic + word(static_cast<uint32_t>(header.size())) + header + tail;
}

template <typename T>
void require_error(const Result<T>& r, ErrorCode code, const std::string& mentions) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == code);
  CHECK_THAT(r.error().message, Catch::Contains(mentions));
}

PushRequest sample_push() {
  PushRequest q;
  q.device_time_ms = 1767225600000;
  q.history_epoch = "e1";
  q.delivered_counter = 7;
  q.ops = {all_bytes(), "x", std::string(70000, '\0')};
  q.quarantined = {{"dev-a:3", "fam-1", "no access"}};
  return q;
}

PullReply sample_pull() {
  PullReply r;
  r.families = {{"fam-1", {all_bytes(), "y"}, 13, "v1", {"rec-1#notes"}}, {"fam-2", {}, 14}, {"fam-3", {"z"}, 15}};
  r.purge = {"fam-9"};
  r.more = true;
  r.feed_version = 4;
  r.history.epoch = "e1";
  return r;
}

}  // namespace

TEST_CASE("Frames: a push and a pull answer round-trip framed and read as their JSON form", "[unit][protocol]") {
  PushRequest q = sample_push();
  std::string framed = encode_framed(q);
  CHECK(framed.size() < encode(q).size());  // no base64
  auto back = decode_framed_push_request(framed);
  REQUIRE(back);
  CHECK(back->ops == q.ops);
  CHECK(back->delivered_counter == 7);
  CHECK(back->quarantined.size() == 1);
  CHECK(encode(*back) == encode(q));

  PullReply r = sample_pull();
  auto pulled = decode_framed_pull_reply(encode_framed(r));
  REQUIRE(pulled);
  REQUIRE(pulled->families.size() == 3);
  CHECK(pulled->families[0].ops == r.families[0].ops);
  CHECK(pulled->families[1].ops.empty());
  CHECK(pulled->families[2].ops == std::vector<std::string>{"z"});
  CHECK(pulled->families[0].withheld == r.families[0].withheld);
  CHECK(encode(*pulled) == encode(r));

  PushRequest none;  // an empty push (views or a clock check only)
  auto empty = decode_framed_push_request(encode_framed(none));
  REQUIRE(empty);
  CHECK(empty->ops.empty());
}

TEST_CASE("Frames: the media types are recognised with parameters and in Accept lists", "[unit][protocol]") {
  CHECK(is_frames_type("application/vnd.hearth.frames"));
  CHECK(is_frames_type("Application/VND.Hearth.Frames; charset=binary"));
  CHECK_FALSE(is_frames_type("application/json"));
  CHECK_FALSE(is_frames_type(""));
  CHECK_FALSE(is_frames_type("application/vnd.hearth.frames2"));
  CHECK(accepts_frames("application/vnd.hearth.frames, application/json"));
  CHECK(accepts_frames("application/json,application/vnd.hearth.frames;v=1"));
  CHECK_FALSE(accepts_frames("application/json"));
  CHECK_FALSE(accepts_frames("*/*"));  // a client that does not name the framing gets JSON
  CHECK_FALSE(accepts_frames(""));
}

TEST_CASE("Frames: the server advertises framed pushes and an older server says nothing", "[unit][protocol]") {
  PushReply p;
  p.frames = kFramesVersion;
  auto back = decode_push_reply(encode(p));
  REQUIRE(back);
  CHECK(back->frames == kFramesVersion);
  CHECK(decode_push_reply(encode(PushReply{}))->frames == 0);
  EnrolReply e;
  e.device_token = std::string(64, 'f');
  e.practitioner_id = "hv-1";
  e.frames = kFramesVersion;
  CHECK(decode_enrol_reply(encode(e))->frames == kFramesVersion);
}

TEST_CASE("Frames: malformed frames are refused naming what is wrong", "[unit][protocol][security]") {
  const std::string push_header = encode(PushRequest{});  // "ops": []
  const std::string pull_header = [] {
    PullReply r;
    r.families = {{"fam-1", {}, 1}};
    return encode(r);
  }();

  SECTION("magic") {
    require_error(decode_framed_push_request(""), ErrorCode::invalid_argument, "magic");
    require_error(decode_framed_push_request("HFR"), ErrorCode::invalid_argument, "magic");
    require_error(decode_framed_push_request(frame(push_header, word(0), "HFR2")), ErrorCode::invalid_argument, "magic");
    require_error(decode_framed_push_request(push_header), ErrorCode::invalid_argument, "magic");  // JSON is not a frame
  }
  SECTION("a header length past the end or cut short") {
    require_error(decode_framed_push_request("HFR1" + word(0xffffffff) + "{}"), ErrorCode::invalid_argument, "header claims");
    require_error(decode_framed_push_request("HFR1" + std::string("\0\0", 2)), ErrorCode::invalid_argument, "cut short");
  }
  SECTION("a header that is not the message") {
    require_error(decode_framed_push_request(frame("[1,2]", word(0))), ErrorCode::invalid_argument, "JSON object");
    require_error(decode_framed_push_request(frame("{\"ops\": 3}", word(0))), ErrorCode::invalid_argument, "ops");
  }
  SECTION("ops in the header itself") {
    PushRequest q;
    q.ops = {"abc"};
    require_error(decode_framed_push_request(frame(encode(q), word(0))), ErrorCode::invalid_argument, "must be empty");
  }
  SECTION("a missing section and counts and lengths past the end") {
    require_error(decode_framed_push_request(frame(push_header, "")), ErrorCode::invalid_argument, "cut short");
    require_error(decode_framed_push_request(frame(push_header, word(0xffffffff))), ErrorCode::too_large, "ops");
    require_error(decode_framed_push_request(frame(push_header, word(2) + word(1) + "a")), ErrorCode::invalid_argument,
                  "claims 2 ops");
    require_error(decode_framed_push_request(frame(push_header, word(1) + word(100) + "abc")), ErrorCode::invalid_argument,
                  "ops[0] claims 100 bytes");
    require_error(decode_framed_push_request(frame(push_header, word(1) + word(0) + "a")), ErrorCode::invalid_argument,
                  "ops[0] is empty");
  }
  SECTION("bytes after the last section") {
    require_error(decode_framed_push_request(frame(push_header, word(1) + word(1) + "a" + "zz")), ErrorCode::invalid_argument,
                  "2 bytes follow");
    require_error(decode_framed_pull_reply(frame(pull_header, word(0) + word(0))), ErrorCode::invalid_argument, "follow");
  }
  SECTION("one section per family page") {
    require_error(decode_framed_pull_reply(frame(pull_header, "")), ErrorCode::invalid_argument, "families[0].ops");
    CHECK(decode_framed_pull_reply(frame(pull_header, word(1) + word(2) + "ab")));
  }
  SECTION("limits: the body and the op count") {
    Limits tight;
    tight.push_bytes = 64;
    require_error(decode_framed_push_request(encode_framed(sample_push()), tight), ErrorCode::too_large, "over the limit");
    Limits few;
    few.json_elements = 5;  // the header of an empty push holds 5 values
    require_error(decode_framed_push_request(frame(push_header, word(6) + std::string(40, '\x01')), few), ErrorCode::too_large,
                  "the limit of 5");
    // the ops of all sections together are bounded: each section alone fits, both do not
    PullReply r;
    r.families = {{"fam-1", std::vector<std::string>(10, "a"), 1}, {"fam-2", std::vector<std::string>(10, "b"), 2}};
    auto framed = encode_framed(r);
    few.json_elements = 16;  // the header's 15 values
    require_error(decode_framed_pull_reply(framed, few), ErrorCode::too_large, "families[1].ops claims 10 ops");
    few.json_elements = 20;
    CHECK(decode_framed_pull_reply(framed, few));
  }
  SECTION("every truncation of a good frame is refused and never a crash") {
    std::string good = encode_framed(sample_pull());
    for (size_t n = 0; n < good.size(); n += 7) CHECK_FALSE(decode_framed_pull_reply(good.substr(0, n)));
    std::string flipped = good;
    for (size_t i = 0; i < 64 && i < flipped.size(); ++i) {
      flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
      (void)decode_framed_pull_reply(flipped);  // any answer, no crash
      flipped[i] = good[i];
    }
  }
}
