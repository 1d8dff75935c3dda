#include "sqlite_parts.hpp"
#include "sqlite_util.hpp"

namespace hearth::server::sqlite {

namespace {
constexpr const char* kHeldColumns =
    "op_id, at, family, practitioner, device, route_to, reason, body, decision, decided_at, decided_by, "
    "decision_note, decision_ops";
HeldOp held_from(Statement& r) {
  HeldOp h{r.text(0), r.integer(1), r.text(2), r.text(3), r.text(4), r.text(5), r.text(6), r.blob(7)};
  if (!r.is_null(8)) h.decision = HeldDecision{r.text(8), r.integer(9), r.text(10), r.text(11), r.text(12)};
  return h;
}
}  // namespace

Result<bool> SqliteFlagLog::add(const Flag& f) {
  auto st = db_.cached(
      "INSERT INTO flags(at, family, kind, op_id, practitioner, device, detail) VALUES(?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(kind, op_id) DO NOTHING RETURNING id");
  if (!st) return st.error();
  (*st)->bind(1, f.at).bind(2, f.family).bind(3, f.kind).bind(4, f.op_id).bind(5, f.practitioner).bind(6, f.device);
  (*st)->bind(7, f.detail);
  auto id = integer(**st, 0);
  if (!id) return id.error();
  return *id != 0;
}

Result<std::vector<Flag>> SqliteFlagLog::list(const std::optional<std::string>& family) {
  std::vector<Flag> out;
  auto st = db_.prepare(
      "SELECT id, at, family, kind, op_id, practitioner, device, detail FROM flags "
      "WHERE ?1 IS NULL OR family = ?1 ORDER BY id");
  if (!st) return st.error();
  if (family) st->bind(1, *family);
  else st->bind_null(1);
  auto done = st->each([&](Statement& r) {
    out.push_back(Flag{r.integer(0), r.integer(1), r.text(2), r.text(3), r.text(4), r.text(5), r.text(6), r.text(7)});
  });
  if (!done) return done.error();
  return out;
}

Result<bool> SqliteFlagLog::hold(const HeldOp& h) {
  auto st = db_.cached(
      "INSERT INTO held_ops(op_id, at, family, practitioner, device, route_to, reason, body) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(op_id) DO NOTHING RETURNING 1");
  if (!st) return st.error();
  (*st)->bind(1, h.op_id).bind(2, h.at).bind(3, h.family).bind(4, h.practitioner).bind(5, h.device);
  (*st)->bind(6, h.route_to).bind(7, h.reason).bind_blob(8, h.body);
  auto added = integer(**st, 0);
  if (!added) return added.error();
  return *added != 0;
}

Result<std::vector<HeldOp>> SqliteFlagLog::held(const std::optional<std::string>& family) {
  std::vector<HeldOp> out;
  auto st = db_.prepare(std::string("SELECT ") + kHeldColumns + " FROM held_ops WHERE ?1 IS NULL OR family = ?1 ORDER BY rowid");
  if (!st) return st.error();
  if (family) st->bind(1, *family);
  else st->bind_null(1);
  auto done = st->each([&](Statement& r) { out.push_back(held_from(r)); });
  if (!done) return done.error();
  return out;
}

Result<std::optional<HeldOp>> SqliteFlagLog::held_op(const std::string& op_id) {
  auto st = db_.prepare(std::string("SELECT ") + kHeldColumns + " FROM held_ops WHERE op_id = ?");
  if (!st) return st.error();
  st->bind(1, op_id);
  std::optional<HeldOp> out;
  auto done = st->each([&](Statement& r) { out = held_from(r); });
  if (!done) return done.error();
  return out;
}

Result<bool> SqliteFlagLog::decide(const std::string& op_id, const HeldDecision& d) {
  auto st = db_.prepare(
      "UPDATE held_ops SET decision = ?, decided_at = ?, decided_by = ?, decision_note = ?, decision_ops = ? "
      "WHERE op_id = ? AND decision IS NULL RETURNING 1");
  if (!st) return st.error();
  st->bind(1, d.outcome).bind(2, d.at).bind(3, d.by).bind(4, d.note).bind(5, d.ops).bind(6, op_id);
  auto changed = integer(*st, 0);
  if (!changed) return changed.error();
  return *changed != 0;
}

Result<uint64_t> SqliteFlagLog::highest_held_counter(const std::string& device) {
  auto st = db_.cached(
      "SELECT max(CAST(substr(op_id, length(device) + 2) AS INTEGER)) FROM held_ops WHERE device = ?");
  if (!st) return st.error();
  (*st)->bind(1, device);
  auto v = integer(**st, 0);
  if (!v) return v.error();
  return static_cast<uint64_t>(*v);
}

}  // namespace hearth::server::sqlite
