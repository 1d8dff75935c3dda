#include <optional>

#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

Result<TenantConfig> SqlTenantSettings::current() {
  TenantConfig config;
  std::vector<std::pair<std::string, std::string>> stored;
  auto st = db_.prepare("SELECT key, value FROM tenant_settings ORDER BY key");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) { stored.emplace_back(r.text(0), r.text(1)); });
  if (!done) return done.error();
  // All at once: the order of the periods is checked on the whole, not key by key in the
  // table's order (a stored lock_after_days of 20 with a purge_after_days of 30 is valid).
  if (auto ok = config.set_all(stored); !ok)
    return Error{ErrorCode::corrupt, "the tenant settings as stored: " + ok.error().message};
  return config;
}

Result<void> SqlTenantSettings::set(const std::string& key, const std::string& value, int64_t at,
                                       const std::string& by) {
  auto config = current();
  if (!config) return config.error();
  if (auto ok = config->set(key, value); !ok) return ok;
  return run(db_,
             "INSERT INTO tenant_settings(key, value, set_at, set_by) VALUES(?, ?, ?, ?) "
             "ON CONFLICT(key) DO UPDATE SET value = excluded.value, set_at = excluded.set_at, set_by = excluded.set_by",
             {key, config->get(key), std::to_string(at), by});
}

}  // namespace hearth::server::sql
