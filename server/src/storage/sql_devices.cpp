#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

namespace {
constexpr const char* kDeviceColumns =
    "id, practitioner, enrolled_at, last_seen, revoked, expires_at, last_pull_at, wipe_requested_at, wipe_discard, "
    "wipe_acknowledged_at, wipe_unsynced_lost, wipe_quarantined_lost, lease_until, views_through";
DeviceRecord device_from(Statement& r) {
  DeviceRecord d{r.text(0), r.text(1), r.integer(2), r.integer(3), r.integer(4) != 0, r.integer(5), r.integer(6)};
  d.wipe_requested_at = r.integer(7);
  d.wipe_discard_unsynced = r.integer(8) != 0;
  d.wipe_acknowledged_at = r.integer(9);
  d.wipe_unsynced_lost = r.integer(10);
  d.wipe_quarantined_lost = r.integer(11);
  d.lease_until = r.integer(12);
  d.views_through = r.integer(13);
  return d;
}
}  // namespace

Result<void> SqlDevices::add_enrol_code(const std::string& hash, const std::string& practitioner, int64_t expires) {
  auto st = db_.prepare("INSERT INTO enrol_codes(code_hash, practitioner, expires_at) VALUES(?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, hash).bind(2, practitioner).bind(3, expires);
  return st->run();
}

Result<std::optional<std::string>> SqlDevices::spend_enrol_code(const std::string& hash, int64_t now) {
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

Result<void> SqlDevices::add_device(const std::string& id, const std::string& practitioner,
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

Result<std::optional<DeviceRecord>> SqlDevices::device_by_token(const std::string& token_hash) {
  static const std::string by_token = std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE token_hash = ?";
  auto st = db_.cached(by_token.c_str());
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

Result<std::vector<DeviceRecord>> SqlDevices::devices() {
  std::vector<DeviceRecord> out;
  auto st = db_.prepare(std::string("SELECT ") + kDeviceColumns + " FROM devices ORDER BY enrolled_at, id");
  if (!st) return st.error();
  auto done = st->each([&](Statement& r) { out.push_back(device_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<bool> SqlDevices::revoke_device(const std::string& id) {
  auto st = db_.prepare("UPDATE devices SET revoked = 1 WHERE id = ? RETURNING 1");
  if (!st) return st.error();
  st->bind(1, id);
  auto v = integer(*st, 0);
  if (!v) return v.error();
  return *v == 1;
}

Result<void> SqlDevices::touch_device(const std::string& id, int64_t now) {
  auto st = db_.cached("UPDATE devices SET last_seen = ? WHERE id = ?");
  if (!st) return st.error();
  (*st)->bind(1, now).bind(2, id);
  return (*st)->run();
}

Result<void> SqlDevices::record_pull(const std::string& id, int64_t now) {
  auto st = db_.cached("UPDATE devices SET last_pull_at = CASE WHEN last_pull_at > ?1 THEN last_pull_at ELSE ?1 END WHERE id = ?2");
  if (!st) return st.error();
  (*st)->bind(1, now).bind(2, id);
  return (*st)->run();
}

Result<bool> SqlDevices::request_wipe(const std::string& id, int64_t at, bool discard_unsynced) {
  auto existing = db_.prepare("SELECT revoked, wipe_acknowledged_at FROM devices WHERE id = ?");
  if (!existing) return existing.error();
  existing->bind(1, id);
  auto row = existing->step();
  if (!row) return row.error();
  if (!*row) return false;
  if (existing->integer(1) != 0)
    return make_error(ErrorCode::conflict, "device " + id + " acknowledged a wipe already; nothing is left on it to wipe");
  if (existing->integer(0) != 0)
    return make_error(ErrorCode::conflict, "device " + id +
                                               " is revoked: it is told to wipe at its next contact already, and "
                                               "can no longer push first");
  existing->reset();
  auto st = db_.prepare(
      "UPDATE devices SET wipe_requested_at = CASE WHEN wipe_requested_at = 0 THEN ? ELSE wipe_requested_at END, "
      "wipe_discard = ? WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, at).bind(2, int64_t{discard_unsynced ? 1 : 0}).bind(3, id);
  if (auto r = st->run(); !r) return r.error();
  return true;
}

Result<bool> SqlDevices::acknowledge_wipe(const std::string& id, int64_t at, int64_t unsynced_lost,
                                             int64_t quarantined_lost) {
  auto st = db_.prepare(
      "UPDATE devices SET wipe_acknowledged_at = ?, wipe_unsynced_lost = ?, wipe_quarantined_lost = ?, revoked = 1 "
      "WHERE id = ? AND wipe_requested_at != 0 AND wipe_acknowledged_at = 0 RETURNING 1");
  if (!st) return st.error();
  st->bind(1, at).bind(2, unsynced_lost).bind(3, quarantined_lost).bind(4, id);
  auto row = st->step();
  if (!row) return row.error();
  bool changed = *row;
  st->reset();
  return changed;
}

Result<void> SqlDevices::record_views_through(const std::string& id, int64_t seq) {
  auto st = db_.cached("UPDATE devices SET views_through = CASE WHEN views_through > ?1 THEN views_through ELSE ?1 END WHERE id = ?2");
  if (!st) return st.error();
  (*st)->bind(1, seq).bind(2, id);
  return (*st)->run();
}

Result<void> SqlDevices::record_lease(const std::string& id, int64_t until) {
  auto st = db_.cached("UPDATE devices SET lease_until = ? WHERE id = ?");
  if (!st) return st.error();
  (*st)->bind(1, until).bind(2, id);
  return (*st)->run();
}

}  // namespace hearth::server::sql
