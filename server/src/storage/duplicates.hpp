#pragma once
// What the server keeps for probable duplicates (DOMAIN.md G1, C-1, C-20; usecases/duplicates.hpp):
//  - the blocking-key index of persons across families: for every Person record, keyed hashes
//    of its blocking keys (core/duplicates.hpp blocking_keys: NHS number, date of birth, the
//    days around a due date). A hash is SHA-256 of a secret pepper and the key; the pepper is
//    random, made once and stored sealed under the directory partition's key, so the database
//    alone does not let anyone test a date of birth against the index. Plus each person's
//    family, its merged_into, and a fingerprint of the facts the rule reads (so an unchanged
//    person is not looked up again);
//  - the families whose Person or Contact records changed since their last review (pending);
//  - the findings, once per pair: ids, families, the rule's reasons (no values), when raised,
//    and the decision (OPEN, MERGED, DISMISSED) with who and when.
// None of it holds a personal value in clear: ids are random, reasons name rules.
// Thread-safety: not thread-safe; one Storage per connection (storage.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

inline constexpr const char* kFindingOpen = "OPEN";
inline constexpr const char* kFindingMerged = "MERGED";
inline constexpr const char* kFindingDismissed = "DISMISSED";

struct DuplicateFinding {
  int64_t id = 0;
  std::string pair;  // duplicates::Finding::key(): "Person:<a>|<b>", a < b
  std::string kind;  // "Person" or "Contact"
  std::string first, second;
  std::string first_family, second_family;
  std::string reasons;  // the rule's reasons, "; "-separated
  int64_t raised_at = 0;
  std::string status = kFindingOpen;
  int64_t decided_at = 0;
  std::string decided_by;
};

struct IndexedPerson {
  std::string person;
  std::string family;
  std::string merged_into;  // "" unless merged away
  std::string fingerprint;  // of the facts the rule reads
};

class DuplicateStore {
 public:
  virtual ~DuplicateStore() = default;
  // The keyed hash of one blocking key (see above).
  virtual Result<std::string> key_hash(const std::string& key) = 0;
  // The person as last indexed, or nullopt.
  virtual Result<std::optional<IndexedPerson>> person(const std::string& person) = 0;
  // Replaces the person's row and its key hashes.
  virtual Result<void> index_person(const IndexedPerson& p, const std::vector<std::string>& key_hashes) = 0;
  // The persons (with their families) holding `key_hash`, at most `limit`, by person id.
  virtual Result<std::vector<IndexedPerson>> with_key(const std::string& key_hash, size_t limit) = 0;
  // Persons whose merged_into is `person` (merged into it earlier).
  virtual Result<std::vector<IndexedPerson>> merged_into(const std::string& person) = 0;

  virtual Result<void> mark_pending(const std::string& family) = 0;
  // Up to `limit` pending families, removed from the pending set.
  virtual Result<std::vector<std::string>> take_pending(size_t limit) = 0;
  // Removes `family` from the pending set; whether it was there.
  virtual Result<bool> take_pending_family(const std::string& family) = 0;

  // Adds the finding unless its pair is known (whatever its status); true when added (its id
  // is set in `f`).
  virtual Result<bool> add_finding(DuplicateFinding& f) = 0;
  // Findings touching `family` ("" = all), open ones only unless `all`, by id.
  virtual Result<std::vector<DuplicateFinding>> findings(const std::string& family, bool all) = 0;
  // Every finding naming `record` as first or second.
  virtual Result<std::vector<DuplicateFinding>> findings_of(const std::string& record) = 0;
  virtual Result<void> decide(int64_t id, const std::string& status, const std::string& by, int64_t at) = 0;
};

}  // namespace hearth::server
