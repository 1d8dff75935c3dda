// The storage interfaces over one SQL connection: the parts, erasure's row deletion and
// transactions with their before-commit and after-rollback steps.
#include "sql_storage.hpp"

#include "sql/dialect.hpp"
#include "sql_audit_log.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

SqlStorage::SqlStorage(std::unique_ptr<Connection> db, std::shared_ptr<ServerKeys> keys)
    : db_(std::move(db)), keys_(std::move(keys)), ops_(*db_, *keys_), caseload_(*db_, *keys_), devices_(*db_),
      flags_(*db_, *keys_), settings_(*db_), due_(*db_), office_(*db_), records_(*db_, *keys_), outbox_(*db_, *keys_),
      duplicates_(*db_, *keys_) {}

Result<void> SqlStorage::open_audit(audit::AuditKey audit_key) {
  // Family audit details are sealed under the family's key too (audit/audit_chain.hpp).
  auto trail = make_sql_audit_log(*db_, std::move(audit_key), keys_.get());
  if (!trail) return trail.error();
  audit_ = std::move(*trail);
  return {};
}

Result<bool> SqlStorage::delete_family(const std::string& family) {
  bool any = false;
  // What each device had stored in the family stays counted (OpLog::highest_counter).
  const std::string keep_higher =
      " ON CONFLICT(device) DO UPDATE SET counter = " + greatest(db_->dialect(), "erased_counters.counter", "excluded.counter");
  auto counted = db_->prepare("INSERT INTO erased_counters(device, counter) SELECT device, max(counter) FROM ops "
                              "WHERE family = ? GROUP BY device" + keep_higher);
  if (!counted) return counted.error();
  if (auto r = counted->bind(1, family).run(); !r) return r.error();
  auto held = db_->prepare("INSERT INTO erased_counters(device, counter) SELECT device, "
                           "max(CAST(substr(op_id, length(device) + 2) AS BIGINT)) FROM held_ops WHERE family = ? "
                           "GROUP BY device" + keep_higher);
  if (!held) return held.error();
  if (auto r = held->bind(1, family).run(); !r) return r.error();
  for (const char* statement : {"DELETE FROM ops WHERE family = ?", "DELETE FROM held_ops WHERE family = ?",
                                   "DELETE FROM flags WHERE family = ?", "DELETE FROM memberships WHERE family = ?",
                                   "DELETE FROM due_families WHERE family = ?", "DELETE FROM break_glass_grants WHERE family = ?",
                                   "DELETE FROM records WHERE family = ?", "DELETE FROM record_persons WHERE family = ?",
                                   "DELETE FROM office_outbox WHERE family = ?", "DELETE FROM office_refs WHERE family = ?",
                                   "DELETE FROM office_disclosures WHERE family = ?", "DELETE FROM office_inbound WHERE family = ?",
                                   sql::kDeleteFamilyDuplicates[0], sql::kDeleteFamilyDuplicates[1],
                                   sql::kDeleteFamilyDuplicates[2], sql::kDeleteFamilyDuplicates[3]}) {
    auto st = db_->prepare(std::string(statement) + " RETURNING 1");
    if (!st) return st.error();
    st->bind(1, family);
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      any = true;
    }
  }
  return any;
}

Result<void> SqlStorage::transaction(const std::function<Result<void>()>& body) {
  Transaction tx(*db_);
  if (auto r = tx.begin(); !r) return r;
  transaction_id_ = ++transactions_;
  before_commit_.clear();
  after_rollback_.clear();
  struct Ended {  // outside a transaction again, however this one ends
    SqlStorage& s;
    bool committed = false;
    ~Ended() {
      s.transaction_id_ = 0;
      s.before_commit_.clear();
      auto rollback = std::move(s.after_rollback_);
      s.after_rollback_.clear();
      if (!committed)
        for (auto& step : rollback) step();
    }
  } ended{*this};
  // Keys made for new families during `body` are stored in one keyring transaction, committed
  // (durably) before this one: never a value on disk under a key that is not.
  keys_->defer_key_commits();
  auto done = body();
  for (size_t i = 0; done && i < before_commit_.size(); ++i) {
    auto step = std::move(before_commit_[i]);  // a step may register more (the vector may grow)
    done = step();
  }
  auto keys_stored = keys_->commit_deferred_keys();
  if (!done) return done;
  if (!keys_stored) return keys_stored;
  auto committed = tx.commit();
  ended.committed = committed.ok();
  return committed;
}

}  // namespace hearth::server::sql
