#pragma once
// The SQLite implementation of DuplicateStore (duplicates.hpp). Its tables are made by
// create_duplicate_tables, which SqliteStorage runs at every open.
#include <optional>
#include <string>

#include "duplicates.hpp"
#include "storage/sql/connection.hpp"
#include "keys/family_sealer.hpp"

namespace hearth::server::sql {

Result<void> create_duplicate_tables(sql::Connection& db);

// The SQL that deletes a family's rows (step two of an erasure, Storage::delete_family): one
// text parameter, the family.
inline constexpr const char* kDeleteFamilyDuplicates[] = {
    "DELETE FROM duplicate_keys WHERE family = ?", "DELETE FROM duplicate_persons WHERE family = ?",
    "DELETE FROM duplicate_pending WHERE family = ?",
    "DELETE FROM duplicate_findings WHERE first_family = ?1 OR second_family = ?1"};

class SqlDuplicateStore final : public DuplicateStore {
 public:
  SqlDuplicateStore(sql::Connection& db, FamilySealer& sealer) : db_(db), sealer_(sealer) {}
  Result<std::string> key_hash(const std::string& key) override;
  Result<std::optional<IndexedPerson>> person(const std::string& person) override;
  Result<void> index_person(const IndexedPerson& p, const std::vector<std::string>& key_hashes) override;
  Result<std::vector<IndexedPerson>> with_key(const std::string& key_hash, size_t limit) override;
  Result<std::vector<IndexedPerson>> merged_into(const std::string& person) override;
  Result<void> mark_pending(const std::string& family) override;
  Result<std::vector<std::string>> take_pending(size_t limit) override;
  Result<bool> take_pending_family(const std::string& family) override;
  Result<bool> add_finding(DuplicateFinding& f) override;
  Result<std::vector<DuplicateFinding>> findings(const std::string& family, bool all) override;
  Result<std::vector<DuplicateFinding>> findings_of(const std::string& record) override;
  Result<void> decide(int64_t id, const std::string& status, const std::string& by, int64_t at) override;

 private:
  Result<std::string> pepper();
  sql::Connection& db_;
  FamilySealer& sealer_;
  std::optional<std::string> pepper_;  // read (or made) once
};

}  // namespace hearth::server::sql
