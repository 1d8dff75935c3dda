// The office endpoint's answers (usecases/office.hpp; DOMAIN.md §6.6): errors name the body's
// fields, not the command line's options, and a body that is not UTF-8 says so. In process.
#include <catch2/catch.hpp>

#include "service_harness.hpp"
#include "usecases/office.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

TEST_CASE("Office endpoint: errors name the body's fields and bad bytes are called what they are", "[unit][security]") {
  CHECK(server::with_field_names("--withdrawn-by: no person 'x' in family f") == "withdrawn_by: no person 'x' in family f");
  CHECK(server::with_field_names("--purposes 'BOGUS' is not defined (see --full)") ==
        "purposes 'BOGUS' is not defined (see full)");
  CHECK(server::with_field_names("a range 1--2 stays") == "a range 1--2 stays");
  CHECK(server::with_field_names("") == "");

  ServiceHarness h;
  std::string token = must(h.service.with_context(
      [](server::ServiceContext& ctx) { return server::issue_office_credential(ctx, "case-system"); }));
  auto bad_bytes = h.post("/v1/office/consent/withdraw", std::string("{\"family\": \"f\xff\"}"), token);
  CHECK(bad_bytes.status == 400);
  CHECK_THAT(bad_bytes.body, Contains("not valid UTF-8"));
  auto unknown = h.post("/v1/office/consent/withdraw",
                        R"({"family": "fam-none", "consent": "k1", "withdrawn_by": "p", "recorded_by": "hv-1",
                            "channel": "PHONE", "full": true})",
                        token);
  CHECK(unknown.status == 404);
  CHECK_THAT(unknown.body, Contains("family") && !Contains("--family"));
}
