// Store: what the server's access policy leaves on the device (issue 8). Per family, the view
// digest and the withheld list its last page carried; the ops the server held for someone to
// decide; the policy snapshot and its offline enforcement (DOMAIN.md §6.8, S2c): sharing
// blocked, families locked, synced records purged, and never a practitioner's unsent work.
#include <algorithm>
#include <charconv>

#include "hearth/core/civil_time.hpp"
#include "store_impl.hpp"

namespace hearth::client {

namespace {

constexpr const char* kPolicySecret = "policy";
constexpr const char* kSeenSecret = "seen";
constexpr uint64_t kSeenGranularityMs = 60 * 1000;

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool parse_u64(const std::string& text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "3 days 4 hours", "5 hours", "12 minutes": how long, for a message a practitioner reads.
std::string duration(int64_t ms) {
  if (ms < 0) ms = 0;
  const int64_t minute = 60000, hour = 60 * minute, day = 24 * hour;
  auto unit = [](int64_t n, const char* name) { return std::to_string(n) + " " + name + (n == 1 ? "" : "s"); };
  if (ms >= day) {
    int64_t hours = (ms % day) / hour;
    return unit(ms / day, "day") + (hours ? " " + unit(hours, "hour") : "");
  }
  if (ms >= hour) return unit(ms / hour, "hour");
  return unit(ms / minute, "minute");
}

// "2026-11-30T08:00:00Z": a server time for a message a practitioner reads.
std::string iso_time(uint64_t ms) { return civil::format_datetime_seconds(static_cast<int64_t>(ms)); }

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

const char* to_string(OfflineState state) {
  switch (state) {
    case OfflineState::no_policy: return "no_policy";
    case OfflineState::fresh: return "fresh";
    case OfflineState::sharing_blocked: return "sharing_blocked";
    case OfflineState::locked: return "locked";
    case OfflineState::purge_due: return "purge_due";
  }
  return "no_policy";
}

// ---- views ----------------------------------------------------------------------------------
// One sealed row per family: the digest, then one withheld entry per line (the codec refuses
// control characters in both, and write_view checks again).

Result<std::optional<FamilyViewInfo>> Store::Impl::read_view(const std::string& family) {
  auto st = db->prepare("SELECT body FROM family_views WHERE family = ?");
  if (!st) return st.error();
  st->bind(1, family);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<FamilyViewInfo>();
  auto plain = vault->open(family, st->blob(0), aad::view(family));
  if (!plain) return make_error(plain.error().code, "the view of family " + family + ": " + plain.error().message);
  auto lines = split_lines(*plain);
  FamilyViewInfo info;
  info.view = lines.front();
  info.withheld.assign(lines.begin() + 1, lines.end());
  return std::optional<FamilyViewInfo>(std::move(info));
}

Result<void> Store::Impl::write_view(const std::string& family, const FamilyViewInfo& info) {
  if (info.view.empty() || has_control(info.view))
    return make_error(ErrorCode::invalid_argument, "the view digest of family " + family + " is empty or holds control characters");
  std::string body = info.view;
  for (const auto& w : info.withheld) {
    if (w.empty() || has_control(w))
      return make_error(ErrorCode::invalid_argument,
                        "a withheld entry of family " + family + " is empty or holds control characters");
    body += "\n" + w;
  }
  auto sealed = vault->seal(family, body, aad::view(family));
  if (!sealed) return sealed.error();
  auto st = db->cached("INSERT OR REPLACE INTO family_views(family, body) VALUES(?, ?)");
  if (!st) return st.error();
  (*st)->bind(1, family).bind_blob(2, *sealed);
  return (*st)->run();
}

Result<std::vector<std::string>> Store::withheld(const std::string& family_id) const {
  return impl_->app_call("withheld", [&]() -> Result<std::vector<std::string>> {
    Impl& im = *impl_;
    auto view = im.read_view(family_id);
    if (!view) return view.error();
    if (!*view && !im.holds_family(family_id)) return make_error(ErrorCode::not_found, "no family with id '" + family_id + "'");
    if (auto r = im.check_unlocked(family_id); !r) return r.error();
    if (!*view) return std::vector<std::string>();
    return std::move((*view)->withheld);
  });
}

// ---- held ops -------------------------------------------------------------------------------

namespace {

// What an op would do, in words (for Store::held).
std::string describe(const sync::Op& op) {
  std::string record = op.entity_type + " " + op.entity_id;
  switch (op.kind) {
    case sync::OpKind::Create: return "create " + record;
    case sync::OpKind::Set: return "set " + record + " " + op.field + " to " + op.value.describe();
    case sync::OpKind::Add: return "add " + op.value.describe() + " to " + record + " " + op.field;
    case sync::OpKind::Remove: return "remove " + op.value.describe() + " from " + record + " " + op.field;
    case sync::OpKind::Transition: return "move " + record + " " + op.field + " to " + op.value.describe();
    case sync::OpKind::Delete: return "delete " + record;
    case sync::OpKind::Acknowledge: return "acknowledge conflict " + op.text + " on " + record;
    case sync::OpKind::Restamp: return "re-stamp an op of " + record;
  }
  return record;
}

// What an op would do, in words, without its value: kept on the device after its family is
// purged, when the value must not stay readable (the purge may be an erasure or a withdrawal).
std::string describe_without_value(const sync::Op& op) {
  std::string record = op.entity_type + " " + op.entity_id;
  switch (op.kind) {
    case sync::OpKind::Create: return "create " + record;
    case sync::OpKind::Set: return "set " + record + " " + op.field;
    case sync::OpKind::Add: return "add to " + record + " " + op.field;
    case sync::OpKind::Remove: return "remove from " + record + " " + op.field;
    case sync::OpKind::Transition: return "move " + record + " " + op.field;
    case sync::OpKind::Delete: return "delete " + record;
    case sync::OpKind::Acknowledge: return "acknowledge a conflict on " + record;
    case sync::OpKind::Restamp: return "re-stamp an op of " + record;
  }
  return record;
}

// "<by>\n<note>" as record_held_decisions sealed it.
void open_decision(const std::string& plain, HeldOp& h) {
  size_t at = plain.find('\n');
  h.decided_by = plain.substr(0, at);
  h.decision_note = at == std::string::npos ? std::string() : plain.substr(at + 1);
}

}  // namespace

Result<void> Store::Impl::keep_held(const std::string& family) {
  auto st = db->prepare(
      "SELECT h.seq, h.op_id, h.body, h.at, h.outcome, h.decision, h.decided_at, o.device, o.counter, o.body "
      "FROM held h JOIN ops o ON o.seq = h.seq WHERE h.family = ? ORDER BY h.seq");
  if (!st) return st.error();
  auto ins = db->prepare(
      "INSERT OR REPLACE INTO held_purged(seq, op_id, family, body, at, outcome, decision, decided_at) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  st->bind(1, family);
  return st->each([&](Statement& row) -> Result<void> {
    const int64_t seq = row.integer(0);
    const std::string op_id = row.text(1);
    // A row that does not open still leaves an entry naming the op: the purge (a withdrawal,
    // an erasure, the offline limit) must not be blocked by it, nor the op forgotten.
    std::string route_to, reason, type, id, what;
    auto body = vault->open(kDevicePartition, row.blob(2), aad::held(seq));
    auto op = read_op(family, sync::OpId{row.text(7), static_cast<uint64_t>(row.integer(8))}, row.blob(9));
    if (body && op) {
      size_t nl = body->find('\n');
      route_to = body->substr(0, nl);
      reason = nl == std::string::npos ? std::string() : body->substr(nl + 1);
      type = op->entity_type;
      id = op->entity_id;
      what = describe_without_value(*op);
    } else {
      what = "held op " + op_id + " (its description could not be read: " +
             (body ? op.error().message : body.error().message) + ")";
    }
    // one line each (ids and names hold no line break), the reason last: it may span lines
    auto kept = vault->seal(kDevicePartition, route_to + "\n" + type + "\n" + id + "\n" + what + "\n" + reason,
                            aad::held_purged(seq));
    if (!kept) return kept.error();
    ins->bind(1, seq).bind(2, op_id).bind(3, family).bind_blob(4, *kept).bind(5, row.integer(3));
    if (row.is_null(4)) {
      ins->bind_null(6).bind_null(7).bind_null(8);
    } else {
      // the decision opens only in its row: sealed again for the new one
      auto decision = vault->open(kDevicePartition, row.blob(5), aad::held_decision(seq));
      const std::string text = decision ? *decision : "\n(who decided could not be read: " + decision.error().message + ")";
      auto resealed = vault->seal(kDevicePartition, text, aad::held_purged_decision(seq));
      if (!resealed) return resealed.error();
      ins->bind(6, row.text(4)).bind_blob(7, *resealed).bind(8, row.integer(6));
    }
    return ins->run();
  });
}

Result<std::vector<HeldOp>> Store::Impl::read_held() {
  std::vector<std::pair<int64_t, HeldOp>> out;
  auto st = db->prepare(
      "SELECT h.seq, h.op_id, h.family, h.body, h.at, h.outcome, h.decision, h.decided_at, o.device, o.counter, o.body "
      "FROM held h JOIN ops o ON o.seq = h.seq ORDER BY h.seq");
  if (!st) return st.error();
  auto done = st->each([&](Statement& row) -> Result<void> {
    auto body = vault->open(kDevicePartition, row.blob(3), aad::held(row.integer(0)));
    if (!body) return make_error(body.error().code, "held op " + row.text(1) + ": " + body.error().message);
    // route_to on the first line (no control characters), the reason after it
    size_t nl = body->find('\n');
    HeldOp h;
    h.op_id = row.text(1);
    h.family = row.text(2);
    h.route_to = body->substr(0, nl);
    h.reason = nl == std::string::npos ? std::string() : body->substr(nl + 1);
    h.at_ms = row.integer(4);
    auto op = read_op(h.family, sync::OpId{row.text(8), static_cast<uint64_t>(row.integer(9))}, row.blob(10));
    if (!op) return make_error(op.error().code, "held op " + h.op_id + ": " + op.error().message);
    h.entity_type = op->entity_type;
    h.entity_id = op->entity_id;
    h.what = describe(*op);
    if (!row.is_null(5)) {
      h.outcome = row.text(5);
      auto decision = vault->open(kDevicePartition, row.blob(6), aad::held_decision(row.integer(0)));
      if (!decision) return make_error(decision.error().code, "held op " + h.op_id + ": " + decision.error().message);
      open_decision(*decision, h);
      h.decided_at_ms = row.integer(7);
    }
    out.emplace_back(row.integer(0), std::move(h));
    return {};
  });
  if (!done) return done.error();
  auto kept = db->prepare("SELECT seq, op_id, family, body, at, outcome, decision, decided_at FROM held_purged ORDER BY seq");
  if (!kept) return kept.error();
  done = kept->each([&](Statement& row) -> Result<void> {
    const int64_t seq = row.integer(0);
    HeldOp h;
    h.op_id = row.text(1);
    h.family = row.text(2);
    h.family_purged = true;
    auto body = vault->open(kDevicePartition, row.blob(3), aad::held_purged(seq));
    if (!body) return make_error(body.error().code, "held op " + h.op_id + ": " + body.error().message);
    // route_to, entity type, record id, what (one line each), then the reason (keep_held)
    std::string_view rest = *body;
    std::string* lines[] = {&h.route_to, &h.entity_type, &h.entity_id, &h.what};
    for (std::string* line : lines) {
      size_t nl = rest.find('\n');
      if (nl == std::string_view::npos)
        return make_error(ErrorCode::corrupt, "held op " + h.op_id + ": its kept description is cut short");
      line->assign(rest.substr(0, nl));
      rest.remove_prefix(nl + 1);
    }
    h.reason.assign(rest);
    h.at_ms = row.integer(4);
    if (!row.is_null(5)) {
      h.outcome = row.text(5);
      auto decision = vault->open(kDevicePartition, row.blob(6), aad::held_purged_decision(seq));
      if (!decision) return make_error(decision.error().code, "held op " + h.op_id + ": " + decision.error().message);
      open_decision(*decision, h);
      h.decided_at_ms = row.integer(7);
    }
    out.emplace_back(seq, std::move(h));
    return {};
  });
  if (!done) return done.error();
  // ops.seq is never reused, so the two tables interleave by it in the order the ops were made
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<HeldOp> held;
  held.reserve(out.size());
  for (auto& [seq, h] : out) held.push_back(std::move(h));
  return held;
}

Result<void> Store::Impl::rematerialise(const std::string& family, const std::set<std::string>& entities) {
  evict(family);
  if (auto r = ensure_family(family); !r) return r;
  for (const auto& id : entities) {
    if (mat.entity(id)) {
      if (auto r = write_entity(id, nullptr); !r) return r;
      continue;
    }
    // Only held ops made it (e.g. a held Create): nothing of it is in the view.
    for (const char* sql : {"DELETE FROM fields WHERE entity = ?", "DELETE FROM conflicts WHERE entity = ?",
                            "DELETE FROM entities WHERE id = ?"}) {
      auto del = db->prepare(sql);
      if (!del) return del.error();
      del->bind(1, id);
      if (auto r = del->run(); !r) return r;
    }
    with_conflict_rows.erase(id);
  }
  return {};
}

Result<std::vector<HeldOp>> Store::held() const {
  return impl_->app_call("held", [&] { return impl_->read_held(); });
}

// ---- the policy snapshot --------------------------------------------------------------------
// Sealed under the device key as lines: issued_at, the three periods, practitioner,
// organisation, the roles separated by ','.

Result<std::optional<PolicySnapshot>> Store::Impl::read_policy() {
  auto st = db->cached("SELECT value FROM secrets WHERE name = ?");
  if (!st) return st.error();
  (*st)->bind(1, kPolicySecret);
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row) {
    (*st)->reset();
    return std::optional<PolicySnapshot>();
  }
  std::string sealed = (*st)->blob(0);
  (*st)->reset();
  auto plain = vault->open(kDevicePartition, sealed, aad::secret(kPolicySecret));
  if (!plain) return make_error(plain.error().code, "the policy snapshot: " + plain.error().message);
  auto lines = split_lines(*plain);
  PolicySnapshot p;
  // an eighth line, the key lease (N5), since the lease existed
  if ((lines.size() != 7 && lines.size() != 8) || !parse_u64(lines[0], p.issued_at_ms) ||
      !parse_u64(lines[1], p.sharing_block_after_ms) || !parse_u64(lines[2], p.lock_after_ms) ||
      !parse_u64(lines[3], p.purge_after_ms) || (lines.size() == 8 && !parse_u64(lines[7], p.key_lease_ms)))
    return make_error(ErrorCode::corrupt, "the policy snapshot is malformed");
  p.practitioner = lines[4];
  p.organisation = lines[5];
  for (size_t start = 0; start < lines[6].size();) {
    size_t end = std::min(lines[6].find(',', start), lines[6].size());
    p.system_roles.push_back(lines[6].substr(start, end - start));
    start = end + 1;
  }
  return std::optional<PolicySnapshot>(std::move(p));
}

Result<void> SyncPort::record_policy(const PolicySnapshot& policy) {
  return im_->call("record_policy", [&]() -> Result<void> {
    Store::Impl& im = *im_;
    for (const auto* text : {&policy.practitioner, &policy.organisation})
      if (has_control(*text)) return make_error(ErrorCode::invalid_argument, "the policy snapshot holds control characters");
    std::string roles;
    for (const auto& r : policy.system_roles) {
      if (r.empty() || has_control(r) || r.find(',') != std::string::npos)
        return make_error(ErrorCode::invalid_argument, "the policy snapshot's role '" + r + "' is malformed");
      roles += (roles.empty() ? "" : ",") + r;
    }
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    auto known = im.read_policy();
    if (!known) return known.error();
    if (*known && (*known)->issued_at_ms > policy.issued_at_ms) return {};  // an answer older than the one kept
    std::string body = std::to_string(policy.issued_at_ms) + "\n" + std::to_string(policy.sharing_block_after_ms) + "\n" +
                       std::to_string(policy.lock_after_ms) + "\n" + std::to_string(policy.purge_after_ms) + "\n" +
                       policy.practitioner + "\n" + policy.organisation + "\n" + roles + "\n" +
                       std::to_string(policy.key_lease_ms);
    auto sealed = im.vault->seal(kDevicePartition, body, aad::secret(kPolicySecret));
    if (!sealed) return sealed.error();
    auto st = im.db->prepare("INSERT OR REPLACE INTO secrets(name, value) VALUES(?, ?)");
    if (!st) return st.error();
    st->bind(1, kPolicySecret).bind_blob(2, *sealed);
    if (auto r = st->run(); !r) return r;
    // The server's time replaces the highest time seen: a device clock that once ran ahead
    // does not keep the store locked after a sync.
    if (auto r = im.note_seen(policy.issued_at_ms, /*reset*/ true); !r) return r;
    // The key lease is renewed by every answer that carries a policy (N5).
    if (auto r = im.write_lease(policy.issued_at_ms + (policy.key_lease_ms ? policy.key_lease_ms : kDefaultKeyLeaseMs)); !r)
      return r;
    return tx.commit();
  });
}

Result<uint64_t> Store::Impl::read_seen() {
  auto st = db->cached("SELECT value FROM secrets WHERE name = ?");
  if (!st) return st.error();
  (*st)->bind(1, kSeenSecret);
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row) {
    (*st)->reset();
    return uint64_t{0};
  }
  std::string sealed = (*st)->blob(0);
  (*st)->reset();
  auto plain = vault->open(kDevicePartition, sealed, aad::secret(kSeenSecret));
  if (!plain) return make_error(plain.error().code, "the highest time seen: " + plain.error().message);
  uint64_t seen = 0;
  if (!parse_u64(*plain, seen)) return make_error(ErrorCode::corrupt, "the highest time seen is malformed");
  return seen;
}

Result<void> Store::Impl::note_seen(uint64_t now_ms, bool reset) {
  auto seen = read_seen();
  if (!seen) return seen.error();
  if (!reset && now_ms < *seen + kSeenGranularityMs) return {};
  auto sealed = vault->seal(kDevicePartition, std::to_string(now_ms), aad::secret(kSeenSecret));
  if (!sealed) return sealed.error();
  auto st = db->cached("INSERT OR REPLACE INTO secrets(name, value) VALUES(?, ?)");
  if (!st) return st.error();
  (*st)->bind(1, kSeenSecret).bind_blob(2, *sealed);
  if (auto r = (*st)->run(); !r) return r;
  if (lease_cache) lease_cache->seen = now_ms;  // the key lease measures time from it too
  return {};
}

// ---- offline enforcement --------------------------------------------------------------------

Result<OfflineStatus> Store::Impl::offline_status() {
  OfflineStatus out;
  auto policy = read_policy();
  if (!policy) return policy.error();
  if (!*policy) return out;
  out.policy = std::move(*policy);
  // A clock set back does not make the snapshot younger: the highest time seen counts.
  auto seen = read_seen();
  if (!seen) return seen.error();
  const int64_t now = static_cast<int64_t>(std::max<uint64_t>(clock.physical_now(), *seen));
  out.age_ms = std::max<int64_t>(0, now - static_cast<int64_t>(out.policy->issued_at_ms));
  const auto age = static_cast<uint64_t>(out.age_ms);
  out.state = age >= out.policy->purge_after_ms          ? OfflineState::purge_due
              : age >= out.policy->lock_after_ms          ? OfflineState::locked
              : age >= out.policy->sharing_block_after_ms ? OfflineState::sharing_blocked
                                                          : OfflineState::fresh;
  return out;
}

Result<OfflineStatus> Store::offline_status() const {
  return impl_->call("offline_status", [&] { return impl_->offline_status(); });
}

Result<void> Store::Impl::check_unlocked(const std::string& family) {
  if (family.empty()) return {};  // directory records belong to no family
  auto st = offline_status();
  if (!st) return st.error();
  if (st->state != OfflineState::locked && st->state != OfflineState::purge_due) return {};
  return make_error(ErrorCode::locked,
                    "family " + family + " is locked on this device: its access policy was last received " +
                        duration(st->age_ms) + " ago, and records are locked after " +
                        duration(static_cast<int64_t>(st->policy->lock_after_ms)) +
                        " without a sync (DOMAIN.md §6.8); sync (`hearth sync`) to unlock it. Recording still works.");
}

Result<void> Store::Impl::may_share(const std::string& family) {
  if (!holds_family(family)) return make_error(ErrorCode::not_found, "no family with id '" + family + "'");
  auto st = offline_status();
  if (!st) return st.error();
  if (st->state == OfflineState::no_policy)
    return make_error(ErrorCode::forbidden, "sharing family " + family +
                                                "'s records is blocked: this device has not received an access "
                                                "policy yet, so it knows no consent status (DOMAIN.md §6.8); sync "
                                                "first. Recording still works.");
  if (st->state == OfflineState::fresh) return {};
  return make_error(ErrorCode::forbidden,
                    "sharing family " + family + "'s records is blocked: consent status as of " +
                        iso_time(st->policy->issued_at_ms) + " (" + duration(st->age_ms) + " old, more than " +
                        duration(static_cast<int64_t>(st->policy->sharing_block_after_ms)) +
                        ", DOMAIN.md §6.8); sync first (`hearth sync`). Recording still works.");
}

Result<void> Store::may_share(const std::string& family_id) const {
  return impl_->app_call("may_share", [&]() -> Result<void> { return impl_->may_share(family_id); });
}

Result<void> Store::Impl::erase_synced(const std::string& family) {
  evict(family);
  auto last = next_counter();  // own ops erased here (delivered ones) keep their counters used
  if (!last) return last.error();
  if (auto r = raise_counter_floor(static_cast<int64_t>(*last - 1)); !r) return r;
  // held ops go with the synced ones (the server has them): the practitioner keeps sight of them
  if (auto r = keep_held(family); !r) return r;
  for (const char* sql :
       {"DELETE FROM held WHERE family = ?1", "DELETE FROM quarantine WHERE family = ?1 AND acknowledged = 1",
        "DELETE FROM ops WHERE family = ?1 AND seq NOT IN (SELECT seq FROM outbox) "
        "AND seq NOT IN (SELECT seq FROM quarantine WHERE family = ?1)",
        "DELETE FROM fields WHERE entity IN (SELECT id FROM entities WHERE family = ?1)",
        "DELETE FROM entities WHERE family = ?1", "DELETE FROM conflicts WHERE family = ?1",
        "DELETE FROM family_views WHERE family = ?1", "DELETE FROM sync_state WHERE key = 'cursor:' || ?1"}) {
    auto st = db->prepare(sql);
    if (!st) return st.error();
    st->bind(1, family);
    if (auto r = st->run(); !r) return r;
  }
  // The state of what is kept (the practitioner's own unsent work), so that it stays readable
  // once a sync unlocks the store, and the family's records arrive again whole from cursor 0.
  if (auto r = ensure_family(family); !r) return r;
  for (const auto* e : mat.entities(family))
    if (auto r = write_entity(e->id(), nullptr); !r) return r;
  return {};
}

Result<void> Store::Impl::purge_expired() {
  auto st = offline_status();
  if (!st) return st.error();
  if (st->state != OfflineState::purge_due) return {};
  // Families with anything on the server: synced ops, or state (cursors, views) from it.
  std::vector<std::string> families;
  {
    auto q = db->prepare(
        "SELECT DISTINCT family FROM ops WHERE family != '' AND seq NOT IN (SELECT seq FROM outbox) "
        "AND seq NOT IN (SELECT seq FROM quarantine WHERE acknowledged = 0) "
        "UNION SELECT family FROM family_views "
        "UNION SELECT substr(key, 8) FROM sync_state WHERE key LIKE 'cursor:%'");
    if (!q) return q.error();
    auto done = q->each([&](Statement& row) { families.push_back(row.text(0)); });
    if (!done) return done.error();
  }
  if (families.empty()) return {};
  for (const auto& family : families) {
    Transaction tx(*db);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = refresh(); !r) return r;
    auto unsent = unsent_work(family);
    if (!unsent) return unsent.error();
    auto erased = unsent->empty() ? erase_family(family) : erase_synced(family);
    if (erased) erased = tx.commit();
    if (!erased) {
      evict(family);
      return erased;
    }
  }
  // The next sync pulls in full, not a probe: the server's feed has not changed, but what this
  // store holds of it has.
  if (auto r = db->exec("DELETE FROM sync_state WHERE key = 'feed_version'"); !r) return r;
  // no earlier page image (with a wrapped key, or a synced value) stays in the WAL
  return db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace hearth::client
