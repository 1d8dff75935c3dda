#include "backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hearth/platform/sqlite_db.hpp"
#include "storage/sql/connection.hpp"

namespace hearth::server::admin {

namespace fs = std::filesystem;
using sql::Connection;

namespace {

Result<void> fsync_path(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::storage, "cannot open " + p.string() + " to flush it: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return make_error(ErrorCode::storage, "cannot flush " + p.string() + ": " + std::strerror(err));
  return {};
}

// The snapshot's facts, read inside the read transaction the copy is made from.
Result<BackupReport> read_snapshot(Connection& source) {
  BackupReport out;
  auto seq = source.prepare("SELECT coalesce(max(seq), 0) FROM ops");
  if (!seq) return seq.error();
  auto row = seq->step();
  if (!row) return row.error();
  out.last_seq = seq->integer(0);
  seq->reset();
  auto epoch = source.prepare("SELECT value FROM meta WHERE key = 'history_epoch'");
  if (!epoch) return epoch.error();
  auto e = epoch->step();
  if (!e) return e.error();
  if (*e) out.epoch = epoch->text(0);
  epoch->reset();
  return out;
}

// Makes the copy at `tmp` (which exists, empty, mode 0600).
Result<BackupReport> copy_into(const fs::path& db, const fs::path& tmp, int64_t now, int pages_per_step) {
  auto source = sql::open_sqlite(db.string());
  if (!source) return source.error();
  // One snapshot for the whole copy: the read transaction starts at its first read.
  if (auto r = (*source)->exec("BEGIN"); !r) return r.error();
  auto report = read_snapshot(**source);
  if (!report) return report.error();
  report->taken_at = now;
  auto pages = (*source)->sqlite()->backup_to(tmp.string(), pages_per_step);
  (void)(*source)->exec("ROLLBACK");  // only read
  if (!pages) return pages.error();
  source->reset();

  auto copy = sql::open_sqlite(tmp.string());
  if (!copy) return copy.error();
  if (auto r = (*copy)->exec("PRAGMA journal_mode=DELETE"); !r) return r.error();
  auto note = (*copy)->prepare(
      "INSERT OR REPLACE INTO meta(key, value) VALUES('backup_taken_at', ?), ('backup_last_seq', ?)");
  if (!note) return note.error();
  note->bind(1, std::to_string(report->taken_at)).bind(2, std::to_string(report->last_seq));
  if (auto r = note->run(); !r) return r.error();
  return report;
}

}  // namespace

Result<BackupReport> back_up(const fs::path& db, const fs::path& dest, AuditLog& audit, int64_t now, int pages_per_step) {
  std::error_code ec;
  if (fs::symlink_status(dest, ec).type() != fs::file_type::not_found || (ec && ec != std::errc::no_such_file_or_directory))
    return make_error(ErrorCode::conflict, dest.string() + " already exists; a backup never overwrites a file: choose a new name");
  if (!fs::exists(db, ec)) return make_error(ErrorCode::not_found, "no server database at " + db.string());
  fs::path tmp = dest;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST)
      return make_error(ErrorCode::conflict, tmp.string() + " already exists (an earlier backup stopped part-way?): "
                                                             "remove it, then back up again");
    return make_error(ErrorCode::storage, "cannot create " + tmp.string() + ": " + std::strerror(err));
  }
  ::close(fd);
  auto fail = [&](Error e) -> Result<BackupReport> {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    for (const char* side : {"-journal", "-wal", "-shm"}) fs::remove(tmp.string() + side, ignored);
    return e;
  };
  auto report = copy_into(db, tmp, now, pages_per_step);
  if (!report) return fail(report.error());
  if (auto r = fsync_path(tmp, O_RDONLY); !r) return fail(r.error());
  // link(2) never replaces an existing name, unlike rename(2).
  if (::link(tmp.c_str(), dest.c_str()) != 0) {
    int err = errno;
    return fail(make_error(err == EEXIST ? ErrorCode::conflict : ErrorCode::storage,
                           err == EEXIST ? dest.string() + " appeared while the backup was made; it was left as it is"
                                         : "cannot make " + dest.string() + ": " + std::strerror(err)));
  }
  fs::remove(tmp, ec);
  fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  (void)fsync_path(dir, O_RDONLY | O_DIRECTORY);  // the new name made durable where the filesystem allows
  report->file = dest;
  report->bytes = static_cast<uint64_t>(fs::file_size(dest, ec));
  if (auto r = audit.append(AuditEvent{now, "admin", "", "backup", "",
                                       "file " + dest.string() + ", " + std::to_string(report->bytes) + " bytes, last seq " +
                                           std::to_string(report->last_seq)});
      !r)
    return make_error(r.error().code, "the backup " + dest.string() + " was made, but its audit event was not recorded: " +
                                          r.error().message);
  return report;
}

}  // namespace hearth::server::admin
