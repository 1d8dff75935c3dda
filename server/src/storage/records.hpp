#pragma once
// The server's current records (issue 10 part 1): every record of every family as the merge of
// the ops the server accepted, one row per record, written in the same transaction that accepts
// each op (usecases/accepted.cpp), so export, reports and subject access read families without
// re-running the merge.
//
// The record itself is its canonical JSON (core/render.hpp: {"id","type","family","created",
// "created_by","deleted","fields":{...},"multi":{...}}), sealed under its family's key with the
// record's id as associated data (keys/family_sealer.hpp). What stays clear is only what a query
// needs and reveals nothing about a person: ids, type, revision, business date, the subject
// persons' ids (random ids, like the op log's family column).
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct StoredRecord {
  std::string id;
  std::string type;
  std::string family;
  // The op log's sequence number of the last op that changed it: a new revision per change,
  // increasing, so (id, revision) names one version (the office feed's idempotency key).
  int64_t revision = 0;
  int64_t updated_at = 0;  // server time (ms since the epoch) of that change
  // The business date: the value of the type's occurred_field (Contact.occurred_at, ...) when
  // it has one and it is set, else the UTC date of `updated_at` ("2026-11-30"). ISO text, so
  // ranges compare as text.
  std::string occurred;
  bool deleted = false;
  // The Person ids the record is about (its subject fields, DOMAIN.md §6.3; a Person is about
  // itself). Empty: about the whole family.
  std::vector<std::string> persons;
  std::string json;  // the canonical rendering (core/render.hpp), in clear in memory only
};

// What to read. Empty strings match anything.
struct RecordQuery {
  std::string type;
  std::string family;
  // Records about this person; with `family_wide`, also the records about the whole family of
  // every family holding a record about the person (a SAR needs both, §10.2).
  std::string person;
  bool family_wide = false;
  std::string from;  // occurred >= from ("" = open)
  std::string to;    // occurred < to ("" = open): half-open, as reports count (§12.1)
  bool include_deleted = false;
  int64_t after_revision = 0;  // only revisions above this
  size_t limit = 0;            // 0 = no limit

  static RecordQuery of_type(std::string type) {
    RecordQuery q;
    q.type = std::move(type);
    return q;
  }
  static RecordQuery of_family(std::string family, std::string type = "") {
    RecordQuery q;
    q.family = std::move(family);
    q.type = std::move(type);
    return q;
  }
};

class RecordStore {
 public:
  virtual ~RecordStore() = default;
  // Inserts or replaces the record `r.id` (seals r.json). In the caller's transaction.
  virtual Result<void> put(const StoredRecord& r) = 0;
  // The record, or nullopt. A row whose seal does not open is ErrorCode::corrupt naming it.
  virtual Result<std::optional<StoredRecord>> get(const std::string& id) = 0;
  // Every record matching `q`, in revision order, to `each`, which returns false to stop.
  // Memory is one record at a time. A row that cannot be read is ErrorCode::corrupt naming it
  // (the scan stops there).
  virtual Result<void> scan(const RecordQuery& q, const std::function<Result<bool>(const StoredRecord&)>& each) = 0;
  // How many records match `q` (no unsealing).
  virtual Result<int64_t> count(const RecordQuery& q) = 0;
  // The highest revision held (0 when empty).
  virtual Result<int64_t> highest_revision() = 0;
  // Whether every family's records were built (usecases/current_records.hpp): false for a
  // database from before the records store, or one whose records were dropped to be rebuilt.
  virtual Result<bool> built() = 0;
  virtual Result<void> mark_built() = 0;
};

}  // namespace hearth::server
