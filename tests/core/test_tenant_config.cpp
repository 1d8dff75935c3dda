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

TEST_CASE("Tenant configuration: the key lease (N5) defaults to 14 days and ends no earlier than the lock", "[unit]") {
  TenantConfig c;
  CHECK(c.key_lease_ms() == 14LL * 24 * 3600 * 1000);
  REQUIRE(c.set("key_lease_days", "30").ok());
  CHECK(c.key_lease_ms() == 30LL * 24 * 3600 * 1000);
  for (const char* bad : {"0", "61", "x"}) CHECK_FALSE(c.set("key_lease_days", bad).ok());
  auto shorter = c.set("key_lease_days", "6");  // before the 7-day lock
  REQUIRE_FALSE(shorter.ok());
  CHECK_THAT(shorter.error().message, Contains("lock_after_days <= key_lease_days"));
  CHECK(c.get("key_lease_days") == "30");
  REQUIRE(c.set("purge_after_days", "30").ok());
  REQUIRE(c.set("lock_after_days", "20").ok());
  CHECK_FALSE(c.set("key_lease_days", "19").ok());
  CHECK_FALSE(c.set("lock_after_days", "31").ok());
}

TEST_CASE("Tenant configuration: stored settings are read back in any order and checked as a whole", "[unit]") {
  TenantConfig c;
  // in key order a 20-day lock would meet the default 14-day purge and lease first
  REQUIRE(c.set_all({{"key_lease_days", "40"}, {"lock_after_days", "20"}, {"purge_after_days", "30"}}).ok());
  CHECK(c.lock_after_ms() == 20LL * 24 * 3600 * 1000);
  CHECK(c.key_lease_ms() == 40LL * 24 * 3600 * 1000);
  TenantConfig d;
  auto bad = d.set_all({{"key_lease_days", "5"}, {"purge_after_days", "30"}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Contains("key_lease_days"));
  CHECK(d.key_lease_ms() == 14LL * 24 * 3600 * 1000);  // nothing changed
}
