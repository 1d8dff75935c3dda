// The sync engine's side of a Store (sync_port.hpp): secrets, outbox, push answers, the
// quarantine marks, pulled pages, the history epoch, the clock correction and the op log.
#include "sync_port.hpp"

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <set>

#include "store_impl.hpp"

namespace hearth::client {

namespace {
Error named(const Error& e, const std::string& what) { return make_error(e.code, what + ": " + e.message); }
}  // namespace

Result<ApplyReport> SyncPort::apply_remote(const std::vector<std::string>& encoded_ops) {
  return im_->call("apply_remote", [&]() -> Result<ApplyReport> {
    return im_->apply_batch(encoded_ops, nullptr);
  });
}

Result<ApplyReport> SyncPort::apply_page(const std::string& family, const std::vector<std::string>& encoded_ops,
                                      int64_t cursor, const std::optional<FamilyViewInfo>& view) {
  return im_->call("apply_page", [&]() -> Result<ApplyReport> {
    return im_->apply_batch(encoded_ops, [&]() -> Result<void> {
      auto st = im_->db->cached("INSERT OR REPLACE INTO sync_state(key, value) VALUES(?, ?)");
      if (!st) return st.error();
      (*st)->bind(1, "cursor:" + family).bind(2, cursor);
      if (auto r = (*st)->run(); !r) return r;
      if (view) return im_->write_view(family, *view);
      return {};
    });
  });
}

Result<void> SyncPort::put_secret(const std::string& name, const std::string& value) {
  return im_->call("put_secret", [&]() -> Result<void> {
    auto sealed = im_->vault->seal(kDevicePartition, value, aad::secret(name));
    if (!sealed) return sealed.error();
    auto st = im_->db->prepare("INSERT OR REPLACE INTO secrets(name, value) VALUES(?, ?)");
    if (!st) return st.error();
    st->bind(1, name).bind_blob(2, *sealed);
    return st->run();
  });
}

Result<std::optional<std::string>> SyncPort::secret(const std::string& name) const {
  return im_->call("secret", [&]() -> Result<std::optional<std::string>> {
    auto st = im_->db->prepare("SELECT value FROM secrets WHERE name = ?");
    if (!st) return st.error();
    st->bind(1, name);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<std::string>();
    auto plain = im_->vault->open(kDevicePartition, st->blob(0), aad::secret(name));
    if (!plain) return make_error(plain.error().code, "secret " + name + ": " + plain.error().message);
    return std::optional<std::string>(std::move(plain.value()));
  });
}

Result<SyncCursors> SyncPort::cursors() const {
  return im_->call("cursors", [&]() -> Result<SyncCursors> {
    SyncCursors out;
    auto st = im_->db->prepare("SELECT key, value FROM sync_state");
    if (!st) return st.error();
    while (true) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      std::string key = st->text(0);
      if (key.rfind("cursor:", 0) == 0) out.families[key.substr(7)] = st->integer(1);
      else if (key == "feed_version") out.feed_version = st->integer(1);
    }
    auto views = im_->db->prepare("SELECT family FROM family_views");
    if (!views) return views.error();
    std::vector<std::string> with_view;
    auto listed = views->each([&](Statement& row) { with_view.push_back(row.text(0)); });
    if (!listed) return listed.error();
    for (const auto& family : with_view) {
      // A view that cannot be opened is not sent: the server then sends the family under its
      // current view, which replaces the damaged row.
      auto v = im_->read_view(family);
      if (v && *v) out.views[family] = (*v)->view;
    }
    auto epoch = im_->meta("history_epoch");
    if (epoch) out.history_epoch = *epoch;
    else if (epoch.error().code != ErrorCode::not_found) return epoch.error();
    return out;
  });
}

Result<void> SyncPort::finish_pull(std::optional<int64_t> feed_version, int64_t now_ms) {
  return im_->call("finish_pull", [&]() -> Result<void> {
    Transaction tx(*im_->db);
    if (auto r = tx.begin(); !r) return r;
    auto last = im_->db->prepare("INSERT OR REPLACE INTO sync_state(key, value) VALUES('last_sync', ?)");
    if (!last) return last.error();
    last->bind(1, now_ms);
    if (auto r = last->run(); !r) return r;
    if (feed_version) {
      auto st = im_->db->prepare("INSERT OR REPLACE INTO sync_state(key, value) VALUES('feed_version', ?)");
      if (!st) return st.error();
      st->bind(1, *feed_version);
      if (auto r = st->run(); !r) return r;
    } else if (auto r = im_->db->exec("DELETE FROM sync_state WHERE key = 'feed_version'"); !r) {
      return r;
    }
    return tx.commit();
  });
}

Result<void> SyncPort::record_push(const std::vector<int64_t>& accepted,
                                const std::vector<std::pair<int64_t, std::string>>& rejected, int64_t now_ms,
                                const std::vector<HeldResult>& held) {
  return im_->call("record_push", [&]() -> Result<void> {
    Store::Impl& im = *im_;
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    auto del = im.db->prepare("DELETE FROM outbox WHERE seq = ?");
    if (!del) return del.error();
    // an op accepted after a new history re-sent it is on the server: no longer quarantined
    auto release = im.db->prepare("DELETE FROM quarantine WHERE seq = ?");
    if (!release) return release.error();
    auto unhold = im.db->prepare("DELETE FROM held WHERE seq = ?");  // accepted after a new history re-sent it
    if (!unhold) return unhold.error();
    // A decision already recorded for the op is kept when the server says again that it holds it.
    auto hold = im.db->prepare(
        "INSERT INTO held(seq, op_id, family, body, at) "
        "SELECT seq, device || ':' || counter, family, ?, ? FROM ops WHERE seq = ? "
        "ON CONFLICT(seq) DO UPDATE SET body = excluded.body, at = excluded.at");
    if (!hold) return hold.error();
    // Ops joining or leaving the held table change what the view is made of: their families'
    // states are rebuilt before the commit.
    std::map<std::string, std::set<std::string>> changed;
    auto note_change = [&](int64_t seq, bool only_if_held) -> Result<void> {
      auto q = im.db->prepare(only_if_held ? "SELECT o.family, o.entity FROM held h JOIN ops o ON o.seq = h.seq WHERE h.seq = ?"
                                           : "SELECT family, entity FROM ops WHERE seq = ? AND seq NOT IN (SELECT seq FROM held)");
      if (!q) return q.error();
      q->bind(1, seq);
      return q->each([&](Statement& r) { changed[r.text(0)].insert(r.text(1)); });
    };
    for (const auto& h : held)
      if (auto r = note_change(h.seq, false); !r) return r;
    for (int64_t seq : accepted)
      if (auto r = note_change(seq, true); !r) return r;
    for (const auto& rj : rejected)
      if (auto r = note_change(rj.first, true); !r) return r;
    // Held ops are on the server: they leave the outbox (and the quarantine) like accepted
    // ones, and are marked held with the server's reason, sealed like a refusal's.
    std::vector<int64_t> delivered_seqs = accepted;
    for (const auto& h : held) {
      if (h.route_to.find('\n') != std::string::npos)
        return make_error(ErrorCode::invalid_argument, "a held op's route_to holds a line break");
      auto sealed = im.vault->seal(kDevicePartition, h.route_to + "\n" + h.reason, aad::held(h.seq));
      if (!sealed) return sealed.error();
      hold->bind_blob(1, *sealed).bind(2, now_ms).bind(3, h.seq);
      if (auto r = hold->run(); !r) return r;
      delivered_seqs.push_back(h.seq);
    }
    auto own = im.db->prepare("SELECT counter FROM ops WHERE seq = ? AND device = ?");
    if (!own) return own.error();
    int64_t delivered = 0;
    for (int64_t seq : delivered_seqs) {
      del->bind(1, seq);
      if (auto r = del->run(); !r) return r;
      release->bind(1, seq);
      if (auto r = release->run(); !r) return r;
      own->bind(1, seq).bind(2, im.device);
      auto row = own->step();
      if (!row) return row.error();
      if (*row) delivered = std::max(delivered, own->integer(0));
      own->reset();
    }
    if (delivered > 0) {
      auto up = im.db->prepare(
          "INSERT INTO sync_state(key, value) VALUES('delivered_counter', ?) "
          "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)");
      if (!up) return up.error();
      up->bind(1, delivered);
      if (auto r = up->run(); !r) return r;
    }
    auto ins = im.db->prepare(
        "INSERT OR REPLACE INTO quarantine(seq, op_id, family, reason, at, reported, acknowledged) "
        "SELECT seq, device || ':' || counter, family, ?, ?, 0, 0 FROM ops WHERE seq = ?");
    if (!ins) return ins.error();
    for (int64_t seq : accepted) {
      unhold->bind(1, seq);
      if (auto r = unhold->run(); !r) return r;
    }
    for (const auto& [seq, reason] : rejected) {
      // the reason can quote a value from the op, so it is sealed like the op
      auto sealed = im.vault->seal(kDevicePartition, reason, aad::reason(seq));
      if (!sealed) return sealed.error();
      ins->bind_blob(1, *sealed).bind(2, now_ms).bind(3, seq);
      if (auto r = ins->run(); !r) return r;
      del->bind(1, seq);
      if (auto r = del->run(); !r) return r;
      unhold->bind(1, seq);
      if (auto r = unhold->run(); !r) return r;
    }
    auto forget = [&](Error e) -> Result<void> {
      for (const auto& [family, entities] : changed) im.evict(family);
      return e;
    };
    for (const auto& [family, entities] : changed)
      if (auto r = im.rematerialise(family, entities); !r) return forget(r.error());
    if (auto r = tx.commit(); !r) return forget(r.error());
    return {};
  });
}

Result<std::vector<std::string>> SyncPort::held_waiting(size_t limit) const {
  return im_->call("held_waiting", [&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    // held ops of purged families too: the practitioner still waits for their decisions
    auto st = im_->db->prepare(
        "SELECT op_id FROM (SELECT seq, op_id FROM held WHERE outcome IS NULL "
        "UNION ALL SELECT seq, op_id FROM held_purged WHERE outcome IS NULL) ORDER BY seq LIMIT ?");
    if (!st) return st.error();
    st->bind(1, static_cast<int64_t>(limit));
    auto done = st->each([&](Statement& r) { out.push_back(r.text(0)); });
    if (!done) return done.error();
    return out;
  });
}

Result<void> SyncPort::record_held_decisions(const std::vector<HeldDecisionInfo>& decisions) {
  return im_->call("record_held_decisions", [&]() -> Result<void> {
    Store::Impl& im = *im_;
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    auto find = im.db->prepare("SELECT seq FROM held WHERE op_id = ? AND outcome IS NULL");
    if (!find) return find.error();
    auto up = im.db->prepare("UPDATE held SET outcome = ?, decision = ?, decided_at = ? WHERE seq = ?");
    if (!up) return up.error();
    // an op whose family was purged while it waited (Impl::keep_held): its decision is kept too
    auto find_kept = im.db->prepare("SELECT seq FROM held_purged WHERE op_id = ? AND outcome IS NULL");
    if (!find_kept) return find_kept.error();
    auto up_kept = im.db->prepare("UPDATE held_purged SET outcome = ?, decision = ?, decided_at = ? WHERE seq = ?");
    if (!up_kept) return up_kept.error();
    for (const auto& d : decisions) {
      if (d.outcome != "applied" && d.outcome != "dismissed")
        return make_error(ErrorCode::invalid_argument, "held op " + d.op_id + ": unknown outcome '" + d.outcome + "'");
      if (d.by.find('\n') != std::string::npos)
        return make_error(ErrorCode::invalid_argument, "held op " + d.op_id + ": the decider's id holds a line break");
      find->bind(1, d.op_id);
      auto row = find->step();
      if (!row) return row.error();
      int64_t seq = *row ? find->integer(0) : 0;
      find->reset();
      bool kept = false;
      if (seq == 0) {
        find_kept->bind(1, d.op_id);
        auto kept_row = find_kept->step();
        if (!kept_row) return kept_row.error();
        seq = *kept_row ? find_kept->integer(0) : 0;
        find_kept->reset();
        kept = seq != 0;
      }
      if (seq == 0) continue;
      // who and why can quote the op's value: sealed like the reason of the hold
      auto sealed = im.vault->seal(kDevicePartition, d.by + "\n" + d.note,
                                   kept ? aad::held_purged_decision(seq) : aad::held_decision(seq));
      if (!sealed) return sealed.error();
      Statement& write = kept ? *up_kept : *up;
      write.bind(1, d.outcome).bind_blob(2, *sealed).bind(3, d.at_ms).bind(4, seq);
      if (auto r = write.run(); !r) return r;
    }
    return tx.commit();
  });
}

Result<void> SyncPort::mark_quarantine_reported(const std::vector<std::string>& op_ids) {
  return im_->call("mark_quarantine_reported", [&]() -> Result<void> {
    return im_->mark_quarantine(op_ids, "UPDATE quarantine SET reported = 1 WHERE op_id = ?");
  });
}

Result<void> SyncPort::mark_quarantine_acknowledged(const std::vector<std::string>& op_ids) {
  return im_->call("mark_quarantine_acknowledged", [&]() -> Result<void> {
    return im_->mark_quarantine(op_ids, "UPDATE quarantine SET reported = 1, acknowledged = 1 WHERE op_id = ?");
  });
}

Result<uint64_t> SyncPort::delivered_counter() const {
  return im_->call("delivered_counter", [&]() -> Result<uint64_t> {
    auto st = im_->db->prepare("SELECT value FROM sync_state WHERE key = 'delivered_counter'");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return uint64_t{0};
    int64_t v = st->integer(0);
    if (v < 0) return make_error(ErrorCode::corrupt, "sync state 'delivered_counter' is negative");
    return static_cast<uint64_t>(v);
  });
}

Result<void> SyncPort::reset_for_new_history(const std::string& epoch) {
  return im_->call("reset_for_new_history", [&]() -> Result<void> {
    Store::Impl& im = *im_;
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = im.db->exec("DELETE FROM sync_state WHERE key LIKE 'cursor:%' OR key = 'feed_version' "
                             "OR key = 'delivered_counter'");
        !r)
      return r;
    if (auto r = im.set_meta("history_epoch", epoch); !r) return r;
    // Every own op goes out again, quarantined ones included: the new history may accept them
    // (then they leave the quarantine) or refuse them again (then they are reported again).
    auto requeue = im.db->prepare("INSERT OR IGNORE INTO outbox(seq) SELECT seq FROM ops WHERE device = ?");
    if (!requeue) return requeue.error();
    requeue->bind(1, im.device);
    if (auto r = requeue->run(); !r) return r;
    return tx.commit();
  });
}

Result<void> SyncPort::set_history_epoch(const std::string& epoch) {
  return im_->call("set_history_epoch", [&]() -> Result<void> { return im_->set_meta("history_epoch", epoch); });
}

Result<void> SyncPort::correct_clock(int64_t offset_ms) {
  return im_->call("correct_clock", [&]() -> Result<void> {
    Store::Impl& im = *im_;
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = im.refresh(); !r) return r;
    im.clock.correct(offset_ms);
    // kept, so every Store on the file (and the next one opened) stamps with the corrected time
    auto st = im.db->prepare("INSERT OR REPLACE INTO sync_state(key, value) VALUES('clock_offset', ?)");
    if (!st) return st.error();
    st->bind(1, offset_ms);
    if (auto r = st->run(); !r) return r;
    if (auto r = im.save_clock(); !r) return r;
    return tx.commit();
  });
}

Result<void> SyncPort::adopt_server_time(uint64_t server_time_ms) {
  return im_->call("adopt_server_time", [&]() -> Result<void> {
    Store::Impl& im = *im_;
    Transaction tx(*im.db);
    if (auto r = tx.begin(); !r) return r;
    if (auto r = im.refresh(); !r) return r;
    // A server time more than a day ahead of the corrected clock is not adopted: the floor stays
    // where it was, and the guard treats this device's stamps as before.
    if (!im.clock.adopt_authority_time(server_time_ms)) return {};
    if (server_time_ms <= clock_floor_ms()) return {};
    if (auto r = im.save_clock(); !r) return r;
    if (auto r = im.set_meta("clock_floor", std::to_string(server_time_ms)); !r) return r;
    return tx.commit();
  });
}

uint64_t SyncPort::clock_floor_ms() const {
  auto v = im_->meta("clock_floor");
  if (!v) return 0;
  return std::strtoull(v->c_str(), nullptr, 10);
}

int64_t SyncPort::clock_now_ms() const {
  // the physical clock is the app's (StoreOptions::clock) and must not throw; if it does,
  // the uncorrected system clock answers rather than an exception
  try {
    return static_cast<int64_t>(im_->clock.physical_now());
  } catch (...) {
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  }
}

size_t SyncPort::unsynced() const {
  auto n = im_->call("unsynced", [&]() -> Result<size_t> {
    auto st = im_->db->prepare("SELECT count(*) FROM outbox");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    return *row ? static_cast<size_t>(st->integer(0)) : size_t{0};
  });
  return n ? *n : 0;
}

Result<std::vector<OutboxEntry>> SyncPort::outbox(size_t limit) const {
  return im_->call("outbox", [&]() -> Result<std::vector<OutboxEntry>> {
    std::vector<OutboxEntry> out;
    auto st = im_->db->prepare(
        "SELECT o.seq, p.device, p.counter, p.family, p.body FROM outbox o JOIN ops p ON p.seq = o.seq "
        "ORDER BY o.seq LIMIT ?");
    if (!st) return st.error();
    st->bind(1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
    auto done = st->each([&](Statement& row) -> Result<void> {
      sync::OpId id{row.text(1), static_cast<uint64_t>(row.integer(2))};
      auto plain = im_->vault->open(row.text(3), row.blob(4), aad::op(id));
      if (!plain) return named(plain.error(), "op " + id.to_string());
      out.push_back(OutboxEntry{row.integer(0), id, std::move(plain.value())});
      return {};
    });
    if (!done) return done.error();
    return out;
  });
}

Result<void> SyncPort::mark_pushed(const std::vector<int64_t>& seqs) {
  return im_->call("mark_pushed", [&]() -> Result<void> { return record_push(seqs, {}, 0); });
}

Result<std::vector<std::string>> SyncPort::encoded_ops(const std::string& family_id) const {
  return im_->call("encoded_ops", [&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    auto st = im_->db->prepare("SELECT device, counter, body FROM ops WHERE family = ? ORDER BY seq");
    if (!st) return st.error();
    st->bind(1, family_id);
    auto done = st->each([&](Statement& row) -> Result<void> {
      sync::OpId id{row.text(0), static_cast<uint64_t>(row.integer(1))};
      auto plain = im_->vault->open(family_id, row.blob(2), aad::op(id));
      if (!plain) return named(plain.error(), "op " + id.to_string());
      out.push_back(std::move(plain.value()));
      return {};
    });
    if (!done) return done.error();
    return out;
  });
}

Result<std::vector<sync::OpId>> SyncPort::op_ids() const {
  return im_->call("op_ids", [&]() -> Result<std::vector<sync::OpId>> {
    std::vector<sync::OpId> out;
    auto st = im_->db->prepare("SELECT device, counter FROM ops ORDER BY device, counter");
    if (!st) return st.error();
    auto done = st->each([&](Statement& row) { out.push_back(sync::OpId{row.text(0), static_cast<uint64_t>(row.integer(1))}); });
    if (!done) return done.error();
    return out;
  });
}

Result<std::vector<QuarantinedOp>> SyncPort::quarantine() const {
  return im_->call("quarantine", [&] { return im_->read_quarantine(); });
}

void SyncPort::set_fault_hook(std::function<Result<void>(std::string_view point)> hook) {
  im_->fault_hook = std::move(hook);
}

}  // namespace hearth::client
