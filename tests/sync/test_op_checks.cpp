// Fault 4 of issue 7, input side: an op whose text is not valid UTF-8 was accepted, and every
// team tablet then aborted reading the family. Every op is now checked where it is decoded
// (and by the materialiser before any op is applied): valid UTF-8 in every string, bounded ids,
// counters and stamps in range.
#include <catch2/catch.hpp>

#include "hearth/core/text.hpp"
#include "hearth/sync/encoding.hpp"
#include "hearth/sync/materialiser.hpp"
#include "hearth/sync/protocol.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::sync;
using Catch::Matchers::Contains;

namespace {

const std::string kBad = "visit note \xff\xfe with a broken byte";

// A visit note as a tablet makes it.
Op visit() {
  Op op;
  op.id = OpId{"0123456789abcdef", 7};
  op.hlc = Hlc{1767225600123ull, 0};
  op.author = "hv-1";
  op.family = "01933b6e-7c1f-7a2b-8c3d-0123456789ab";
  op.entity_type = "Contact";
  op.entity_id = "01933b6e-7c1f-7a2b-8c3d-0123456789ac";
  op.kind = OpKind::Create;
  op.fields = test::contact_fields("2026-11-23T10:00:00Z", "Visit: all well");
  return op;
}

void refused(const Op& op, const std::string& names) {
  auto r = decode(encode(op));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::corrupt);
  CHECK_THAT(r.error().message, Contains(names));
  CHECK(is_valid_utf8(r.error().message));
}

}  // namespace

TEST_CASE("Fault 4: a pushed visit note whose narrative is not valid UTF-8 is refused by the decoder",
          "[fault][unit][encoding]") {
  Op op = visit();
  REQUIRE(decode(encode(op)).ok());
  op.fields["narrative"] = Value(kBad);
  auto r = decode(encode(op));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::corrupt);
  CHECK_THAT(r.error().message, Contains("op 0123456789abcdef:7") && Contains("Contact " + op.entity_id) &&
                                    Contains("narrative") && Contains("not valid UTF-8"));
  // The materialiser (the server's merge and every tablet's) refuses it too, should it arrive
  // by any other path.
  Materialiser m(Schema::v1());
  auto applied = m.apply(op);
  REQUIRE_FALSE(applied.ok());
  CHECK_THAT(applied.error().message, Contains("narrative") && Contains("UTF-8"));
}

TEST_CASE("Fault 4: invalid UTF-8 in any string of an op is refused, naming where", "[fault][unit][encoding]") {
  SECTION("author") { Op op = visit(); op.author = "hv-\xff"; refused(op, "author"); }
  SECTION("family") { Op op = visit(); op.family = "fam-\xc3"; refused(op, "family"); }
  SECTION("entity id") { Op op = visit(); op.entity_id = "c-\xed\xa0\x80"; refused(op, "Contact id"); }
  SECTION("entity type") { Op op = visit(); op.entity_type = "Cont\xe9" "ct"; refused(op, "entity type"); }
  SECTION("device") { Op op = visit(); op.id.device = "dev\xff"; refused(op, "op id device"); }
  SECTION("field of a set") {
    Op op = visit();
    op.kind = OpKind::Set;
    op.fields.clear();
    op.field = "narr\xff";
    op.value = Value("x");
    refused(op, "field name");
  }
  SECTION("value of a set") {
    Op op = visit();
    op.kind = OpKind::Set;
    op.fields.clear();
    op.field = "narrative";
    op.value = Value(kBad);
    refused(op, "field narrative");
  }
  SECTION("element of a list") {
    Op op = visit();
    op.fields["persons_present"] = Value(StringList{"p-1", "p-\xff"});
    refused(op, "persons_present element 2");
  }
  SECTION("map key") {
    Op op = visit();
    op.fields.emplace("\xff\xfe", Value("x"));
    refused(op, "field name");
  }
  SECTION("text") {
    Op op = visit();
    op.kind = OpKind::Acknowledge;
    op.fields.clear();
    op.text = "c-\xff";
    refused(op, "text");
  }
}

TEST_CASE("Fault 4: ids too long or with control characters, and counters out of range, are refused",
          "[fault][unit][encoding]") {
  SECTION("entity id of 129 bytes") { Op op = visit(); op.entity_id = std::string(kMaxIdBytes + 1, 'c'); refused(op, "129 bytes"); }
  SECTION("family with a newline") { Op op = visit(); op.family = "fam\n1"; refused(op, "family"); }
  SECTION("author with a NUL") { Op op = visit(); op.author = std::string("hv-1\0x", 6); refused(op, "author"); }
  SECTION("device with an escape sequence") { Op op = visit(); op.id.device = "dev\x1b[2J"; refused(op, "op id device"); }
  SECTION("counter 0") { Op op = visit(); op.id.counter = 0; refused(op, "counter 0"); }
  SECTION("counter 2^53") { Op op = visit(); op.id.counter = kMaxOpCounter + 1; refused(op, "counter"); }
  SECTION("counter 2^64-1") { Op op = visit(); op.id.counter = UINT64_MAX; refused(op, "counter"); }
  SECTION("ref counter 0") {
    Op op = visit();
    op.refs = {OpId{"dev-b", 0}};
    refused(op, "ref 1 counter 0");
  }
  SECTION("stamp after the year 9999") { Op op = visit(); op.hlc.wall_ms = kMaxWallMs + 1; refused(op, "year 9999"); }
  Op edge = visit();
  edge.id.counter = kMaxOpCounter;
  edge.hlc.wall_ms = kMaxWallMs;
  edge.entity_id = std::string(kMaxIdBytes, 'c');
  CHECK(decode(encode(edge)).ok());
}

TEST_CASE("Field caps keep every op well below the protocol's per-op limit", "[unit][validation]") {
  const size_t op_limit = protocol::Limits{}.op_bytes;
  for (const auto& e : Schema::v1().entities()) {
    // A Create carries at most kMaxRecordBytes of values, plus per-field and per-element framing.
    size_t framing = 6 * kMaxIdBytes + 64;  // op id, author, family, type, entity id, header
    for (const auto& f : e.fields) {
      INFO(e.name << "." << f.name);
      if (f.type == FieldType::String || f.type == FieldType::Text || f.type == FieldType::StringSet) {
        REQUIRE(f.max_length > 0);  // declared in the schema table
        CHECK(f.max_length <= kMaxRecordBytes);
      }
      if (is_set_type(f.type)) REQUIRE(f.max_items > 0);
      framing += f.name.size() + 16 + (is_set_type(f.type) ? f.max_items * 10 : 0);
    }
    INFO(e.name << ": worst case " << kMaxRecordBytes + framing << " bytes");
    CHECK(kMaxRecordBytes + framing < op_limit * 3 / 4);
  }
}
