#include "sar_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "hearth/core/civil_time.hpp"
#include "usecases/subject_access.hpp"

namespace hearth::server {

namespace {

namespace fs = std::filesystem;

constexpr const char* kLoggedAction = "sar-logged";

std::string logged_detail(const SarArgs& a, const std::string& received) {
  return "subject access request logged: person " + a.person + " received " + received;
}

// The file name part of an id: letters, digits, '.', '-' and '_' kept, anything else '_'.
std::string file_safe(const std::string& id) {
  std::string s = id;
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

// Writes `text` to a new file `path`, mode 0600 from its creation (never over an existing one).
Result<void> write_private(const fs::path& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(ErrorCode::storage, "cannot create " + path.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      return make_error(ErrorCode::storage, "writing " + path.string() + " failed: " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return make_error(ErrorCode::storage, "writing " + path.string() + " failed: " + std::strerror(errno));
  return {};
}

// The compact UTC stamp of a file name: "20261201T021500Z".
std::string stamp(int64_t ms) {
  std::string s = civil::format_datetime_seconds(ms);  // 2026-12-01T02:15:00Z
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '-' || c == ':'; }), s.end());
  return s;
}

}  // namespace

int sar_command(Storage& store, RecordStore& records, audit::AuditTrail& trail, const Schema& schema,
                const SarArgs& args, int64_t now_ms, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message, int code = 1) {
    err << "hearth-server: sar: " << message << "\n";
    return code;
  };
  auto requester = sar::parse_requester(args.requester_type);
  if (!requester)
    return fail("--requester-type must be SELF, PARENT or REPRESENTATIVE, not '" + args.requester_type + "'");
  const std::string today = civil::format_date(civil::day_of(now_ms));
  const std::string received = args.received.empty() ? today : args.received;
  if (auto dates = sar::due_dates(received); !dates) return fail(dates.error().message);
  if (received > today) return fail("--received " + received + " is after today (" + today + ")");
  // A SAR is an information governance decision (DOMAIN.md §7: the IG officer runs the SAR workflow).
  if (args.by != "admin") {
    auto profile = store.caseload().practitioner(args.by);
    if (!profile) return fail(profile.error().message, profile.error().code == ErrorCode::not_found ? 3 : 1);
    if (profile->role != "IG_OFFICER")
      return fail("subject access is an information governance task: " + args.by + " has the role " + profile->role +
                  ", not IG_OFFICER");
  }

  // A database from before the records store has them built when hearth-server opens it; an
  // export from an unbuilt store would silently miss records.
  auto built = records.built();
  if (!built) return fail(built.error().message);
  if (!*built) return fail("the server's current records are not built yet: open the data directory with this version "
                           "of hearth-server (it builds them from the op log), then run sar again");
  // Reading a person's records is audited before anything is read (server chain: no personal
  // data, the person's id is random), and what was disclosed after, in each family's chain.
  if (auto a = store.audit().append(AuditEvent{now_ms, args.by, "", "sar-started", "",
                                               "subject access: person " + args.person + ", requester " +
                                                   args.requester_type + ", received " + received});
      !a)
    return fail("the request could not be audited, so nothing is read: " + a.error().message);
  auto in = sar::read_person_records(records, args.person);
  if (!in) return fail(in.error().message, in.error().code == ErrorCode::not_found ? 3 : 1);
  std::set<std::string> families;
  for (const auto& r : in->records) families.insert(r.family);

  // When the request was logged: the first "sar-logged" event for it in the families' chains.
  const std::string logged_text = logged_detail(args, received);
  int64_t logged_at = 0;
  for (const auto& f : families) {
    audit::AuditQuery q;
    q.family = f;
    auto found = trail.query(q, [&](const audit::ListedEvent& e) -> Result<void> {
      if (e.detail == audit::ListedEvent::Detail::open && e.event.action == kLoggedAction &&
          e.event.detail == logged_text && (logged_at == 0 || e.event.at < logged_at))
        logged_at = e.event.at;
      return {};
    });
    if (!found) return fail(found.error().message);
  }
  const bool first_run = logged_at == 0;
  if (first_run) {
    logged_at = now_ms;
    auto logged = store.transaction([&]() -> Result<void> {
      for (const auto& f : families)
        if (auto a = store.audit().append(AuditEvent{now_ms, args.by, "", kLoggedAction, f, logged_text}); !a) return a;
      return {};
    });
    if (!logged) return fail(logged.error().message);
  }

  // The devices that may hold the families: those of everyone on their teams now, and those of
  // anyone who was (a TeamMember record names them) that have not pulled since they left, as
  // their next pull is the one that purges the family (and pushes what they recorded first).
  std::set<std::string> team;
  std::set<std::pair<std::string, std::string>> former;  // (family, practitioner)
  for (const auto& f : families) {
    auto members = store.caseload().team_of(f);
    if (!members) return fail(members.error().message);
    team.insert(members->begin(), members->end());
  }
  for (const auto& r : in->records) {
    if (r.type != "TeamMember") continue;
    auto j = sar::Json::parse(r.json, nullptr, false);
    if (j.is_discarded() || !j.contains("fields") || !j["fields"].contains("practitioner")) continue;
    if (auto p = j["fields"]["practitioner"]; p.is_string() && !team.count(p.get<std::string>()))
      former.emplace(r.family, p.get<std::string>());
  }
  auto devices = store.devices().devices();
  if (!devices) return fail(devices.error().message);
  std::vector<DeviceRecord> holding;
  std::set<std::string> asked(team.begin(), team.end());
  for (const auto& d : *devices) {
    if (team.count(d.practitioner)) {
      holding.push_back(d);
      continue;
    }
    for (const auto& [f, p] : former) {
      if (p != d.practitioner) continue;
      auto m = store.caseload().membership(f, p);
      if (!m) return fail(m.error().message);
      if (*m && (*m)->removed_at && d.last_pull_at >= *(*m)->removed_at) continue;  // purged since
      holding.push_back(d);
      asked.insert(p);
      break;
    }
  }
  auto sync = sar::check_sync(holding, {asked.begin(), asked.end()}, logged_at);

  auto calendar = store.settings().current();
  if (!calendar) return fail(calendar.error().message);
  sar::SarRequest request{args.person, *requester, received, args.by, now_ms, *calendar};
  auto doc = sar::build_document(schema, request, *in, sync);
  if (!doc) return fail(doc.error().message, doc.error().code == ErrorCode::not_found ? 3 : 1);

  fs::path dir = args.out_dir.empty() ? fs::current_path() : fs::path(args.out_dir);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) return fail("cannot create " + dir.string() + ": " + ec.message());
  }
  // Two runs within one second (a first run, the devices sync, a second run) get "-2", "-3", ...
  const std::string stem = "sar-" + file_safe(args.person) + "-" + stamp(now_ms);
  std::string base = stem;
  for (int n = 2; n <= 100 && (fs::exists(dir / (base + ".json"), ec) || fs::exists(dir / (base + ".html"), ec)); ++n)
    base = stem + "-" + std::to_string(n);
  const fs::path json_file = dir / (base + ".json"), html_file = dir / (base + ".html");
  if (auto w = write_private(json_file, sar::to_json(*doc).dump(2, ' ', false, sar::Json::error_handler_t::replace) + "\n"); !w) return fail(w.error().message);
  if (auto w = write_private(html_file, sar::to_html(*doc)); !w) return fail(w.error().message);

  const std::string detail = sar::audit_detail(*doc) + "; written to " + base + ".json/.html";
  auto audited = store.transaction([&]() -> Result<void> {
    for (const auto& f : doc->families)
      if (auto a = store.audit().append(AuditEvent{now_ms, args.by, "", "sar", f, detail}); !a) return a;
    if (doc->families.empty())
      return store.audit().append(AuditEvent{now_ms, args.by, "", "sar", "", detail});
    return {};
  });
  if (!audited) return fail("the export was written but auditing it failed: " + audited.error().message);

  if (first_run) out << "subject access request logged at " << civil::format_datetime_seconds(logged_at) << "\n";
  out << "person " << args.person << " (requester " << args.requester_type << "), received " << received << "\n"
      << "due " << doc->dates.due << " (one month; respond by " << doc->dates.respond_by
      << ", the next working day if it is not one); extended due date " << doc->dates.extended
      << " if complex (tell the requester within the first month)\n"
      << doc->records.size() << " records disclosed, " << doc->redactions.size() << " redactions, "
      << doc->harm_flags.size() << " items flagged for the serious-harm test (S3 P3 Para 11 SC harm)\n";
  if (doc->sync.complete()) {
    out << "sync complete: every device holding the families (" << doc->sync.devices.size()
        << ") has synced since the request was logged\n";
  } else {
    out << "INCOMPLETE: these devices have not synced since the request was logged at "
        << civil::format_datetime_seconds(logged_at) << ":";
    for (const auto& d : doc->sync.devices)
      if (d.state == sar::DeviceSync::State::not_synced) out << " " << d.device << " (" << d.practitioner << ")";
    out << "\n  run `hearth-server sar` again once they have synced (or are declared lost or wiped)\n";
  }
  out << "written " << json_file.string() << "\n" << "written " << html_file.string() << "\n";
  return 0;
}

}  // namespace hearth::server
