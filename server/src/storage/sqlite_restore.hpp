#pragma once
// The file-level steps of a restore (admin/restore.hpp) on the restored SQLite database that
// the storage interfaces do not offer: reading the database kept aside (attached to the
// restored one's connection as schema "previous"), taking from it the directory and enrolment
// rows the backup lacks or holds in an older state, and raising the server's own op counters.
// Thread-safety: confined to the owner of the connection, like sql::Connection.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit_key.hpp"
#include "storage/sql/connection.hpp"
#include "storage.hpp"

namespace hearth::server {

// The restored database as Storage, with its connection for the steps below (which must run
// on the same connection and, except attach and detach, inside the same transaction).
struct RestoringStorage {
  std::unique_ptr<Storage> store;
  sql::Connection* db = nullptr;  // store's connection; lives as long as store
};
// Opens (and brings up to date, like open_sqlite_storage) the restored database at `path`.
// `keys`: the server's keyring (the same before and after: it is never in a backup).
Result<RestoringStorage> open_sqlite_storage_for_restore(const std::string& path, audit::AuditKey audit_key,
                                                         std::shared_ptr<ServerKeys> keys);

// Attaches the database file at `path` as schema "previous". Outside any transaction (SQLite
// refuses ATTACH inside one).
Result<void> attach_previous(sql::Connection& db, const std::string& path);
Result<void> detach_previous(sql::Connection& db);

// Whether the log of "previous" continues the restored one: it holds the op the restored log
// ends with (`last_seq`) under the same sequence number, or the restored log is empty. The
// server's own later ops are carried over only from a continuation (never from the database
// of another server or of another history).
Result<bool> previous_continues(sql::Connection& db, int64_t last_seq);

// Rows of one table taken from "previous": those the restored table lacked or held differently.
struct CarriedTable {
  std::string table;
  int64_t rows = 0;
};

// The tables whose rows "previous" holds in a state at least as new as the backup's, because
// their rows only move forward (a device enrolled, renewed or revoked; a code spent; an office
// credential issued or revoked; a practitioner or organisation added; a tenant setting set; a
// held op decided): organisations, practitioners, enrol_codes, devices, office_credentials,
// tenant_settings, held_ops. For each, every row of "previous" that the restored table does
// not hold identically replaces the restored row with the same key (INSERT OR REPLACE), over
// the columns both tables have. Tables missing from "previous" are skipped. Inside the
// restore's transaction. Returns what was taken, table by table (tables with no row taken
// included, rows 0).
Result<std::vector<CarriedTable>> carry_over_directory(sql::Connection& db);

// Raises the counters of the ops the server authors itself (table `counters`: "server" for
// restamps, "hearth-server" for the office's authority writes) to at least `floor` and, when
// "previous" is attached, to at least its values: the ops the server wrote after the backup
// keep their ids on the tablets that received them, so no new op may take one of them again.
// Returns the lowest value the two counters now have. Inside the restore's transaction.
Result<int64_t> raise_server_counters(sql::Connection& db, int64_t floor, bool previous_attached);

}  // namespace hearth::server
