#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

namespace {
constexpr const char* kHeldColumns =
    "op_id, at, family, practitioner, device, route_to, reason, body, decision, decided_at, decided_by, "
    "decision_note, decision_ops";
// A held op as stored: reason, body and decision note are sealed under the family's key.
Result<HeldOp> held_from(Statement& r, FamilySealer& sealer) {
  HeldOp h{r.text(0), r.integer(1), r.text(2), r.text(3), r.text(4), r.text(5), {}, {}};
  auto open = [&](int col, const char* column) -> Result<std::string> {
    auto plain = sealer.open(h.family, r.blob(col), held_aad(h.op_id, column));
    if (!plain) return make_error(plain.error().code, "held op " + h.op_id + " " + column + ": " + plain.error().message);
    return plain;
  };
  auto reason = open(6, "reason");
  if (!reason) return reason.error();
  auto body = open(7, "body");
  if (!body) return body.error();
  h.reason = std::move(*reason);
  h.body = std::move(*body);
  if (!r.is_null(8)) {
    auto note = open(11, "decision_note");
    if (!note) return note.error();
    h.decision = HeldDecision{r.text(8), r.integer(9), r.text(10), std::move(*note), r.text(12)};
  }
  return h;
}
}  // namespace

std::string held_aad(const std::string& op_id, const char* column) {
  return std::string("hearth-server held v1|") + op_id + "|" + column;
}

std::string flag_aad(const std::string& kind, const std::string& op_id) {
  return "hearth-server flag v1|" + kind + "|" + op_id;
}

Result<bool> SqlFlagLog::add(const Flag& f) {
  auto st = db_.cached(
      "INSERT INTO flags(at, family, kind, op_id, practitioner, device, detail) VALUES(?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(kind, op_id) DO NOTHING RETURNING id");
  if (!st) return st.error();
  (*st)->bind(1, f.at).bind(2, f.family).bind(3, f.kind).bind(4, f.op_id).bind(5, f.practitioner).bind(6, f.device);
  auto detail = sealer_.seal(f.family, f.detail, flag_aad(f.kind, f.op_id));
  if (!detail) return detail.error();
  (*st)->bind_blob(7, *detail);
  auto id = integer(**st, 0);
  if (!id) return id.error();
  return *id != 0;
}

Result<std::vector<Flag>> SqlFlagLog::list(const std::optional<std::string>& family) {
  std::vector<Flag> out;
  auto st = db_.prepare(
      "SELECT id, at, family, kind, op_id, practitioner, device, detail FROM flags "
      "WHERE CAST(?1 AS TEXT) IS NULL OR family = ?1 ORDER BY id");
  if (!st) return st.error();
  if (family) st->bind(1, *family);
  else st->bind_null(1);
  std::optional<Error> failed;
  auto done = st->each([&](Statement& r) {
    if (failed) return;
    Flag f{r.integer(0), r.integer(1), r.text(2), r.text(3), r.text(4), r.text(5), r.text(6), {}};
    auto detail = sealer_.open(f.family, r.blob(7), flag_aad(f.kind, f.op_id));
    if (!detail) failed = make_error(detail.error().code, "flag on op " + f.op_id + ": " + detail.error().message);
    else f.detail = std::move(*detail);
    out.push_back(std::move(f));
  });
  if (!done) return done.error();
  if (failed) return *failed;
  return out;
}

Result<bool> SqlFlagLog::hold(const HeldOp& h) {
  auto st = db_.cached(
      "INSERT INTO held_ops(op_id, at, family, practitioner, device, route_to, reason, body) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(op_id) DO NOTHING RETURNING 1");
  if (!st) return st.error();
  (*st)->bind(1, h.op_id).bind(2, h.at).bind(3, h.family).bind(4, h.practitioner).bind(5, h.device);
  auto reason = sealer_.seal(h.family, h.reason, held_aad(h.op_id, "reason"));
  if (!reason) return reason.error();
  auto body = sealer_.seal(h.family, h.body, held_aad(h.op_id, "body"));
  if (!body) return body.error();
  (*st)->bind(6, h.route_to).bind_blob(7, *reason).bind_blob(8, *body);
  auto added = integer(**st, 0);
  if (!added) return added.error();
  return *added != 0;
}

Result<std::vector<HeldOp>> SqlFlagLog::held(const std::optional<std::string>& family) {
  std::vector<HeldOp> out;
  auto st = db_.prepare(std::string("SELECT ") + kHeldColumns + " FROM held_ops WHERE CAST(?1 AS TEXT) IS NULL OR family = ?1 ORDER BY rowid");
  if (!st) return st.error();
  if (family) st->bind(1, *family);
  else st->bind_null(1);
  std::optional<Error> failed;
  auto done = st->each([&](Statement& r) {
    if (failed) return;
    auto h = held_from(r, sealer_);
    if (!h) failed = h.error();
    else out.push_back(std::move(*h));
  });
  if (!done) return done.error();
  if (failed) return *failed;
  return out;
}

Result<std::optional<HeldOp>> SqlFlagLog::held_op(const std::string& op_id) {
  auto st = db_.prepare(std::string("SELECT ") + kHeldColumns + " FROM held_ops WHERE op_id = ?");
  if (!st) return st.error();
  st->bind(1, op_id);
  std::optional<HeldOp> out;
  std::optional<Error> failed;
  auto done = st->each([&](Statement& r) {
    auto h = held_from(r, sealer_);
    if (!h) failed = h.error();
    else out = std::move(*h);
  });
  if (!done) return done.error();
  if (failed) return *failed;
  return out;
}

Result<bool> SqlFlagLog::decide(const std::string& op_id, const HeldDecision& d) {
  auto family = db_.prepare("SELECT family FROM held_ops WHERE op_id = ?");
  if (!family) return family.error();
  family->bind(1, op_id);
  auto found = family->step();
  if (!found) return found.error();
  if (!*found) return false;
  auto note = sealer_.seal(family->text(0), d.note, held_aad(op_id, "decision_note"));
  if (!note) return note.error();
  auto st = db_.prepare(
      "UPDATE held_ops SET decision = ?, decided_at = ?, decided_by = ?, decision_note = ?, decision_ops = ? "
      "WHERE op_id = ? AND decision IS NULL RETURNING 1");
  if (!st) return st.error();
  st->bind(1, d.outcome).bind(2, d.at).bind(3, d.by).bind_blob(4, *note).bind(5, d.ops).bind(6, op_id);
  auto changed = integer(*st, 0);
  if (!changed) return changed.error();
  return *changed != 0;
}

Result<uint64_t> SqlFlagLog::highest_held_counter(const std::string& device) {
  auto st = db_.cached(
      "SELECT max(CAST(substr(op_id, length(device) + 2) AS BIGINT)) FROM held_ops WHERE device = ?");
  if (!st) return st.error();
  (*st)->bind(1, device);
  auto v = integer(**st, 0);
  if (!v) return v.error();
  return static_cast<uint64_t>(*v);
}

}  // namespace hearth::server::sql
