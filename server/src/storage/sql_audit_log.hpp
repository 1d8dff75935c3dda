#pragma once
// The audit trail in the server database: keyed chains, one per family and one for events
// outside any family, with signed checkpoints (server/src/audit/, docs/audit.md). This adapter
// gives the service the narrow AuditLog interface over it, on the storage's connection, so an
// event joins the transaction of the change it records.
#include <memory>

#include "audit/audit_key.hpp"
#include "audit_log.hpp"
#include "storage/sql/connection.hpp"
#include "keys/family_sealer.hpp"

namespace hearth::server::sql {

// Opens the trail on `db` (creating its tables, importing a trail from before the keyed
// chains): errors name what is wrong with the key or the trail. `sealer` seals family events
// details (audit_chain.hpp); nullptr: stored as given.
Result<std::unique_ptr<AuditLog>> make_sql_audit_log(sql::Connection& db, audit::AuditKey key,
                                                        FamilySealer* sealer = nullptr);

}  // namespace hearth::server::sql
