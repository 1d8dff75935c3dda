// The tenant configuration (core/tenant_config.hpp, DOMAIN.md §14.1): defaults, ranges, and a
// clear error naming the key for anything else.
#include <catch2/catch.hpp>

#include "hearth/core/tenant_config.hpp"

using namespace hearth;
using Catch::Matchers::Contains;

TEST_CASE("Tenant configuration: defaults, typed periods and refused values", "[unit]") {
  TenantConfig c;
  CHECK(c.sharing_block_after_ms() == 24LL * 3600 * 1000);
  CHECK(c.lock_after_ms() == 7LL * 24 * 3600 * 1000);
  CHECK(c.purge_after_ms() == 14LL * 24 * 3600 * 1000);
  CHECK(c.break_glass_ms() == 4LL * 3600 * 1000);
  CHECK(c.reopen_window_days() == 28);
  CHECK(c.working_days() == std::vector<std::string>{"MON", "TUE", "WED", "THU", "FRI"});
  CHECK(c.all().size() == TenantConfig::settings().size());

  REQUIRE(c.set("lock_after_days", "5").ok());
  CHECK(c.lock_after_ms() == 5LL * 24 * 3600 * 1000);
  CHECK(c.get("lock_after_days") == "5");
  REQUIRE(c.set("closed_dates", "2026-12-28, 2026-12-25").ok());
  CHECK(c.get("closed_dates") == "2026-12-25,2026-12-28");

  auto unknown = c.set("lock_days", "5");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Contains("no tenant setting 'lock_days'"));
  for (const char* bad : {"0", "61", "7x", "", "-1", "99999999999999999999"}) {
    INFO(bad);
    auto r = c.set("lock_after_days", bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("lock_after_days"));
  }
  CHECK(c.get("lock_after_days") == "5");  // a refused value changes nothing
  auto order = c.set("purge_after_days", "4");
  REQUIRE_FALSE(order.ok());
  CHECK_THAT(order.error().message, Contains("lock_after_days < purge_after_days"));
  CHECK_FALSE(c.set("sharing_block_after_hours", "168").ok());  // a week of sharing after a 5-day lock
  CHECK_FALSE(c.set("working_days", "MON,FUNDAY").ok());
  CHECK_FALSE(c.set("closed_dates", "2026-13-01").ok());
}
