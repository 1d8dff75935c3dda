#pragma once
// Everything the server keeps, as narrow interfaces over one database. The default is
// embedded SQLite (open_sqlite_storage); PostgreSQL (open_postgres_storage) is the scale-out
// store behind the same interfaces, so they speak of sequence numbers, transactions and
// queries by family and cursor only.
// Thread-safety: not thread-safe; one connection per thread (SyncService keeps a pool of them).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "audit/audit_key.hpp"
#include "audit_log.hpp"
#include "caseload.hpp"
#include "devices.hpp"
#include "duplicates.hpp"
#include "flags.hpp"
#include "keys/keyring.hpp"
#include "office_credentials.hpp"
#include "op_log.hpp"
#include "outbox.hpp"
#include "records.hpp"
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
  // The office outbox, office ids, disclosure log and code mappings (outbox.hpp).
  virtual OfficeOutbox& outbox() = 0;
  // Sealing at rest under per-family keys, and the erasure register (keys/keyring.hpp).
  virtual ServerKeys& keys() = 0;
  // The current records, kept as ops are accepted (records.hpp; usecases/current_records.hpp).
  virtual RecordStore& records() = 0;
  // Probable duplicates: the blocking-key index, pending families, findings (duplicates.hpp).
  virtual DuplicateStore& duplicates() = 0;
  // Deletes every row the database holds for `family` (ops, held ops, flags, team index, due
  // times, break-glass grants, current records, office outbox items, office ids, disclosure
  // log), not its audit chain: step two of an erasure (usecases/erasure.hpp).
  // Runs in the caller's transaction; returns whether any row was there.
  virtual Result<bool> delete_family(const std::string& family) = 0;
  // Runs `body` in one transaction: committed when it returns success, rolled back otherwise.
  // Not re-entrant: `body` must not start another transaction.
  virtual Result<void> transaction(const std::function<Result<void>()>& body) = 0;
  // Inside a transaction, before a family's state is read for a write: waits until no other
  // transaction (of any connection or server) holds `family`, then holds it until this one
  // ends. Writers that lock several families lock them in sorted order (FamilyLocks::lock_all).
  // SQLite: a no-op, as BEGIN IMMEDIATE already lets one writer in at a time.
  virtual Result<void> lock_family(const std::string& family) = 0;
  // The current transaction's number (a new one for each transaction()), 0 outside one.
  virtual uint64_t transaction_id() const = 0;
  // Inside a transaction: runs `step` after its body succeeded, before it commits; an error
  // rolls it back. Dropped, not run, when the body fails. Steps run in the order registered.
  virtual void before_commit(std::function<Result<void>()> step) = 0;
  // Inside a transaction: runs `step` after it rolled back (its body or a before_commit step
  // failed, or the commit did), e.g. to drop cached state the rollback made stale.
  virtual void after_rollback(std::function<void()> step) = 0;
};

// One SQLite database (one connection) at `path`, created or brought up to date.
// `audit_key`: the server's audit key, kept outside the database (audit/audit_key.hpp).
// `keys`: the keyring that seals personal data at rest (keys/keyring.hpp); null means a
// throwaway one with encryption off (tests). A database written with encryption off is sealed
// in place the first time it is opened with encryption on; one sealed refuses to open with
// encryption off (ErrorCode::locked). Rows of families in the erasure register are deleted
// by apply_erasure_register (usecases/erasure.hpp), which hearth-server runs at every open.
// The keyring also seals the details of family audit events (audit/audit_chain.hpp).
Result<std::unique_ptr<Storage>> open_sqlite_storage(const std::string& path, audit::AuditKey audit_key,
                                                     std::shared_ptr<ServerKeys> keys = nullptr);

// The PostgreSQL store at `uri` (a libpq connection string: "postgresql://user@host:port/db"),
// its schema created or migrated (numbered migrations, run once under an advisory lock by
// whichever server opens it first). Several hearth-server processes may open the same
// database. Encryption at rest as for SQLite, except that a plain database is never sealed in
// place. Errors name the database, never a password.
Result<std::unique_ptr<Storage>> open_postgres_storage(const std::string& uri, audit::AuditKey audit_key,
                                                       std::shared_ptr<ServerKeys> keys = nullptr);

// The store `database` names: a PostgreSQL URI (postgresql://, postgres://, host=, dbname=)
// or else the path of a SQLite file.
Result<std::unique_ptr<Storage>> open_storage(const std::string& database, audit::AuditKey audit_key,
                                              std::shared_ptr<ServerKeys> keys = nullptr);

}  // namespace hearth::server
