#pragma once
// `hearth-server restore SRC`: brings a backup (backup.hpp) back as the server's database
// (docs/deployment.md, "Backup and restore"). Run with the server stopped: it takes the serve
// lock (serve_lock.hpp) and refuses while `serve` holds it.
//
// In order:
//  1. SRC is copied beside the database (DATA/hearth-server.db.restoring, mode 0600) and the
//     copy checked: a SQLite file whose integrity_check passes, with the server's tables and a
//     history epoch. SRC itself is only read.
//  2. The current database is kept aside, never deleted: its WAL folded in first, then renamed
//     DATA/hearth-server.db.before-restore-<UTC time> (any -wal or -shm left beside it moves
//     with it).
//  3. Exported audit checkpoints numbered above the backup's newest are moved (kept) into
//     CHECKPOINTS/before-restore-<UTC time>/: the restored trail numbers its next checkpoints
//     from the backup's, and must not overwrite them.
//  4. The copy takes the database's place, and in one transaction on it:
//     - from the database kept aside, when it can be read: the rows the backup lacks or holds
//       in an older state of the directory and enrolment tables (storage/sqlite_restore.hpp:
//       devices enrolled, renewed or revoked after the backup, enrolment codes, office
//       credentials, practitioners, organisations, tenant settings, held ops' decisions), and
//       the ops the server itself wrote after the backup (office writes, restamps), stored as
//       accepted ops (usecases/accepted.hpp) when that database continues the backup's history
//       (storage/sqlite_restore.hpp previous_continues). No device sends those again; devices send again
//       their own ops, and the server keeps only what it lacks;
//     - the erasure register applied (apply_erasure_register below);
//     - a new history epoch (OpLog::renew_history_epoch): every device then forgets its
//       cursors and sends again every op it authored (docs/protocol.md, "History");
//     - the server's op counters raised (storage/sqlite_restore.hpp raise_server_counters) to
//       at least the restore time in ms × 1000 and the kept-aside database's values: the ops
//       the server wrote after the backup keep their ids on the tablets that received them,
//       and when the kept-aside database cannot be read nothing else tells how far the
//       counters went; a counter grows by one per op, far below 1,000 per millisecond;
//     - an audit event "restore" (actor admin) naming the backup's time and last seq, the file
//       kept aside, what was carried over and erased, the new epoch and the moved checkpoints.
//  5. A checkpoint of the restored trail is signed and exported, so verify-audit checks the
//     restored trail against a checkpoint made from it (docs/audit.md, "After a restore"; docs/deployment.md).
// A failure before step 4 leaves the current database where it was; a failure in step 4 puts
// it back and keeps the restored copy as DATA/hearth-server.db.failed-restore-<UTC time>.
// Thread-safety: a command; run while no other process uses the data directory.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_key.hpp"
#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "storage/sql/connection.hpp"
#include "storage/sqlite_restore.hpp"
#include "usecases/context.hpp"

namespace hearth::server::admin {

// The families erased after the backup was taken must not come back with it (issue 9 part 2,
// DOMAIN.md §10.3): the erasure register, kept with the keyring outside data backups, lists
// them. Called inside the restore's transaction on the restored database (it must not start
// another); deletes the data rows of every family in the register and returns their ids (for
// the restore's audit event). For now the register does not exist yet and this does nothing:
// the erase-family work fills it.
Result<std::vector<std::string>> apply_erasure_register(ServiceContext& ctx);
using ErasureHook = std::function<Result<std::vector<std::string>>(ServiceContext&)>;

struct RestoreRequest {
  std::filesystem::path data_dir;        // DATA: the database is DATA/hearth-server.db
  std::filesystem::path source;          // SRC: a file `hearth-server backup` wrote
  std::filesystem::path checkpoint_dir;  // where audit checkpoints are exported
  audit::AuditKey audit_key;             // the server's audit key (the same before and after)
  std::shared_ptr<ServerKeys> keys;      // the server's keyring: never in a backup, so the same too
  const Schema* schema = nullptr;        // the record schema the server serves
  int64_t now = 0;                       // ms since the Unix epoch
  ErasureHook apply_erasures = apply_erasure_register;
};

struct RestoreReport {
  int64_t backup_taken_at = 0;  // 0: SRC does not say (a database copied by other means)
  int64_t backup_last_seq = 0;
  int64_t backup_checkpoint = 0;                 // the newest audit checkpoint in SRC; 0: none
  std::optional<std::filesystem::path> kept_aside;  // the database before the restore
  bool previous_read = false;                    // the kept-aside database could be read
  std::string previous_problem;                  // why not, when it could not
  std::vector<CarriedTable> carried;             // rows taken from it, by table
  size_t server_ops_carried = 0;                 // the server's own ops taken from it
  std::vector<std::string> erased;               // families the erasure register erased again
  std::string epoch;                             // the new history epoch
  int64_t counters_at_least = 0;                 // the server's op counters now start above this
  std::optional<std::filesystem::path> checkpoints_moved_to;
  size_t checkpoints_moved = 0;
  std::optional<std::filesystem::path> checkpoint_exported;
  std::vector<std::string> warnings;  // what did not stop the restore but needs a look
};

// Checks that `file` is a Hearth server database: it opens, PRAGMA integrity_check says "ok",
// and it has the server's tables and a history epoch. Errors (ErrorCode::corrupt) name `label`
// and what is wrong. Opens the file read-write: check a copy, not the original.
Result<void> check_server_database(const std::filesystem::path& file, const std::string& label);

// For verify-audit: one line for each restore the trail of the server database `db` records
// (its "restore" events, oldest first), saying when and from what, so that a truncation found
// against a checkpoint made before the restore is explained where it is reported.
Result<std::vector<std::string>> restore_notes(sql::Connection& db);

// The restore (above). Errors: ErrorCode::conflict while the server runs (the serve lock is
// held: "stop hearth-server first"); ErrorCode::not_found without SRC; ErrorCode::corrupt when
// SRC is not a server database; ErrorCode::storage when a file cannot be moved or written.
Result<RestoreReport> restore(const RestoreRequest& request);

}  // namespace hearth::server::admin
