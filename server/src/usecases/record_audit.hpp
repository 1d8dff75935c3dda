#pragma once
// Record-level audit events (DOMAIN.md §9.1: CREATE, UPDATE, DELETE, transitions, and VIEW of
// T2/T3 records). Each accepted op, whether a device pushed it or the server wrote it as the
// office's authority, is one entry; the entries of one push (or one authority write) are
// written as ONE audit event per family, action "record-changes", so a push of thousands of ops
// costs a handful of chain links. Views the device logged (sync::protocol::RecordView) are
// written the same way, action "record-viewed".
//
// The detail is JSON (docs/audit.md) naming the records, never a value:
//   {"records":[{"change":"update","type":"Person","id":"p-1","op":"dev-1:7","op_time":1790000000000,
//                "fields":["phone"]}, ...]}
//   {"views":[{"type":"Contact","id":"c-1","at":1790000000000}, ...]}
// change is create, update (Set, Add, Remove: "fields" names the field), transition ("fields"
// names the status field, "to" the target state: a T0 workflow code), delete, or acknowledge
// ("conflict" names the conflict). op_time is the op's own clock (ms since the epoch); the
// event's `at` is the server's. The detail of a family chain is sealed (audit_chain.hpp).
// Thread-safety: confined, like the use case that owns it.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hearth/sync/op.hpp"
#include "hearth/sync/protocol.hpp"
#include "storage/audit_log.hpp"

namespace hearth::server {

inline constexpr const char* kRecordChangesAction = "record-changes";
inline constexpr const char* kRecordViewedAction = "record-viewed";

// The entries of one push or one authority write, by family.
class RecordChanges {
 public:
  // An op the server accepted. Restamps (the server's clock corrections) change no record and
  // are not entries.
  void add(const sync::Op& op);
  bool empty() const { return by_family_.empty(); }
  size_t size() const { return count_; }
  // Appends one event per family (actor and device: who made the ops) and forgets the entries.
  Result<void> write(AuditLog& log, int64_t now, const std::string& actor, const std::string& device);

 private:
  std::map<std::string, std::string> by_family_;  // family -> JSON entries, comma-separated
  size_t count_ = 0;
};

// The JSON entry of one accepted op (without the family), or "" for an op that is no record
// change (a restamp).
std::string record_change_entry(const sync::Op& op);

// One "record-viewed" event's detail: the views of one family.
std::string record_views_detail(const std::vector<sync::protocol::RecordView>& views);

}  // namespace hearth::server
