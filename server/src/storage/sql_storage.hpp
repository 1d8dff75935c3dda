#pragma once
// Every storage interface over one SQL connection (storage/sql/connection.hpp), the same code
// for embedded SQLite and PostgreSQL. Opening a database (its schema, upgrades and at-rest
// mode) is the dialect's own: sqlite_storage.cpp and pg_storage.cpp.
// Thread-safety: not thread-safe; one SqlStorage per connection, used by one thread at a time.
#include <functional>
#include <memory>
#include <vector>

#include "sql_duplicates.hpp"
#include "sql_parts.hpp"
#include "storage.hpp"

namespace hearth::server::sql {

class SqlStorage final : public Storage {
 public:
  SqlStorage(std::unique_ptr<Connection> db, std::shared_ptr<ServerKeys> keys);

  // Opens the audit trail on the connection, once the schema is in place (audit_chain.hpp).
  Result<void> open_audit(audit::AuditKey audit_key);

  Result<bool> delete_family(const std::string& family) override;
  OpLog& ops() override { return ops_; }
  Caseload& caseload() override { return caseload_; }
  Devices& devices() override { return devices_; }
  AuditLog& audit() override { return *audit_; }
  FlagLog& flags() override { return flags_; }
  TenantSettings& settings() override { return settings_; }
  TimeIndex& due() override { return due_; }
  OfficeCredentials& office() override { return office_; }
  OfficeOutbox& outbox() override { return outbox_; }
  ServerKeys& keys() override { return *keys_; }
  RecordStore& records() override { return records_; }
  DuplicateStore& duplicates() override { return duplicates_; }
  Connection& database() { return *db_; }

  Result<void> transaction(const std::function<Result<void>()>& body) override;
  uint64_t transaction_id() const override { return transaction_id_; }
  void before_commit(std::function<Result<void>()> step) override { before_commit_.push_back(std::move(step)); }
  void after_rollback(std::function<void()> step) override { after_rollback_.push_back(std::move(step)); }

 private:
  std::unique_ptr<Connection> db_;
  std::shared_ptr<ServerKeys> keys_;
  SqlOpLog ops_;
  SqlCaseload caseload_;
  SqlDevices devices_;
  SqlFlagLog flags_;
  SqlTenantSettings settings_;
  SqlTimeIndex due_;
  SqlOfficeCredentials office_;
  SqlRecords records_;
  SqlOfficeOutbox outbox_;
  SqlDuplicateStore duplicates_;
  std::unique_ptr<AuditLog> audit_;  // on db_, declared after it: destroyed first
  uint64_t transactions_ = 0;    // transactions begun
  uint64_t transaction_id_ = 0;  // the current one's number, 0 outside one
  std::vector<std::function<Result<void>()>> before_commit_;
  std::vector<std::function<void()>> after_rollback_;
};

}  // namespace hearth::server::sql
