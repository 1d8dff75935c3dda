#include <catch2/catch.hpp>
#include "hearth/core/schema.hpp"
TEST_CASE("Schema: v1 declares entities", "[unit]") { REQUIRE(hearth::Schema::v1().entity("Person")); }
