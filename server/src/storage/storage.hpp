#pragma once
// Everything the server keeps, as narrow interfaces over one database. The default is
// embedded SQLite (open_sqlite_storage); PostgreSQL comes later behind the same interfaces,
// so they speak of sequence numbers, transactions and queries by family and cursor only.
// Thread-safety: not thread-safe; callers serialise (SyncService holds a lock).
#include <functional>
#include <memory>
#include <string>

#include "audit/audit_key.hpp"
#include "audit_log.hpp"
#include "caseload.hpp"
#include "keys/family_sealer.hpp"
#include "devices.hpp"
#include "flags.hpp"
#include "office_credentials.hpp"
#include "op_log.hpp"
#include "tenant_settings.hpp"
#include "time_index.hpp"

namespace hearth::server {

class Storage {
 public:
  virtual ~Storage() = default;
  virtual OpLog& ops() = 0;
  virtual Caseload& caseload() = 0;
  virtual Devices& devices() = 0;
  virtual AuditLog& audit() = 0;
  virtual FlagLog& flags() = 0;
  virtual TenantSettings& settings() = 0;
  virtual TimeIndex& due() = 0;  // time-driven events: when to look at each family, break-glass grants
  virtual OfficeCredentials& office() = 0;
  // Runs `body` in one transaction: committed when it returns success, rolled back otherwise.
  // Not re-entrant: `body` must not start another transaction.
  virtual Result<void> transaction(const std::function<Result<void>()>& body) = 0;
};

// One SQLite database (one connection) at `path`, created or brought up to date.
// `audit_key`: the server's audit key, kept outside the database (audit/audit_key.hpp).
// `sealer`: seals the details of family audit events (not owned; nullptr: PlainSealer).
Result<std::unique_ptr<Storage>> open_sqlite_storage(const std::string& path, audit::AuditKey audit_key,
                                                     FamilySealer* sealer = nullptr);

}  // namespace hearth::server
