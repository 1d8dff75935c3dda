// The one canonical renderer (core/render.hpp): the bytes every reader produces, and stored
// values it refuses to show (issue 7, fault 4, read side).
#include <catch2/catch.hpp>

#include <map>

#include "hearth/core/render.hpp"

using namespace hearth;
using Catch::Matchers::Contains;

namespace {

const EntityDef& family_def() { return *Schema::v1().entity("Family"); }

Result<std::string> render(const std::map<std::string, FieldJson>& rows) {
  RecordHeader h{"fam-1", "Family", "fam-1", true, "hv-1", false};
  return render_record(&family_def(), h, [&](const FieldDef& f) -> Result<FieldJson> {
    auto it = rows.find(f.name);
    return it == rows.end() ? FieldJson{} : it->second;
  });
}

}  // namespace

TEST_CASE("Render: canonical bytes, fields in schema order, only set fields", "[unit][render]") {
  auto r = render({{"phone", {"\"07700 900000\"", ""}}, {"display_name", {"\"Family F\"", "[\"Family F\",\"Family G\"]"}}});
  REQUIRE(r.ok());
  CHECK(*r ==
        R"({"id":"fam-1","type":"Family","family":"fam-1","created":true,"created_by":"hv-1","deleted":false,)"
        R"("fields":{"display_name":"Family F","phone":"07700 900000"},"multi":{"display_name":["Family F","Family G"]}})");
}

TEST_CASE("Render: a stored value that cannot be shown is an error naming the record and field", "[fault][render]") {
  struct Bad {
    const char* fragment;
    const char* why;
  };
  for (const Bad& bad : {Bad{"\"07700 \xff\xfe\"", "UTF-8"}, Bad{"\"\xc3(\"", "UTF-8"}, Bad{"\"\xed\xa0\x80\"", "UTF-8"},
                         Bad{"\"\xe0\x80\xaf\"", "UTF-8"}, Bad{"99999999999999999999", "64-bit"},
                         Bad{"-9223372036854775809", "64-bit"}, Bad{"1.5", "not an integer"}, Bad{"\"open", "unterminated"},
                         Bad{"[\"a\",", "no value"}, Bad{"\"a\" x", "trailing"}, Bad{"{}", "unexpected"},
                         Bad{"\"a\x01\"", "control"}}) {
    INFO(bad.fragment);
    auto r = render({{"phone", {bad.fragment, ""}}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Contains("record fam-1 field phone") && Contains(bad.why));
  }
  auto multi = render({{"phone", {"\"a\"", "[\"a\",\"\xff\"]"}}});
  REQUIRE_FALSE(multi.ok());
  CHECK_THAT(multi.error().message, Contains("field phone (concurrent values)"));
  // limits that are still values
  CHECK(render({{"phone", {"-9223372036854775808", ""}}}).ok());
  CHECK(render({{"phone", {"\"\\u00e9 caf\xc3\xa9 \xf0\x9f\x98\x80\"", ""}}}).ok());
}

TEST_CASE("Render: header text and unknown types are errors, not output", "[fault][render]") {
  RecordHeader h{"fam-1", "Family", "fam-1", true, "hv-\xff", false};
  auto no_fields = [](const FieldDef&) -> Result<FieldJson> { return FieldJson{}; };
  auto r = render_record(&family_def(), h, no_fields);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("record fam-1 (created_by)"));
  RecordHeader unknown{"x-1", "Shoe", "fam-1", true, "hv-1", false};
  auto u = render_record(nullptr, unknown, no_fields);
  REQUIRE_FALSE(u.ok());
  CHECK_THAT(u.error().message, Contains("record x-1") && Contains("unknown type 'Shoe'"));
}

TEST_CASE("Render: a field source's own error is passed on", "[unit][render]") {
  RecordHeader h{"fam-1", "Family", "fam-1", true, "hv-1", false};
  auto r = render_record(&family_def(), h, [](const FieldDef& f) -> Result<FieldJson> {
    if (f.name == "phone") return make_error(ErrorCode::corrupt, "record fam-1 field phone: authentication failed");
    return FieldJson{};
  });
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("authentication failed"));
}

TEST_CASE("Render: UTF-8 validity", "[unit][render]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xed\xbf\xbf"));      // a surrogate
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  CHECK_FALSE(is_valid_utf8("\x80"));              // a lone continuation byte
}
