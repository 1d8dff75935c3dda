#pragma once
#include <memory>
#include <string>

#include "audit/audit_key.hpp"
#include "server_store.hpp"

namespace hearth::server {

// The default store: one SQLite database in the data directory. Its audit trail is chained
// under `audit_key`, kept outside the database (audit/audit_key.hpp).
Result<std::unique_ptr<ServerStore>> open_sqlite_server_store(const std::string& path, audit::AuditKey audit_key);

}  // namespace hearth::server
