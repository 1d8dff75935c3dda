#include "restore.hpp"
#include "usecases/erasure.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "admin/serve_lock.hpp"
#include "audit/audit_chain.hpp"
#include "hearth/core/civil_time.hpp"
#include "hearth/platform/sqlite_db.hpp"
#include "storage/sql/connection.hpp"
#include "hearth/sync/encoding.hpp"
#include "sync_service.hpp"
#include "usecases/accepted.hpp"
#include "usecases/authority_write.hpp"

namespace hearth::server::admin {

namespace fs = std::filesystem;
using sql::Connection;

Result<std::vector<std::string>> apply_erasure_register(ServiceContext& ctx) {
  return server::apply_erasure_register(ctx.store, ctx.now(), true);  // usecases/erasure.hpp
}

namespace {

// The ops the server authors itself: restamps (device "server", usecases/push.cpp) and the
// office's authority writes (kAuthorityDevice).
bool server_authored(const std::string& device) { return device == "server" || device == kAuthorityDevice; }

// 20261130T231500Z: sorts by time, and is a file name everywhere.
std::string utc_stamp(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

fs::path with_suffix(const fs::path& p, const std::string& suffix) {
  fs::path out = p;
  out += suffix;
  return out;
}

Error file_error(const std::string& what, const std::error_code& ec) {
  return make_error(ErrorCode::storage, what + ": " + ec.message());
}

// What the backup says of itself (backup.cpp notes it), and its newest audit checkpoint.
struct BackupFacts {
  int64_t taken_at = 0;
  int64_t last_seq = 0;
  int64_t newest_checkpoint = 0;
};

Result<int64_t> single_integer(Connection& db, const std::string& sql, int64_t none) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  int64_t v = *row && !st->is_null(0) ? st->integer(0) : none;
  st->reset();
  return v;
}

Result<BackupFacts> backup_facts(const fs::path& file) {
  auto db = sql::open_sqlite(file.string());
  if (!db) return db.error();
  BackupFacts f;
  auto taken = single_integer(**db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'backup_taken_at'", 0);
  if (!taken) return taken.error();
  f.taken_at = *taken;
  auto noted = single_integer(**db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'backup_last_seq'", -1);
  if (!noted) return noted.error();
  auto highest = single_integer(**db, "SELECT coalesce(max(seq), 0) FROM ops", 0);
  if (!highest) return highest.error();
  f.last_seq = std::max(*noted, *highest);
  auto cp = single_integer(**db, "SELECT coalesce(max(number), 0) FROM audit_checkpoints", 0);
  f.newest_checkpoint = cp ? *cp : 0;  // a trail older than checkpoints has none
  return f;
}

void remove_with_sides(const fs::path& p) {
  std::error_code ec;
  for (const char* side : {"", "-journal", "-wal", "-shm"}) fs::remove(with_suffix(p, side), ec);
}

// Folds the WAL into the database file, so the file kept aside holds everything on its own.
// Best effort: a database that cannot be opened is kept aside as it is, with its -wal.
std::string fold_wal(const fs::path& db) {
  auto conn = sql::open_sqlite(db.string());
  if (!conn) return conn.error().message;
  if (auto r = (*conn)->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !r) return r.error().message;
  return "";
}

// Moves `db` and whatever lies beside it to `to`; on an error, what moved is moved back.
Result<void> move_database(const fs::path& db, const fs::path& to) {
  std::vector<std::string> moved;
  for (const char* side : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    fs::path from = with_suffix(db, side);
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, with_suffix(to, side), ec);
    if (ec) {
      for (const auto& s : moved) {
        std::error_code ignored;
        fs::rename(with_suffix(to, s), with_suffix(db, s), ignored);
      }
      return file_error("cannot move " + from.string() + " to " + with_suffix(to, side).string(), ec);
    }
    moved.push_back(side);
  }
  return {};
}

// Exported checkpoint files numbered above `newest` (audit::checkpoint_file_in's names).
std::vector<fs::path> later_checkpoints(const fs::path& dir, int64_t newest) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto number = audit::checkpoint_number_of(it->path());
    if (number && *number > newest) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The ops the server itself wrote after `after_seq` in the kept-aside log that the restored
// log lacks, stored as accepted ops in sequence order; returns how many.
Result<size_t> carry_server_ops(ServiceContext& ctx, OpLog& previous, int64_t after_seq) {
  auto families = previous.families();
  if (!families) return families.error();
  std::vector<StoredOp> missing;
  for (const auto& family : *families) {
    // An erased family's rows (an erasure cut short) cannot be read, and are not wanted.
    auto erased = ctx.store.keys().erased(family);
    if (!erased) return erased.error();
    if (*erased) continue;
    int64_t cursor = after_seq;
    while (true) {  // bounded: the cursor moves past at least one op a page
      auto page = previous.ops_after(family, cursor, size_t{1} << 20);
      if (!page) return page.error();
      if (page->empty()) break;
      for (auto& op : *page) {
        cursor = std::max(cursor, op.seq);
        if (!server_authored(op.device)) continue;
        auto held = ctx.store.ops().has_op(op.device, op.counter);
        if (!held) return held.error();
        if (!*held) missing.push_back(std::move(op));
      }
    }
  }
  std::sort(missing.begin(), missing.end(), [](const StoredOp& a, const StoredOp& b) { return a.seq < b.seq; });
  std::set<std::string> touched;
  for (const auto& stored : missing) {
    auto op = sync::decode(stored.body);
    if (!op)
      return make_error(ErrorCode::corrupt, "op " + stored.device + ":" + std::to_string(stored.counter) + " of family " +
                                                stored.family + " in the database kept aside: " + op.error().message);
    if (auto r = store_accepted(ctx, *op, stored.body); !r) return r.error();
    touched.insert(stored.family);
  }
  for (const auto& family : touched)
    if (auto r = bump_team_feeds(ctx, family); !r) return r.error();
  return missing.size();
}

std::string describe(const RestoreReport& r, const fs::path& source) {
  std::string d = "restored from " + source.string() + ", a backup " +
                  (r.backup_taken_at ? "taken at " + civil::format_datetime(r.backup_taken_at) : std::string("of unknown time")) +
                  " (last seq " + std::to_string(r.backup_last_seq) + ", newest audit checkpoint " +
                  std::to_string(r.backup_checkpoint) + "); ";
  d += r.kept_aside ? "the database before it kept as " + r.kept_aside->filename().string() : std::string("no database before it");
  if (r.kept_aside && !r.previous_read) d += " (unreadable: " + r.previous_problem + "; nothing carried over)";
  if (r.previous_read) {
    d += "; carried over from it:";
    for (const auto& c : r.carried) d += " " + c.table + " " + std::to_string(c.rows) + ",";
    d += " server ops " + std::to_string(r.server_ops_carried);
  }
  d += "; erased again (erasure register): " + std::to_string(r.erased.size()) + " families";
  d += "; new history epoch " + r.epoch + "; server op counters from " + std::to_string(r.counters_at_least);
  for (const auto& w : r.warnings) d += "; warning: " + w;
  d += "; audit events and checkpoints after the backup are not in this trail";
  if (r.checkpoints_moved_to)
    d += " (" + std::to_string(r.checkpoints_moved) + " exported checkpoints moved to " + r.checkpoints_moved_to->string() + ")";
  return d;
}

// Step 4 of restore.hpp, on the restored database now in place.
Result<void> bring_up_to_date(const RestoreRequest& req, const fs::path& db, RestoreReport& report) {
  auto restored = open_sqlite_storage_for_restore(db.string(), req.audit_key, req.keys);
  if (!restored) return restored.error();
  std::unique_ptr<Storage> previous;
  if (report.kept_aside) {
    auto opened = open_sqlite_storage(report.kept_aside->string(), req.audit_key, req.keys);
    if (opened) {
      previous = std::move(*opened);
      if (auto a = attach_previous(*restored->db, report.kept_aside->string()); !a) return a.error();
      report.previous_read = true;
    } else {
      report.previous_problem = opened.error().message;
      report.warnings.push_back("the database kept aside could not be read (" + opened.error().message +
                                "): nothing was carried over from it; devices enrolled after the backup enrol again, "
                                "and office writes made after the backup are on the tablets only");
    }
  }
  const int64_t now = req.now;
  SyncService service(*restored->store, [now] { return static_cast<uint64_t>(now); }, *req.schema);
  auto done = service.with_context([&](ServiceContext& ctx) {
    return ctx.store.transaction([&]() -> Result<void> {
      if (previous) {
        auto carried = carry_over_directory(*restored->db);
        if (!carried) return carried.error();
        report.carried = std::move(*carried);
        auto continues = previous_continues(*restored->db, report.backup_last_seq);
        if (!continues) return continues.error();
        if (*continues) {
          auto ops = carry_server_ops(ctx, previous->ops(), report.backup_last_seq);
          if (!ops) return ops.error();
          report.server_ops_carried = *ops;
        } else {
          report.warnings.push_back("the database kept aside does not continue the backup's history (it lacks op seq " +
                                    std::to_string(report.backup_last_seq) +
                                    " as the backup has it): the server's own ops were not carried over from it");
        }
      }
      // The backup's notes of itself (backup.cpp) describe the file, not this database.
      if (auto r = restored->db->exec("DELETE FROM meta WHERE key IN ('backup_taken_at', 'backup_last_seq')"); !r) return r;
      auto erased = req.apply_erasures(ctx);
      if (!erased) return erased.error();
      report.erased = std::move(*erased);
      auto epoch = ctx.store.ops().renew_history_epoch();
      if (!epoch) return epoch.error();
      report.epoch = *epoch;
      auto floor = raise_server_counters(*restored->db, now * 1000, previous != nullptr);
      if (!floor) return floor.error();
      report.counters_at_least = *floor;
      return ctx.store.audit().append(AuditEvent{now, "admin", "", "restore", "", describe(report, req.source)});
    });
  });
  if (previous) (void)detach_previous(*restored->db);
  return done;
}

}  // namespace

Result<void> check_server_database(const fs::path& file, const std::string& label) {
  auto db = sql::open_sqlite(file.string());
  if (!db) return make_error(ErrorCode::corrupt, label + " cannot be opened as a database: " + db.error().message);
  auto st = (*db)->prepare("PRAGMA integrity_check");
  if (!st)
    return make_error(ErrorCode::corrupt, label + " is not a SQLite database (" + st.error().message + ")");
  std::vector<std::string> problems;
  auto rows = st->each([&](sql::Statement& r) {
    if (problems.size() < 5) problems.push_back(r.text(0));
  });
  if (!rows) return make_error(ErrorCode::corrupt, label + " is not a readable SQLite database (" + rows.error().message + ")");
  if (problems.size() != 1 || problems[0] != "ok") {
    std::string list;
    for (const auto& p : problems) list += (list.empty() ? "" : "; ") + p;
    return make_error(ErrorCode::corrupt, label + " failed SQLite's integrity check: " + list);
  }
  for (const char* table : {"meta", "counters", "ops", "devices", "enrol_codes", "practitioners", "organisations",
                            "office_credentials", "audit_events", "audit_chains"}) {
    auto has = single_integer(**db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + std::string(table) + "'", 0);
    if (!has) return make_error(ErrorCode::corrupt, label + ": " + has.error().message);
    if (*has == 0)
      return make_error(ErrorCode::corrupt, label + " is not a Hearth server database (it has no table '" + table + "')");
  }
  auto epoch = single_integer(**db, "SELECT count(*) FROM meta WHERE key = 'history_epoch'", 0);
  if (!epoch) return make_error(ErrorCode::corrupt, label + ": " + epoch.error().message);
  if (*epoch == 0) return make_error(ErrorCode::corrupt, label + " is not a Hearth server database (it has no history epoch)");
  return {};
}

Result<std::vector<std::string>> restore_notes(Connection& db) {
  auto st = db.prepare("SELECT at, detail FROM audit_events WHERE chain = 'server' AND action = 'restore' ORDER BY idx");
  if (!st) return st.error();
  std::vector<std::string> out;
  auto done = st->each([&](sql::Statement& r) {
    out.push_back("the trail was restored at " + civil::format_datetime(r.integer(0)) + " (audit event \"restore\": " +
                  r.text(1) + "); a checkpoint made after that backup and before the restore shows its chains cut at "
                              "the backup (docs/deployment.md, \"The audit trail after a restore\")");
  });
  if (!done) return done.error();
  return out;
}

Result<RestoreReport> restore(const RestoreRequest& req) {
  if (!req.schema) return make_error(ErrorCode::invalid_argument, "restore: no record schema given");
  auto lock = ServeLock::take(req.data_dir, "restore");
  if (!lock) return lock.error();
  const fs::path db = req.data_dir / "hearth-server.db";
  std::error_code ec;
  if (!fs::is_regular_file(req.source, ec)) return make_error(ErrorCode::not_found, "no backup file at " + req.source.string());
  if (fs::exists(db, ec) && fs::equivalent(req.source, db, ec))
    return make_error(ErrorCode::invalid_argument, req.source.string() + " is the server's database itself, not a backup");
  if (fs::exists(with_suffix(req.source, "-wal"), ec) && fs::file_size(with_suffix(req.source, "-wal"), ec) > 0)
    return make_error(ErrorCode::invalid_argument,
                      req.source.string() + "-wal lies beside it: " + req.source.string() +
                          " is a database in use or copied without its log, not a backup; make one with "
                          "`hearth-server backup DEST`");

  // 1. A checked copy beside the database.
  const fs::path staging = with_suffix(db, ".restoring");
  remove_with_sides(staging);  // left by a restore that stopped part-way: ours, never the data
  fs::copy_file(req.source, staging, fs::copy_options::overwrite_existing, ec);
  if (ec) return file_error("cannot copy " + req.source.string() + " to " + staging.string(), ec);
  ::chmod(staging.c_str(), 0600);
  if (auto ok = check_server_database(staging, req.source.string()); !ok) {
    remove_with_sides(staging);
    return ok.error();
  }
  auto facts = backup_facts(staging);
  if (!facts) {
    remove_with_sides(staging);
    return facts.error();
  }
  RestoreReport report;
  report.backup_taken_at = facts->taken_at;
  report.backup_last_seq = facts->last_seq;
  report.backup_checkpoint = facts->newest_checkpoint;
  const std::string stamp = utc_stamp(req.now);

  // 2. The current database kept aside.
  if (fs::exists(db, ec)) {
    std::string fold = fold_wal(db);
    if (!fold.empty()) report.warnings.push_back("the current database's log could not be folded in (" + fold + "); its -wal is kept beside it");
    fs::path aside = with_suffix(db, ".before-restore-" + stamp);
    if (fs::exists(aside, ec)) {
      remove_with_sides(staging);
      return make_error(ErrorCode::conflict, aside.string() + " already exists: wait a second and restore again");
    }
    if (auto moved = move_database(db, aside); !moved) {
      remove_with_sides(staging);
      return moved.error();
    }
    report.kept_aside = aside;
  }
  auto put_back = [&](const Error& why) -> Error {
    std::error_code ignored;
    if (fs::exists(db, ignored)) (void)move_database(db, with_suffix(db, ".failed-restore-" + stamp));
    if (report.kept_aside) (void)move_database(*report.kept_aside, db);
    remove_with_sides(staging);
    return make_error(why.code, why.message + " (nothing was restored; the database is as it was" +
                                    (fs::exists(with_suffix(db, ".failed-restore-" + stamp), ignored)
                                         ? ", the restored copy kept as " + with_suffix(db, ".failed-restore-" + stamp).string()
                                         : std::string()) +
                                    ")");
  };

  // 3. Exported checkpoints the restored trail would number again.
  auto later = later_checkpoints(req.checkpoint_dir, facts->newest_checkpoint);
  if (!later.empty()) {
    fs::path to = req.checkpoint_dir / ("before-restore-" + stamp);
    fs::create_directories(to, ec);
    if (ec) return put_back(file_error("cannot make " + to.string() + " for the checkpoints exported after the backup", ec));
    for (const auto& f : later) {
      fs::rename(f, to / f.filename(), ec);
      if (ec) {
        for (const auto& back : later) {
          std::error_code ignored;
          if (fs::exists(to / back.filename(), ignored)) fs::rename(to / back.filename(), back, ignored);
        }
        return put_back(file_error("cannot move the exported checkpoint " + f.string() + " to " + to.string() +
                                       " (checkpoints exported after the backup must be kept apart from the ones the "
                                       "restored trail will export; if the folder is write-once, point "
                                       "\"audit_checkpoint_dir\" at a new one)",
                                   ec));
      }
      ++report.checkpoints_moved;
    }
    report.checkpoints_moved_to = to;
  }

  // 4. The copy in place, brought up to date in one transaction.
  fs::rename(staging, db, ec);
  if (ec) return put_back(file_error("cannot move " + staging.string() + " to " + db.string(), ec));
  if (auto r = bring_up_to_date(req, db, report); !r) {
    // The moved checkpoints go back too: the database they belong to is back.
    if (report.checkpoints_moved_to)
      for (const auto& f : later) {
        std::error_code ignored;
        fs::rename(*report.checkpoints_moved_to / f.filename(), f, ignored);
      }
    return put_back(r.error());
  }

  // The file kept aside made whole on its own again (reading it above reopened its log).
  if (report.kept_aside) {
    auto aside = sql::open_sqlite(report.kept_aside->string());
    if (!aside || !(*aside)->exec("PRAGMA journal_mode=DELETE"))
      report.warnings.push_back("the database kept aside still has its log beside it (" + report.kept_aside->string() +
                                "-wal): keep the two together");
  }

  // 5. A checkpoint of the restored trail, exported.
  auto trail = audit::open_trail_file(db.string(), req.audit_key);
  auto cp = trail ? trail->trail->checkpoint(req.now) : Result<audit::Checkpoint>(trail.error());
  if (cp) {
    fs::path file = audit::checkpoint_file_in(req.checkpoint_dir, *cp);
    if (auto w = audit::write_checkpoint_file(file, *cp); w) report.checkpoint_exported = file;
    else report.warnings.push_back("the restored trail's checkpoint was not exported: " + w.error().message);
  } else {
    report.warnings.push_back("the restored trail's checkpoint was not made: " + cp.error().message);
  }
  return report;
}

}  // namespace hearth::server::admin
