// core/text.hpp: what text and ids must be at a trust boundary (fault 4 of issue 7).
#include <catch2/catch.hpp>

#include <vector>

#include "hearth/core/text.hpp"

using namespace hearth;
using Catch::Matchers::Contains;

TEST_CASE("UTF-8: well-formed text passes, every kind of ill-formed byte sequence is refused", "[unit]") {
  for (std::string ok : {std::string(), std::string("plain ASCII\n"), std::string("Ünïcödé"), std::string("\xe2\x82\xac"),
                         std::string("\xf0\x9f\x98\x80"), std::string("\xed\x9f\xbf"), std::string("\xf4\x8f\xbf\xbf"),
                         std::string("nul \0 inside", 12)}) {
    INFO(printable(ok));
    CHECK(is_valid_utf8(ok));
  }
  for (std::string bad : {std::string("\xff"), std::string("\xfe\xff"), std::string("visit \x80 note"),
                          std::string("\xc0\xaf"),            // overlong '/'
                          std::string("\xe0\x80\xaf"),        // overlong, three bytes
                          std::string("\xed\xa0\x80"),        // a surrogate (U+D800)
                          std::string("\xf4\x90\x80\x80"),    // above U+10FFFF
                          std::string("\xf5\x80\x80\x80"), std::string("\xe2\x82"),  // truncated
                          std::string("\xc3")}) {
    INFO(printable(bad));
    CHECK_FALSE(is_valid_utf8(bad));
    auto r = check_utf8("Contact c-1 field narrative", bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::validation);
    CHECK_THAT(r.error().message, Contains("Contact c-1 field narrative") && Contains("not valid UTF-8"));
  }
  CHECK_THAT(check_utf8("x", "abc\xff").error().message, Contains("byte 3 of 4"));
}

TEST_CASE("Ids: the formats in use pass, long ids and control characters are refused", "[unit]") {
  for (const std::string& ok : std::vector<std::string>{"hv-1", "org-hv", "0123456789abcdef", "server", "01933b6e-7c1f-7a2b-8c3d-0123456789ab",
                         "01933b6e-7c1f-7a2b-8c3d-0123456789ab/finding/CDN_HEALTH",
                         "01933b6e-7c1f-7a2b-8c3d-0123456789ab/voice/01933b6e-7c1f-7a2b-8c3d-0123456789ac", "c-1a2b3c4d",
                         "a.b@example.org", std::string(kMaxIdBytes, 'x')}) {
    INFO(ok);
    CHECK(is_valid_id(ok));
    CHECK(check_id("family", ok).ok());
  }
  CHECK_THAT(check_id("family", "").error().message, Contains("family") && Contains("empty"));
  CHECK_THAT(check_id("family", std::string(kMaxIdBytes + 1, 'x')).error().message,
             Contains("family") && Contains("129 bytes"));
  for (const std::string& bad : std::vector<std::string>{"fam\n1", "fam 1", "fam\t1", std::string("fam\0", 4), "fam\x7f", "f\xc3\xa9", "f\xff",
                          "<script>", "a\"b", "a\\b"}) {
    INFO(printable(bad));
    CHECK_FALSE(is_valid_id(bad));
    auto r = check_id("op author", bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("op author"));
    CHECK(is_valid_utf8(r.error().message));  // the message itself is safe to print
  }
}

TEST_CASE("Schema names and printable renderings of untrusted bytes", "[unit]") {
  CHECK(is_valid_name("given_names"));
  CHECK(is_valid_name("AssessmentFinding"));
  CHECK_FALSE(is_valid_name(""));
  CHECK_FALSE(is_valid_name("given names"));
  CHECK_FALSE(is_valid_name(std::string(kMaxNameBytes + 1, 'a')));
  CHECK(printable("ok \xff\n") == "ok \\xff\\x0a");
  CHECK(printable("Ü") == "Ü");
  CHECK_THAT(printable(std::string(100, 'a'), 10), Contains("(100 bytes)"));
}
