// The view log (DOMAIN.md §5: T3 "read access audited"; §9.1 VIEW): reads of T2/T3 records,
// kept sealed under the device key (so a family's purge does not take its views with it) until
// a push carries them to the server, which writes them into the family's audit chain and
// acknowledges them. Bounded: past StoreOptions::view_log_limit the oldest are dropped and
// counted, and the count is uploaded too (the server audits it).
#include "store_impl.hpp"

namespace hearth::client {

namespace {

constexpr uint64_t kViewRepeatMs = 60'000;     // one view per record a minute per Store
constexpr size_t kRecentViewsKept = 4096;      // bound of the in-memory repeat filter
constexpr const char* kDroppedKey = "record_views_dropped";

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == '\n') out.emplace_back();
    else out.back().push_back(c);
  }
  return out;
}

}  // namespace

void Store::Impl::log_views(const std::vector<EntityView>& rows, const std::set<std::string>& sensitive) {
  if (sensitive.empty()) return;
  const uint64_t now = clock.physical_now();
  for (const auto& r : rows) {
    if (!sensitive.count(r.id)) continue;
    auto seen = recent_views.find(r.id);
    if (seen != recent_views.end() && now >= seen->second && now - seen->second < kViewRepeatMs) continue;
    if (auto w = write_record_view(r.family, r.type, r.id, now); !w) {
      ++unlogged_views;
      continue;
    }
    if (recent_views.size() >= kRecentViewsKept) recent_views.clear();
    recent_views[r.id] = now;
  }
}

Result<void> Store::Impl::write_record_view(const std::string& family, const std::string& type, const std::string& id,
                                            uint64_t at_ms) {
  if (!db) return make_error(ErrorCode::invalid_argument, "this store was wiped");
  // Nested in the caller's transaction when a group holds one. The insert comes first, so a
  // transaction of its own takes the write lock before it reads.
  if (auto r = db->exec("SAVEPOINT record_view"); !r) return r;
  auto body = [&]() -> Result<void> {
    if (auto r = db->exec("INSERT INTO record_views(body) VALUES(x'')"); !r) return r;
    auto last = db->prepare("SELECT max(seq), count(*), min(seq) FROM record_views");
    if (!last) return last.error();
    if (auto row = last->step(); !row) return row.error();
    const int64_t seq = last->integer(0);
    const int64_t count = last->integer(1);
    const int64_t oldest = last->integer(2);
    auto sealed = vault->seal(kDevicePartition, family + "\n" + type + "\n" + id + "\n" + std::to_string(at_ms),
                              aad::record_view(seq));
    if (!sealed) return sealed.error();
    auto upd = db->prepare("UPDATE record_views SET body = ? WHERE seq = ?");
    if (!upd) return upd.error();
    upd->bind_blob(1, *sealed).bind(2, seq);
    if (auto r = upd->run(); !r) return r;
    // Past the bound the oldest go, counted; so do views this Store could not write before.
    int64_t over = count - static_cast<int64_t>(std::max<size_t>(1, options.view_log_limit));
    uint64_t dropped = unlogged_views;
    if (over > 0) {
      auto del = db->prepare("DELETE FROM record_views WHERE seq < ?");
      if (!del) return del.error();
      del->bind(1, oldest + over);
      if (auto r = del->run(); !r) return r;
      dropped += static_cast<uint64_t>(over);
    }
    if (dropped > 0) {
      auto add = db->prepare(
          "INSERT INTO sync_state(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = value + ?2");
      if (!add) return add.error();
      add->bind(1, kDroppedKey).bind(2, static_cast<int64_t>(dropped));
      if (auto r = add->run(); !r) return r;
    }
    return {};
  }();
  if (!body) {
    (void)db->exec("ROLLBACK TO record_view");
    (void)db->exec("RELEASE record_view");
    return body;
  }
  if (auto r = db->exec("RELEASE record_view"); !r) {
    (void)db->exec("ROLLBACK TO record_view");
    (void)db->exec("RELEASE record_view");
    return r;
  }
  unlogged_views = 0;
  return {};
}

Result<PendingViews> SyncPort::record_views(size_t limit) const {
  return im_->call("record_views", [&]() -> Result<PendingViews> {
    PendingViews out;
    auto dropped = im_->db->prepare("SELECT value FROM sync_state WHERE key = ?");
    if (!dropped) return dropped.error();
    dropped->bind(1, kDroppedKey);
    auto row = dropped->step();
    if (!row) return row.error();
    if (*row) out.dropped = static_cast<uint64_t>(std::max<int64_t>(0, dropped->integer(0)));
    auto st = im_->db->prepare("SELECT seq, body FROM record_views ORDER BY seq LIMIT ?");
    if (!st) return st.error();
    st->bind(1, static_cast<int64_t>(limit));
    auto done = st->each([&](Statement& r) {
      const int64_t seq = r.integer(0);
      auto plain = im_->vault->open(kDevicePartition, r.blob(1), aad::record_view(seq));
      auto parts = plain ? lines_of(*plain) : std::vector<std::string>();
      uint64_t at = 0;
      bool ok = parts.size() == 4 && !parts[0].empty() && !parts[1].empty() && !parts[2].empty();
      if (ok) {
        try {
          at = std::stoull(parts[3]);
        } catch (...) {
          ok = false;
        }
      }
      out.through = seq;
      if (!ok) {  // unreadable (damaged): sent as dropped, forgotten with the batch
        ++out.dropped;
        return;
      }
      out.views.push_back(LoggedView{seq, parts[0], parts[1], parts[2], static_cast<int64_t>(at)});
    });
    if (!done) return done.error();
    return out;
  });
}

Result<void> SyncPort::forget_record_views(int64_t through, uint64_t dropped) {
  return im_->call("forget_record_views", [&]() -> Result<void> {
    Transaction tx(*im_->db);
    if (auto r = tx.begin(); !r) return r;
    auto del = im_->db->prepare("DELETE FROM record_views WHERE seq <= ?");
    if (!del) return del.error();
    del->bind(1, through);
    if (auto r = del->run(); !r) return r;
    if (dropped > 0) {
      auto sub = im_->db->prepare("UPDATE sync_state SET value = max(0, value - ?) WHERE key = ?");
      if (!sub) return sub.error();
      sub->bind(1, static_cast<int64_t>(dropped)).bind(2, kDroppedKey);
      if (auto r = sub->run(); !r) return r;
    }
    return tx.commit();
  });
}

}  // namespace hearth::client
