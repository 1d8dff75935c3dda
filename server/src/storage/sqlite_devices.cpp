#include "sqlite_parts.hpp"
#include "sqlite_util.hpp"

namespace hearth::server::sqlite {

namespace {
constexpr const char* kDeviceColumns = "id, practitioner, enrolled_at, last_seen, revoked, expires_at, last_pull_at";
DeviceRecord device_from(Statement& r) {
  return DeviceRecord{r.text(0), r.text(1), r.integer(2), r.integer(3), r.integer(4) != 0, r.integer(5), r.integer(6)};
}
}  // namespace

Result<void> SqliteDevices::add_enrol_code(const std::string& hash, const std::string& practitioner, int64_t expires) {
  auto st = db_.prepare("INSERT INTO enrol_codes(code_hash, practitioner, expires_at) VALUES(?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, hash).bind(2, practitioner).bind(3, expires);
  return st->run();
}

Result<std::optional<std::string>> SqliteDevices::spend_enrol_code(const std::string& hash, int64_t now) {
  auto st = db_.prepare(
      "UPDATE enrol_codes SET spent = 1 WHERE code_hash = ? AND spent = 0 AND expires_at > ? RETURNING practitioner");
  if (!st) return st.error();
  st->bind(1, hash).bind(2, now);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  std::string who = st->text(0);
  st->reset();
  return std::optional<std::string>(who);
}

Result<void> SqliteDevices::add_device(const std::string& id, const std::string& practitioner,
                                       const std::string& token_hash, int64_t now, int64_t expires_at) {
  auto existing = db_.prepare("SELECT practitioner, revoked FROM devices WHERE id = ?");
  if (!existing) return existing.error();
  existing->bind(1, id);
  auto row = existing->step();
  if (!row) return row.error();
  if (*row && (existing->integer(1) != 0 || existing->text(0) != practitioner))
    return make_error(ErrorCode::conflict, existing->integer(1) != 0
                                               ? "device " + id + " was revoked and cannot enrol again; wipe it"
                                               : "device " + id + " is enrolled for another practitioner");
  existing->reset();
  auto st = db_.prepare(
      "INSERT INTO devices(id, practitioner, token_hash, enrolled_at, last_seen, expires_at) VALUES(?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET token_hash = excluded.token_hash, last_seen = excluded.last_seen, "
      "expires_at = excluded.expires_at");
  if (!st) return st.error();
  st->bind(1, id).bind(2, practitioner).bind(3, token_hash).bind(4, now).bind(5, now).bind(6, expires_at);
  return st->run();
}

Result<std::optional<DeviceRecord>> SqliteDevices::device_by_token(const std::string& token_hash) {
  auto st = db_.cached(
      "SELECT id, practitioner, enrolled_at, last_seen, revoked, expires_at, last_pull_at FROM devices "
      "WHERE token_hash = ?");
  if (!st) return st.error();
  (*st)->bind(1, token_hash);
  auto row = (*st)->step();
  if (!row || !*row) {
    (*st)->reset();
    if (!row) return row.error();
    return std::optional<DeviceRecord>();
  }
  DeviceRecord d = device_from(**st);
  (*st)->reset();
  return std::optional<DeviceRecord>(d);
}

Result<std::vector<DeviceRecord>> SqliteDevices::devices() {
  std::vector<DeviceRecord> out;
  auto st = db_.prepare(std::string("SELECT ") + kDeviceColumns + " FROM devices ORDER BY enrolled_at, id");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) { out.push_back(device_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<bool> SqliteDevices::revoke_device(const std::string& id) {
  auto st = db_.prepare("UPDATE devices SET revoked = 1 WHERE id = ? RETURNING 1");
  if (!st) return st.error();
  st->bind(1, id);
  auto v = integer(*st, 0);
  if (!v) return v.error();
  return *v == 1;
}

Result<void> SqliteDevices::touch_device(const std::string& id, int64_t now) {
  auto st = db_.cached("UPDATE devices SET last_seen = ? WHERE id = ?");
  if (!st) return st.error();
  (*st)->bind(1, now).bind(2, id);
  return (*st)->run();
}

Result<void> SqliteDevices::record_pull(const std::string& id, int64_t now) {
  auto st = db_.cached("UPDATE devices SET last_pull_at = max(last_pull_at, ?) WHERE id = ?");
  if (!st) return st.error();
  (*st)->bind(1, now).bind(2, id);
  return (*st)->run();
}

}  // namespace hearth::server::sqlite
