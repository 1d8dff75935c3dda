#pragma once
// The audit trail in the server database: one SHA-256 hash chain over every event. All of the
// SQLite audit code is here (table, append, verify) so another implementation can replace it.
#include <memory>

#include "audit_log.hpp"
#include "hearth/platform/sqlite_db.hpp"

namespace hearth::server::sqlite {

// Creates the audit table if missing.
Result<void> create_audit_tables(platform::Database& db);
std::unique_ptr<AuditLog> make_sqlite_audit_log(platform::Database& db);

}  // namespace hearth::server::sqlite
