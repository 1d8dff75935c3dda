#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

namespace {
OfficeCredential credential_from(Statement& r) {
  OfficeCredential c{r.text(0), r.integer(1), std::nullopt};
  if (!r.is_null(2)) c.revoked_at = r.integer(2);
  return c;
}
}  // namespace

Result<bool> SqlOfficeCredentials::issue(const std::string& name, const std::string& token_hash, int64_t now) {
  auto st = db_.prepare(
      "INSERT INTO office_credentials(name, token_hash, issued_at) VALUES(?, ?, ?) ON CONFLICT(name) DO NOTHING "
      "RETURNING 1");
  if (!st) return st.error();
  st->bind(1, name).bind(2, token_hash).bind(3, now);
  auto added = integer(*st, 0);
  if (!added) return added.error();
  return *added != 0;
}

Result<std::optional<OfficeCredential>> SqlOfficeCredentials::by_token(const std::string& token_hash) {
  auto st = db_.prepare("SELECT name, issued_at, revoked_at FROM office_credentials WHERE token_hash = ?");
  if (!st) return st.error();
  st->bind(1, token_hash);
  std::optional<OfficeCredential> out;
  auto done = st->each([&](Statement& r) { out = credential_from(r); });
  if (!done) return done.error();
  return out;
}

Result<std::vector<OfficeCredential>> SqlOfficeCredentials::list() {
  auto st = db_.prepare("SELECT name, issued_at, revoked_at FROM office_credentials ORDER BY name");
  if (!st) return st.error();
  std::vector<OfficeCredential> out;
  auto done = st->each([&](Statement& r) { out.push_back(credential_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<bool> SqlOfficeCredentials::revoke(const std::string& name, int64_t now) {
  auto st = db_.prepare(
      "UPDATE office_credentials SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING 1");
  if (!st) return st.error();
  st->bind(1, now).bind(2, name);
  auto changed = integer(*st, 0);
  if (!changed) return changed.error();
  return *changed != 0;
}

Result<std::optional<InboundMessage>> SqlOfficeCredentials::inbound_message(const std::string& id) {
  auto st = db_.prepare("SELECT id, body_hash, at, credential, family, answer FROM office_inbound WHERE id = ?");
  if (!st) return st.error();
  st->bind(1, id);
  std::optional<InboundMessage> out;
  auto done = st->each([&](Statement& r) {
    out = InboundMessage{r.text(0), r.text(1), r.integer(2), r.text(3), r.text(4), r.text(5)};
  });
  if (!done) return done.error();
  return out;
}

Result<bool> SqlOfficeCredentials::record_inbound(const InboundMessage& m) {
  auto st = db_.prepare(
      "INSERT INTO office_inbound(id, body_hash, at, credential, family, answer) VALUES(?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(id) DO NOTHING RETURNING 1");
  if (!st) return st.error();
  st->bind(1, m.id).bind(2, m.body_hash).bind(3, m.at).bind(4, m.credential).bind(5, m.family).bind(6, m.answer);
  auto added = integer(*st, 0);
  if (!added) return added.error();
  return *added != 0;
}

}  // namespace hearth::server::sql
