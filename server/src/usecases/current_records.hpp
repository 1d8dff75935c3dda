#pragma once
// Keeps the server's current records (storage/records.hpp) equal to the merge of the op log:
// each accepted op re-renders the record it changed, in the transaction that stores the op
// (accepted.cpp), and a database from before the records store gets every family's records
// built once from its op log when the server opens it.
// Thread-safety: as ServiceContext (callers serialise).
#include <cstdint>
#include <string>

#include "context.hpp"
#include "hearth/sync/materialiser.hpp"

namespace hearth::server {

// The stored form of record `e` as the merge `m` holds it, changed by the op with sequence
// number `revision` at server time `now_ms`. A value the renderer refuses is ErrorCode::corrupt
// naming the record.
Result<StoredRecord> stored_record_of(const sync::EntityMerge& e, int64_t revision, int64_t now_ms);

// After `op` (sequence number `seq`) was applied to the family's cached merge state: its record
// as it then stands is written to the records store, once per record and transaction, just before
// the transaction commits (Storage::before_commit); at once outside a transaction. Derived
// records (conflicts) are not kept.
Result<void> record_changed(ServiceContext& ctx, const sync::Op& op, int64_t seq);

// Builds every family's records from the op log when the records store says it was never built
// (a database from before it); a no-op otherwise. Reads one family at a time (memory: one
// family's merge state). Returns how many families were built. Runs its own transaction.
Result<size_t> build_current_records(Storage& store, const Schema& schema, int64_t now_ms);

}  // namespace hearth::server
