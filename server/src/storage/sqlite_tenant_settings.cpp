#include <optional>

#include "sqlite_parts.hpp"
#include "sqlite_util.hpp"

namespace hearth::server::sqlite {

Result<TenantConfig> SqliteTenantSettings::current() {
  TenantConfig config;
  std::optional<Error> bad;
  auto st = db_.prepare("SELECT key, value FROM tenant_settings ORDER BY key");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) {
    std::string key = r.text(0);
    if (auto ok = config.set(key, r.text(1)); !ok && !bad)
      bad = Error{ErrorCode::corrupt, "tenant setting " + key + " as stored: " + ok.error().message};
  });
  if (!done) return done.error();
  if (bad) return *bad;
  return config;
}

Result<void> SqliteTenantSettings::set(const std::string& key, const std::string& value, int64_t at,
                                       const std::string& by) {
  auto config = current();
  if (!config) return config.error();
  if (auto ok = config->set(key, value); !ok) return ok;
  return run(db_,
             "INSERT INTO tenant_settings(key, value, set_at, set_by) VALUES(?, ?, ?, ?) "
             "ON CONFLICT(key) DO UPDATE SET value = excluded.value, set_at = excluded.set_at, set_by = excluded.set_by",
             {key, config->get(key), std::to_string(at), by});
}

}  // namespace hearth::server::sqlite
