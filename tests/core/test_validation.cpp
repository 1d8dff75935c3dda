#include <catch2/catch.hpp>

#include "hearth/core/validation.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using Catch::Matchers::Contains;

namespace {
const EntityDef& def(const char* name) { return *Schema::v1().entity(name); }
}  // namespace

TEST_CASE("Validation: a valid record passes", "[unit][validation]") {
  CHECK(validate_create(def("Person"), test::person_fields()).ok());
  CHECK(validate_create(def("EarlyHelpEpisode"), test::episode_fields()).ok());
  CHECK(validate_create(def("Contact"), test::contact_fields("2026-01-07T10:00:00Z", "Visit")).ok());
}

TEST_CASE("Validation: errors name the entity, the field and the rule", "[unit][validation]") {
  auto fields = test::person_fields();

  SECTION("unknown field") {
    fields["shoe_size"] = 42;
    auto r = validate_create(def("Person"), fields);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::validation);
    CHECK_THAT(r.error().message, Contains("Person.shoe_size") && Contains("unknown field"));
  }
  SECTION("wrong type") {
    fields["given_names"] = 7;
    auto r = validate_create(def("Person"), fields);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("Person.given_names") && Contains("expected String, got an integer"));
  }
  SECTION("value not in the enum") {
    fields["sex"] = "X";
    auto r = validate_create(def("Person"), fields);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("Person.sex") && Contains("'X' is not one of MALE, FEMALE"));
  }
  SECTION("missing required field") {
    fields.erase("family_name");
    auto r = validate_create(def("Person"), fields);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("Person.family_name") && Contains("required field is missing"));
  }
  SECTION("conditional field: date of birth unless unborn, due date when unborn") {
    fields.erase("date_of_birth");
    auto r = validate_create(def("Person"), fields);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("Person.date_of_birth") && Contains("required when person_status is not UNBORN"));
    fields["person_status"] = "UNBORN";
    auto unborn = validate_create(def("Person"), fields);
    REQUIRE_FALSE(unborn.ok());
    CHECK_THAT(unborn.error().message, Contains("Person.expected_due_date"));
    fields["expected_due_date"] = "2026-08-01";
    CHECK(validate_create(def("Person"), fields).ok());
  }
  SECTION("bad dates and date-times") {
    fields["date_of_birth"] = "2023-02-29";
    auto r = validate_create(def("Person"), fields);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("is not a date (YYYY-MM-DD)"));
    auto c = test::contact_fields("2026-01-07 10:00", "Visit");
    auto rc = validate_create(def("Contact"), c);
    REQUIRE_FALSE(rc.ok());
    CHECK_THAT(rc.error().message, Contains("Contact.occurred_at") && Contains("UTC date-time"));
  }
  SECTION("integer out of range") {
    auto plan = test::plan_fields();
    plan["review_interval_weeks"] = 20;
    auto r = validate_create(def("FamilyPlan"), plan);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("FamilyPlan.review_interval_weeks") && Contains("outside 4..12"));
  }
  SECTION("set element not in the enum") {
    auto ref = test::referral_fields();
    ref["presenting_needs"] = StringList{"PARENTING_SUPPORT", "ALIENS"};
    auto r = validate_create(def("Referral"), ref);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("Referral.presenting_needs") && Contains("'ALIENS'"));
  }
  SECTION("a single-line string may not hold a newline") {
    fields["given_names"] = "A\nB";
    auto r = validate_create(def("Person"), fields);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("single line"));
  }
}

TEST_CASE("Validation: updates respect merge classes and lifecycles", "[unit][validation]") {
  auto append = validate_update(def("Contact"), "narrative", "changed");
  REQUIRE_FALSE(append.ok());
  CHECK_THAT(append.error().message, Contains("append-only") && Contains("Amendment"));

  auto status = validate_update(def("Referral"), "status", "CLOSED");
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Contains("lifecycle transition"));

  auto list = validate_update(def("Referral"), "presenting_needs", StringList{"OTHER"});
  REQUIRE_FALSE(list.ok());
  CHECK_THAT(list.error().message, Contains("adding or removing"));

  auto clear = validate_update(def("Person"), "family_name", Value());
  REQUIRE_FALSE(clear.ok());
  CHECK_THAT(clear.error().message, Contains("cannot be cleared"));

  CHECK(validate_update(def("Family"), "phone", "07700 900001").ok());
  CHECK(validate_update(def("Person"), "sex", Value()).ok());  // optional field cleared
}

TEST_CASE("Validation: a new record starts in its initial state", "[unit][validation]") {
  auto fields = test::referral_fields();
  fields["status"] = "CLOSED";
  auto r = validate_create(def("Referral"), fields);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("starts in state RECEIVED"));
  fields["status"] = "RECEIVED";
  CHECK(validate_create(def("Referral"), fields).ok());
}

TEST_CASE("Validation: derived records cannot be created", "[unit][validation]") {
  auto r = validate_create(def("ConflictRecord"), {});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("derived"));
}

TEST_CASE("Validation: date helpers", "[unit][validation]") {
  CHECK(is_valid_date("2024-02-29"));
  CHECK_FALSE(is_valid_date("2023-02-29"));
  CHECK_FALSE(is_valid_date("2024-13-01"));
  CHECK_FALSE(is_valid_date("24-01-01"));
  CHECK(is_valid_datetime("2026-01-07T10:00:00Z"));
  CHECK(is_valid_datetime("2026-01-07T10:00:00.123Z"));
  CHECK_FALSE(is_valid_datetime("2026-01-07T10:00:00+01:00"));
  CHECK_FALSE(is_valid_datetime("2026-01-07T25:00:00Z"));
}

TEST_CASE("Validation: text must be valid UTF-8 and within the caps of the schema table", "[unit][validation]") {
  auto fields = test::contact_fields("2026-11-23T10:00:00Z", "visit note \xff\xfe");
  auto bad = validate_create(def("Contact"), fields);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::validation);
  CHECK_THAT(bad.error().message, Contains("Contact.narrative") && Contains("not valid UTF-8"));
  CHECK_THAT(validate_update(def("Person"), "given_names", Value("A\xc3")).error().message,
             Contains("Person.given_names") && Contains("not valid UTF-8"));
  CHECK_THAT(validate_element(def("Person"), "other_names", "\xff").error().message, Contains("Person.other_names"));

  StringList many(201, "mother-1");
  CHECK_THAT(validate_update(def("Person"), "family_name", Value(std::string(1025, 'x'))).error().message,
             Contains("Person.family_name") && Contains("longer than 1024"));
  auto ep = test::episode_fields(many);
  CHECK_THAT(validate_create(def("EarlyHelpEpisode"), ep).error().message,
             Contains("EarlyHelpEpisode.subject_children") && Contains("201 elements"));
}

TEST_CASE("Validation: the values of one new record stay under kMaxRecordBytes", "[unit][validation]") {
  auto fields = test::assessment_fields();
  for (const char* section : {"worries", "working_well", "needs_to_happen", "family_history_summary", "analysis"})
    fields[section] = Value(std::string(60 * 1024, 's'));
  auto r = validate_create(def("Assessment"), fields);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::too_large);
  CHECK_THAT(r.error().message, Contains("Assessment") && Contains("add the long sections as edits"));
  fields.erase("worries");
  CHECK(validate_create(def("Assessment"), fields).ok());
}
