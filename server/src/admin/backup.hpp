#pragma once
// `hearth-server backup DEST`: a consistent copy of the server's database, made while `serve`
// runs and writes (docs/deployment.md, "Backup and restore").
//
// The copy is SQLite's online backup of one snapshot: a read transaction is held on a
// connection of its own, so every page comes from the same moment, and the server, which
// writes through the WAL, never waits for it. It holds the database only: no key. The KEK and
// the keyring with the per-family keys, the audit key, the erasure register and the exported
// audit checkpoints live outside the database and are backed up apart (a backup that held its
// own keys would undo crypto-shredding: DOMAIN.md §10.3).
//
// DEST must not exist: a backup never overwrites a file. The copy is written to DEST.tmp (mode
// 0600), made a single self-contained file (rollback journal, no -wal beside it), noted with
// when it was taken and the last op sequence number it holds (meta "backup_taken_at",
// "backup_last_seq", read by a restore), flushed to disk, then linked to DEST (refused if DEST
// appeared meanwhile) and DEST.tmp removed.
// Thread-safety: a command; uses its own connections.
#include <cstdint>
#include <filesystem>
#include <string>

#include "hearth/core/error.hpp"
#include "storage/storage.hpp"

namespace hearth::server::admin {

struct BackupReport {
  std::filesystem::path file;  // DEST
  uint64_t bytes = 0;          // DEST's size
  int64_t last_seq = 0;        // the highest op sequence number the copy holds (0: no op)
  int64_t taken_at = 0;        // when its snapshot was taken, ms since the Unix epoch
  std::string epoch;           // the history epoch of the copy
};

// Copies the server database at `db` into `dest`, `pages_per_step` pages at a time, and
// records an audit event (actor "admin", action "backup", detail: DEST, its size, the last seq)
// through `audit`, the server's trail. Errors: ErrorCode::conflict when DEST or DEST.tmp
// exists (nothing written); ErrorCode::not_found when `db` does not exist; ErrorCode::storage
// when reading or writing fails (DEST.tmp removed, DEST never made).
Result<BackupReport> back_up(const std::filesystem::path& db, const std::filesystem::path& dest, AuditLog& audit,
                             int64_t now, int pages_per_step = 256);

}  // namespace hearth::server::admin
