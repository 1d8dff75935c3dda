#pragma once
// The sync engine's side of a Store (internal to client/; the app's API is store.hpp): the
// outbox, the cursors, pulled pages, the answer to a push and the quarantine, the history
// epoch, the clock correction, and the device's sealed secrets (credential, server address, CA).
// Reached through sync_port(store). The sync engine (sync_client.cpp), the tests and the
// benchmarks use it; an app never does. docs/store.md.
//
// Errors and threads: as for the Store (store.hpp). No exception leaves a call; the port is
// confined to the thread of the Store it belongs to.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hearth/client/store.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::client {

struct OutboxEntry {
  int64_t seq = 0;     // position in the outbox (the op log's row)
  sync::OpId id;
  std::string bytes;   // encoded op
};

struct RejectedOp {
  size_t index = 0;    // position in the batch
  std::string op_id;   // when it could be decoded
  Error error;
};

struct ApplyReport {
  size_t applied = 0;
  size_t duplicates = 0;
  std::vector<RejectedOp> rejected;
  std::vector<std::string> clock_warnings;
};

// A family's view as its last page carried it (sync::protocol::FamilyPage view, withheld).
struct FamilyViewInfo {
  std::string view;                   // the digest; never empty once stored
  std::vector<std::string> withheld;  // "<record id>" or "<record id>#<field>"
};

struct SyncCursors {
  std::map<std::string, int64_t> families;  // family -> last server sequence applied
  std::map<std::string, std::string> views;  // family -> view digest last received (sealed)
  std::optional<int64_t> feed_version;
  std::string history_epoch;  // the server history last seen; "" before the first sync
};

// What the server said of a held op (sync::protocol::OpStatus::held).
struct HeldResult {
  int64_t seq = 0;  // outbox position
  std::string reason;
  std::string route_to;
};

// A decision the server took on a held op (sync::protocol::HeldDecided).
struct HeldDecisionInfo {
  std::string op_id;    // "device:counter"
  std::string outcome;  // "applied" or "dismissed"
  std::string by;
  std::string note;
  int64_t at_ms = 0;    // server time
};

// A logged view of a T2/T3 record (Store reads; DOMAIN.md §9.1 VIEW), waiting for upload.
struct LoggedView {
  int64_t seq = 0;  // rising; the server acknowledges up to one
  std::string family, type, record;
  int64_t at_ms = 0;  // store clock
};
struct PendingViews {
  std::vector<LoggedView> views;  // oldest first
  uint64_t dropped = 0;           // views the bounded log dropped (or could not write), unsent
  int64_t through = 0;            // the highest seq read (an unreadable row counts as dropped)
};

class SyncPort {
 public:
  static SyncPort of(Store& store) { return SyncPort(store.impl_.get()); }
  static const SyncPort of(const Store& store) { return SyncPort(store.impl_.get()); }

  // ---- secrets: sealed under the device key ----
  Result<void> put_secret(const std::string& name, const std::string& value);
  Result<std::optional<std::string>> secret(const std::string& name) const;

  // ---- push ----
  // Own ops waiting to be sent, oldest first.
  Result<std::vector<OutboxEntry>> outbox(size_t limit = 1000) const;
  // The outbox size (0 when it cannot be read: for sizing progress only).
  size_t unsynced() const;
  // The server's answer to a push (outbox seqs): accepted ops (accepted or duplicate) leave
  // the outbox (and the quarantine, after a new history re-sent them) and raise the delivered
  // counter; rejected ones leave it into the quarantine with the server's reason (sealed),
  // never away. One transaction.
  // Held ops (the server keeps them for someone to decide) leave the outbox like accepted ones
  // and are marked held with the reason and who decides (sealed), shown by Store::held().
  Result<void> record_push(const std::vector<int64_t>& accepted,
                           const std::vector<std::pair<int64_t, std::string>>& rejected, int64_t now_ms,
                           const std::vector<HeldResult>& held = {});
  // Held ops leave the local view (the family's state is rebuilt without them) and come back
  // into it if the server later accepts or refuses them (a new history re-sent them).
  Result<void> mark_pushed(const std::vector<int64_t>& seqs);
  // The ids of own held ops still waiting for a decision, oldest first, at most `limit`.
  Result<std::vector<std::string>> held_waiting(size_t limit) const;
  // Records the server's decisions on held ops (unknown or already decided ids are ignored).
  // The op stays in the log and out of the view either way; an applied value arrives by pull.
  Result<void> record_held_decisions(const std::vector<HeldDecisionInfo>& decisions);  // record_push with only accepted ops
  // The highest counter of this device's own ops the server confirmed (0: none yet).
  Result<uint64_t> delivered_counter() const;

  // ---- the view log ----
  // At most `limit` views, oldest first, and the dropped count. A row that does not open is
  // left out and counted as dropped (it goes with the next acknowledgement).
  Result<PendingViews> record_views(size_t limit) const;
  // The server recorded the views up to `through` and `dropped` of the dropped count: forgotten.
  Result<void> forget_record_views(int64_t through, uint64_t dropped);

  // ---- the quarantine (store.hpp QuarantinedOp) ----
  Result<std::vector<QuarantinedOp>> quarantine() const;
  // The sync engine sent the report of these ops ("device:counter"); unknown ids are ignored.
  Result<void> mark_quarantine_reported(const std::vector<std::string>& op_ids);
  // The server confirmed it holds the report: from now on their family may be purged.
  Result<void> mark_quarantine_acknowledged(const std::vector<std::string>& op_ids);

  // ---- pull ----
  Result<SyncCursors> cursors() const;
  // A page of one family's ops from the server and its new cursor, in one transaction.
  // Malformed or invalid ops are reported in `rejected` and never stored; duplicates are
  // counted and ignored.
  // With `view`, the family's view digest and withheld list are replaced in the same
  // transaction (sealed under the family key); without it they are left as they are.
  Result<ApplyReport> apply_page(const std::string& family, const std::vector<std::string>& encoded_ops,
                                 int64_t cursor, const std::optional<FamilyViewInfo>& view = std::nullopt);
  // The pull completed. Without a feed version the store forgets the one it held, so the next
  // sync pulls in full rather than probing (e.g. a purge it had to put off).
  Result<void> finish_pull(std::optional<int64_t> feed_version, int64_t now_ms);
  // The policy snapshot of a pull answer (DOMAIN.md §6.8): kept, unless an older one.
  Result<void> record_policy(const PolicySnapshot& policy);
  // Remote ops without a cursor (tests, benchmarks, a peer-to-peer exchange).
  Result<ApplyReport> apply_remote(const std::vector<std::string>& encoded_ops);

  // ---- the server's history (docs/protocol.md, history epoch) ----
  // The server's history is not the one the cursors were made against. One transaction:
  // forgets every family cursor and the feed version, records `epoch`, sets the delivered
  // counter to 0, and puts back into the outbox every op this device authored that is not
  // already there (the server ignores duplicates by op id).
  Result<void> reset_for_new_history(const std::string& epoch);
  // Records the epoch without resetting anything: for the first answer that carries one
  // (cursors().history_epoch is still "").
  Result<void> set_history_epoch(const std::string& epoch);

  // ---- the clock ----
  // The offset the server measured (server time minus device time). Kept in the store, so
  // every Store on the file (and the next one opened) stamps with the corrected time.
  Result<void> correct_clock(int64_t offset_ms);
  // The server's time from its push answer, after correct_clock: the clock adopts it (every
  // later stamp is at or above it) and keeps it as the clock floor this device reports in its
  // next push, so the server's clock guard never moves its later stamps past colleagues'
  // later edits (docs/change-log.md, "Clocks"). Persisted. A time more than a day ahead of the
  // corrected clock is not adopted (the floor stays). Errors: storage.
  Result<void> adopt_server_time(uint64_t server_time_ms);
  uint64_t clock_floor_ms() const;  // the last server time adopted; 0 before the first push
  // The device's physical time as the store's clock reads it (corrected by the last offset):
  // what stamps its ops, and so what it reports to the server.
  int64_t clock_now_ms() const;

  // ---- the op log ----
  Result<std::vector<std::string>> encoded_ops(const std::string& family_id) const;  // log order
  Result<std::vector<sync::OpId>> op_ids() const;  // by device, then counter

  // ---- tests ----
  // Called at named points inside a write transaction ("before_commit"); an error aborts the
  // transaction. Lets tests interrupt an edit before it commits.
  void set_fault_hook(std::function<Result<void>(std::string_view point)> hook);

 private:
  explicit SyncPort(Store::Impl* impl) : im_(impl) {}
  Store::Impl* im_;
};

inline SyncPort sync_port(Store& store) { return SyncPort::of(store); }
inline const SyncPort sync_port(const Store& store) { return SyncPort::of(store); }

}  // namespace hearth::client
