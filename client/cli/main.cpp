// `hearth`: the tablet store from the command line, through the same calls an app makes.
// Run `hearth --help`, or `hearth COMMAND --help`.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <fstream>
#include <iostream>
#include <sstream>

#include "hearth/client/store.hpp"
#include "hearth/client/sync_client.hpp"
#include "hearth/core/civil_time.hpp"
#include "json_values.hpp"
#include "pin.hpp"

using namespace hearth;
using hearth::client::Store;
using nlohmann::json;

namespace {

struct Globals {
  std::string store_path;
  std::string practitioner;
  bool json_out = false;
  std::optional<int> pin_fd;
};

// Exit codes: 0 success, 1 bad usage or input, 2 locked (PIN/key), 3 not found,
// 4 refused by the rules (validation, lifecycle, conflict), 5 storage or corruption.
int exit_code(ErrorCode c) {
  switch (c) {
    case ErrorCode::invalid_argument: return 1;
    case ErrorCode::locked: return 2;
    case ErrorCode::not_found: return 3;
    case ErrorCode::validation:
    case ErrorCode::lifecycle:
    case ErrorCode::conflict:
    case ErrorCode::clock: return 4;
    case ErrorCode::corrupt:
    case ErrorCode::storage: return 5;
    case ErrorCode::network: return 6;
    case ErrorCode::too_large: return 4;
    case ErrorCode::forbidden: return 4;
    case ErrorCode::revoked:
    case ErrorCode::expired:
    case ErrorCode::not_enrolled: return 2;
  }
  return 5;
}

const char* hint(ErrorCode c) {
  switch (c) {
    case ErrorCode::invalid_argument: return "check the command's arguments: hearth COMMAND --help";
    case ErrorCode::locked:
      return "check the PIN (HEARTH_PIN, --pin-fd, or the prompt); too many wrong PINs wipe the store. "
             "A family locked after days without a sync unlocks with `hearth sync`";
    case ErrorCode::not_found: return "check the id: `hearth families` and `hearth family ID` list what the store holds";
    case ErrorCode::validation: return "`hearth schema TYPE` lists each field with its type, requirement and allowed values";
    case ErrorCode::lifecycle: return "the message lists the allowed transitions and the fields they need";
    case ErrorCode::conflict: return "read the message: the record changed or has unsynced work";
    case ErrorCode::clock: return "check the device's date, time and time zone, then run `hearth sync` again";
    case ErrorCode::corrupt: return "the store is damaged or was tampered with; keep the file and report it, then re-enrol the device";
    case ErrorCode::storage: return "check free space and permissions of the store folder";
    case ErrorCode::network: return "check the connection and try `hearth sync` again: nothing is lost or sent twice";
    case ErrorCode::too_large: return "over a size limit: shorten the text of a record; for `hearth sync`, the work stays queued, tell the office";
    case ErrorCode::forbidden: return "your role or team does not allow this; ask the lead professional";
    case ErrorCode::revoked:
      return "this device was revoked or wiped at the office's request and its store is erased; ask the office for a "
             "new enrolment code";
    case ErrorCode::expired: return "the device's credential expired: ask the office for a new code and run `hearth enrol` (unsynced work is kept)";
    case ErrorCode::not_enrolled: return "this store is not enrolled: ask the office for a code and run `hearth enrol`";
  }
  return "";
}

[[noreturn]] void fail(const Globals& g, const Error& e) {
  if (g.json_out) {
    std::cout << json{{"ok", false}, {"error", {{"code", to_string(e.code)}, {"message", e.message}, {"hint", hint(e.code)}}}}.dump()
              << "\n";
  } else {
    std::cerr << "hearth: " << e.message << "\n  what to do: " << hint(e.code) << "\n";
  }
  std::exit(exit_code(e.code));
}

template <typename T>
T must(const Globals& g, Result<T> r) {
  if (!r) fail(g, r.error());
  return std::move(r.value());
}
void must(const Globals& g, Result<void> r) {
  if (!r) fail(g, r.error());
}

// "-" reads standard input, "@path" reads a file, anything else is the text itself.
std::string argument_text(const Globals& g, const std::string& arg) {
  std::stringstream ss;
  if (arg == "-") {
    ss << std::cin.rdbuf();
  } else if (!arg.empty() && arg[0] == '@') {
    std::ifstream in(arg.substr(1));
    if (!in) fail(g, make_error(ErrorCode::invalid_argument, "cannot read " + arg.substr(1)));
    ss << in.rdbuf();
  } else {
    return arg;
  }
  return ss.str();
}

std::unique_ptr<Store> open_store(const Globals& g, bool create = false) {
  client::StoreOptions o;
  o.practitioner_id = g.practitioner;
  bool exists = std::ifstream(g.store_path).good();
  if (!create && !exists)
    fail(g, make_error(ErrorCode::not_found, "no store at " + g.store_path + " (create one with `hearth init`)"));
  if (create && exists) fail(g, make_error(ErrorCode::conflict, "a store already exists at " + g.store_path));
  cli::PinSource src{g.pin_fd};
  o.pin = create ? must(g, cli::read_new_pin(src, "New PIN: ", "HEARTH_PIN")) : must(g, cli::read_pin(src, "PIN: "));
  return must(g, Store::open(g.store_path, std::move(o)));
}

void ok(const Globals& g, const json& payload, const std::string& human) {
  if (g.json_out) {
    json out = payload;
    out["ok"] = true;
    std::cout << out.dump() << "\n";
  } else if (!human.empty()) {
    std::cout << human << (human.back() == '\n' ? "" : "\n");
  }
}

// "2026-11-30T08:00:00Z" (UTC).
std::string iso_time(uint64_t ms) { return civil::format_datetime_seconds(static_cast<int64_t>(ms)); }

std::string describe_entity(const json& e) {
  std::ostringstream out;
  out << e["type"].get<std::string>() << " " << e["id"].get<std::string>();
  if (e["deleted"].get<bool>()) out << " (deleted)";
  out << "\n";
  for (auto it = e["fields"].begin(); it != e["fields"].end(); ++it) out << "  " << it.key() << ": " << it.value().dump() << "\n";
  for (auto it = e["multi"].begin(); it != e["multi"].end(); ++it)
    out << "  ! " << it.key() << " has concurrent values " << it.value().dump() << " (see `hearth conflicts`)\n";
  return out.str();
}

std::string describe_conflict(const json& c) {
  std::ostringstream out;
  out << c["id"].get<std::string>() << "  " << c["kind"].get<std::string>() << "  " << c["entity_type"].get<std::string>()
      << "." << c["field"].get<std::string>() << " of " << c["entity_id"].get<std::string>() << "  -> "
      << c["assignee_role"].get<std::string>() << "\n";
  for (const auto& v : c["values"]) out << "      " << v["value"].dump() << "  by " << v["author"].get<std::string>() << "\n";
  if (!c["auto_applied"].is_null()) out << "      applied: " << c["auto_applied"].dump() << "\n";
  if (!c["detail"].get<std::string>().empty()) out << "      " << c["detail"].get<std::string>() << "\n";
  return out.str();
}

json schema_json(const EntityDef& e) {
  json fields = json::array();
  for (const auto& f : e.fields) {
    json jf = {{"name", f.name}, {"type", to_string(f.type)}, {"requirement", to_string(f.req)},
               {"sensitivity", to_string(f.sens)}, {"merge", to_string(f.merge)}};
    if (!f.values.empty()) jf["values"] = f.values;
    if (!f.ref.empty()) jf["ref"] = f.ref;
    if (!f.required_before.empty()) jf["required_before"] = f.required_before;
    fields.push_back(jf);
  }
  json out = {{"entity", e.name}, {"family_scoped", e.family_scoped}, {"append_only", e.append_only}, {"fields", fields}};
  if (e.lifecycle) out["lifecycle"] = {{"field", e.lifecycle->field}, {"initial", e.lifecycle->initial}};
  return out;
}

// The Task records the store holds (a policy record: every team member receives them, the
// assignee whole; DOMAIN.md §3.23, N6), of one family or of all. Each as {id, family, task_type,
// assignee, due_at, status, about, detail?, escalated_to?}; a withheld field is absent.
std::vector<json> tasks_held(const Globals& g, const Store& s, const std::string& family) {
  std::vector<json> out;
  std::vector<std::string> families = family.empty() ? must(g, s.families()) : std::vector<std::string>{family};
  for (const auto& f : families) {
    for (const auto& e : must(g, s.family(f)).entities) {
      if (e.type != "Task" || e.deleted) continue;
      json fields = json::parse(e.json)["fields"];
      json t = {{"id", e.id}, {"family", f}};
      for (const char* k : {"task_type", "assignee", "due_at", "status", "about", "detail", "escalated_to"})
        if (fields.contains(k) && fields[k].is_string()) t[k] = fields[k];
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::string field_or(const json& j, const char* key, const std::string& otherwise = "-") {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : otherwise;
}

}  // namespace

namespace {
int run(int argc, char** argv) {
  Globals g;
  const char* env_store = std::getenv("HEARTH_STORE");
  g.store_path = env_store && *env_store ? env_store : "hearth.db";
  CLI::App app{"hearth: the Early Help tablet store (encrypted at rest) from the command line"};
  app.set_version_flag("--version", std::string("hearth ") + HEARTH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command
  app.add_option("--store", g.store_path, "store file (default: $HEARTH_STORE or ./hearth.db)");
  app.add_flag("--json", g.json_out, "machine-readable output: one JSON object with \"ok\"");
  app.add_option("--pin-fd", g.pin_fd, "read the PIN (and a new PIN) as lines from this file descriptor");
  app.footer("PIN: --pin-fd, else $HEARTH_PIN (and $HEARTH_NEW_PIN for change-pin), else asked on the terminal.\n"
             "Exit codes: 0 ok, 1 usage, 2 locked, 3 not found, 4 refused by the rules, 5 storage or corruption, 6 network.");

  std::string practitioner, type, family, id, field, value, fields_arg, conflict_id, state, element;

  auto* init = app.add_subcommand("init", "create a new encrypted store for a practitioner");
  init->add_option("--practitioner", practitioner, "the practitioner id the store belongs to")->required();
  auto* unlock = app.add_subcommand("unlock", "check the PIN and show the store's status");
  auto* change_pin = app.add_subcommand("change-pin", "change the PIN (the data is not re-encrypted)");
  auto* create_family = app.add_subcommand("create-family", "create a family from JSON fields");
  create_family->add_option("fields", fields_arg, "JSON object, - for stdin, or @file")->required();
  auto* create = app.add_subcommand("create", "create a record of any v1 type in a family");
  create->add_option("type", type, "entity type, e.g. Contact (see `hearth schema`)")->required();
  create->add_option("fields", fields_arg, "JSON object, - for stdin, or @file")->required();
  create->add_option("--family", family, "the family it belongs to");
  create->add_option("--id", id, "a keyed id (assessment sections: ASSESSMENT/finding/DOMAIN)");
  auto* update = app.add_subcommand("update", "set one field of a record");
  update->add_option("id", id)->required();
  update->add_option("field", field)->required();
  update->add_option("value", value, "JSON value: \"text\", 42, true, null")->required();
  auto* add = app.add_subcommand("add", "add an element to a list field");
  auto* remove = app.add_subcommand("remove", "remove an element from a list field");
  for (auto* c : {add, remove}) {
    c->add_option("id", id)->required();
    c->add_option("field", field)->required();
    c->add_option("element", element)->required();
  }
  auto* transition = app.add_subcommand("transition", "move a record to another lifecycle state");
  transition->add_option("id", id)->required();
  transition->add_option("state", state)->required();
  auto* del = app.add_subcommand("delete", "delete a record (a concurrent edit elsewhere cancels it)");
  del->add_option("id", id)->required();
  auto* show = app.add_subcommand("show", "show one record");
  show->add_option("id", id)->required();
  auto* fam = app.add_subcommand("family", "show a family: its records, chronology and open conflicts");
  fam->add_option("id", id)->required();
  auto* families = app.add_subcommand("families", "list the families held");
  auto* conflicts = app.add_subcommand("conflicts", "list open conflicts");
  conflicts->add_option("--family", family);
  auto* tasks = app.add_subcommand("tasks", "tasks held on this tablet, your own first: due time (UTC), status, type");
  tasks->add_option("--family", family);
  auto* dups = app.add_subcommand("duplicates", "probable duplicate persons and contacts in a family (review items: "
                                                "nothing is merged here; a manager merges at the office)");
  dups->add_option("family", family)->required();
  auto* resolve = app.add_subcommand("resolve", "resolve a conflict with a chosen or merged value (or acknowledge it)");
  resolve->add_option("conflict", conflict_id)->required();
  resolve->add_option("value", value, "JSON value; omit to confirm the applied value or acknowledge");
  auto* purge = app.add_subcommand("purge", "erase a family beyond recovery (its key first); refused while it holds unsynced or refused work");
  purge->add_option("family", family)->required();
  auto* status = app.add_subcommand("status", "families held, unsynced operations, open conflicts");
  auto* held_cmd = app.add_subcommand("held", "own edits the server holds for a decision: why, who decides, the outcome");
  std::string server_url, ca_file, code;
  auto* enrol = app.add_subcommand("enrol", "enrol this device with hearth-server using a one-time code");
  enrol->add_option("--server", server_url, "https://host:port")->required();
  enrol->add_option("--ca", ca_file, "the organisation CA certificate (PEM) to trust, and nothing else")->required();
  enrol->add_option("--code", code, "the one-time code from the office")->required();
  auto* sync_cmd = app.add_subcommand("sync", "push unsynced work, then pull every family on the caseload");
  std::string bg_family, reason_code, reason;
  auto* break_glass = app.add_subcommand(
      "break-glass", "ask for emergency access to a family outside your team (time-boxed, audited, reviewed; §7)");
  break_glass->add_option("--family", bg_family)->required();
  break_glass->add_option("--reason-code", reason_code,
                          "IMMEDIATE_SAFEGUARDING_RISK, MISSING_CHILD, OUT_OF_HOURS_EMERGENCY, LEAD_UNAVAILABLE or OTHER")
      ->required();
  break_glass->add_option("--reason", reason, "why, in words")->required();
  auto* schema = app.add_subcommand("schema", "list entity types, or the fields of one");
  schema->add_option("type", type);
  // Sharing acts (DOMAIN.md §6.8): queued as SharingRequest records, decided by the server at sync.
  std::string share_kind, recipient, plan, meeting, note;
  std::vector<std::string> items;
  auto* share = app.add_subcommand("share", "queue a sharing act (send a plan, invite to a TAF meeting, export records) "
                                            "for the server to decide at sync; refused while consent status is stale");
  share->add_option("kind", share_kind, "send-plan, invite-to-taf or export")
      ->required()
      ->check(CLI::IsMember({"send-plan", "invite-to-taf", "export"}));
  share->add_option("--family", family, "the family")->required();
  share->add_option("--to", recipient, "the recipient organisation's id")->required();
  share->add_option("--plan", plan, "send-plan: the FamilyPlan's id");
  share->add_option("--meeting", meeting, "invite-to-taf: the TafMeeting's id (optional)");
  share->add_option("--items", items, "export: record ids, comma-separated")->delimiter(',');
  share->add_option("--note", note, "a note for the recipient");
  auto* shares = app.add_subcommand("shares", "list a family's sharing acts and the server's decisions with reasons");
  shares->add_option("family", family)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  g.practitioner = practitioner;

  if (schema->parsed()) {
    if (type.empty()) {
      json names = json::array();
      std::string human;
      for (const auto& e : Schema::v1().entities()) {
        names.push_back(e.name);
        human += e.name + "\n";
      }
      ok(g, {{"entities", names}}, human);
    } else {
      const EntityDef* e = Schema::v1().entity(type);
      if (!e) fail(g, make_error(ErrorCode::not_found, "no entity type '" + type + "'"));
      json j = schema_json(*e);
      std::string human;
      for (const auto& f : j["fields"])
        human += f["name"].get<std::string>() + "  " + f["type"].get<std::string>() + "  " +
                 f["requirement"].get<std::string>() + "  " + f["sensitivity"].get<std::string>() + "  " +
                 f["merge"].get<std::string>() + (f.contains("values") ? "  " + f["values"].dump() : "") + "\n";
      ok(g, j, human);
    }
    return 0;
  }
  if (init->parsed()) {
    auto s = open_store(g, /*create*/ true);
    ok(g, {{"store", g.store_path}, {"device_id", s->device_id()}, {"practitioner", s->practitioner_id()}},
       "created an encrypted store at " + g.store_path + " for " + s->practitioner_id() + " (device " + s->device_id() + ")");
    return 0;
  }
  if (change_pin->parsed()) {
    client::StoreOptions o;
    cli::PinSource src{g.pin_fd};
    std::string old_pin = must(g, cli::read_pin(src, "Current PIN: "));
    o.pin = old_pin;
    auto s = must(g, Store::open(g.store_path, std::move(o)));
    std::string new_pin = must(g, cli::read_new_pin(src, "New PIN: ", "HEARTH_NEW_PIN"));
    must(g, s->change_pin(old_pin, new_pin));
    ok(g, json::object(), "PIN changed");
    return 0;
  }

  auto s = open_store(g);
  if (unlock->parsed() || status->parsed()) {
    auto st = must(g, s->status());
    // Past the key lease (N5) the store opens only to sync: its counts are shown, not its lists.
    auto lease = must(g, s->key_lease());
    std::string lease_text = lease.ended ? "ended " + iso_time(lease.ends_at_ms) + ": the store opens only to sync (`hearth sync`)"
                                         : "until " + iso_time(lease.ends_at_ms) + " (renewed by every sync)";
    json held = json::array();
    std::string held_text;
    for (const auto& h : lease.ended ? std::vector<client::HeldOp>{} : must(g, s->held())) {
      if (!h.outcome.empty()) continue;  // decided: `hearth held` shows it
      held.push_back({{"op", h.op_id}, {"family", h.family}, {"reason", h.reason}, {"route_to", h.route_to}, {"at_ms", h.at_ms}});
      held_text += "    " + h.op_id + " (family " + h.family + "): held for " +
                   (h.route_to.empty() ? std::string("the lead professional") : h.route_to) + ": " + h.reason + "\n";
    }
    auto offline = must(g, s->offline_status());
    std::string policy_text = offline.policy ? std::string(client::to_string(offline.state)) + ", received " +
                                                   std::to_string(offline.age_ms / 60000) +
                                                   " minutes ago (consent status as of " +
                                                   iso_time(offline.policy->issued_at_ms) + ")"
                                             : "none received yet (sharing is blocked until a sync)";
    json quarantined = json::array();
    std::string quarantined_text;
    for (const auto& q : lease.ended ? std::vector<client::QuarantinedOp>{} : must(g, s->quarantine())) {
      quarantined.push_back({{"op", q.op_id}, {"family", q.family}, {"reason", q.reason}, {"at_ms", q.at_ms},
                             {"reported", q.reported}, {"acknowledged", q.acknowledged}});
      quarantined_text += "    " + q.op_id + " (family " + q.family + "): " + q.reason + " [" +
                          (q.acknowledged ? "report acknowledged" : q.reported ? "reported" : "not yet reported") + "]\n";
    }
    std::string last = st.last_sync_ms ? std::to_string((std::chrono::system_clock::now().time_since_epoch() /
                                                         std::chrono::milliseconds(1) - st.last_sync_ms) / 60000) + " minutes ago"
                                       : "never";
    ok(g,
       {{"device_id", st.device_id}, {"practitioner", s->practitioner_id()}, {"families", st.families},
        {"operations", st.ops}, {"unsynced", st.unsynced}, {"open_conflicts", st.open_conflicts},
        {"quarantined", quarantined}, {"last_sync_ms", st.last_sync_ms}, {"held", held},
        {"policy_state", client::to_string(offline.state)}, {"policy_age_ms", offline.age_ms},
        {"key_lease_ends_at_ms", lease.ends_at_ms}, {"key_lease_ended", lease.ended}},
       "store " + g.store_path + " (practitioner " + s->practitioner_id() + ", device " + st.device_id + ")\n" +
           "  families held:        " + std::to_string(st.families) + "\n" +
           "  unsynced operations:  " + std::to_string(st.unsynced) + "\n" +
           "  open conflicts:       " + std::to_string(st.open_conflicts) + "\n" +
           "  last successful sync: " + last + "\n" +
           "  access policy:        " + policy_text + "\n" +
           "  key lease:            " + lease_text + "\n" +
           "  refused by the server, kept in quarantine: " + std::to_string(st.quarantined) +
           (quarantined_text.empty() ? "" : "\n" + quarantined_text) +
           (held_text.empty() ? "" : "\n  held by the server for a decision: " + std::to_string(st.held) + "\n" + held_text));
  } else if (held_cmd->parsed()) {
    json list = json::array();
    std::string human;
    for (const auto& h : must(g, s->held())) {
      list.push_back({{"op", h.op_id}, {"family", h.family}, {"record", h.entity_id}, {"type", h.entity_type},
                      {"what", h.what}, {"reason", h.reason}, {"route_to", h.route_to}, {"at_ms", h.at_ms},
                      {"outcome", h.outcome.empty() ? "waiting" : h.outcome}, {"decided_by", h.decided_by},
                      {"decision_note", h.decision_note}, {"decided_at_ms", h.decided_at_ms},
                      {"family_purged", h.family_purged}});
      human += h.op_id + " (family " + h.family + "): " + h.what + "\n  held for " +
               (h.route_to.empty() ? std::string("the lead professional") : h.route_to) + ": " + h.reason + "\n  " +
               (h.outcome.empty() ? std::string(h.family_purged ? "waiting for a decision (the family is no longer on this "
                                                                  "device; the value is kept at the server)"
                                                                : "waiting for a decision (the record shows the value the "
                                                                  "server holds)")
                                  : h.outcome + " by " + h.decided_by + (h.decision_note.empty() ? "" : ": " + h.decision_note)) +
               "\n";
    }
    if (human.empty()) human = "no edits held by the server\n";
    ok(g, {{"held", list}}, human);
  } else if (enrol->parsed()) {
    std::ifstream in(ca_file);
    if (!in) fail(g, make_error(ErrorCode::invalid_argument, "cannot read the CA certificate " + ca_file));
    std::stringstream ca;
    ca << in.rdbuf();
    must(g, client::enrol(*s, server_url, ca.str(), code));
    ok(g, {{"server", server_url}, {"device_id", s->device_id()}}, "enrolled device " + s->device_id() + " with " + server_url);
  } else if (sync_cmd->parsed()) {
    auto transport = must(g, client::transport_for(*s));
    client::SyncOptions opts;
    bool tty = isatty(STDERR_FILENO) && !g.json_out;
    if (tty)
      opts.progress = [](const client::SyncProgress& p) {
        std::cerr << "\r" << p.phase << ": " << p.ops;
        if (p.total) std::cerr << "/" << p.total;
        std::cerr << " ops, " << p.bytes_up / 1024 << " KiB up, " << p.bytes_down / 1024 << " KiB down   " << std::flush;
      };
    // A revoked device, or one the office asked to wipe, is wiped by the library itself
    // (sync_client.hpp): the error then says so and what of its work went with it.
    auto report = client::sync(*s, *transport, opts);
    if (tty) std::cerr << "\n";
    auto r = must(g, std::move(report));
    auto st = must(g, s->status());
    ok(g,
       {{"pushed", r.pushed}, {"duplicates", r.duplicates}, {"rejected", r.rejected}, {"pulled", r.pulled},
        {"pages", r.pages}, {"families_purged", r.families_purged}, {"bytes_up", r.bytes_up}, {"bytes_down", r.bytes_down},
        {"clock_offset_ms", r.clock_offset_ms}, {"open_conflicts", st.open_conflicts}, {"quarantined", r.quarantined},
        {"history_resets", r.history_resets}, {"held", r.held}, {"held_decided", r.held_decided},
        {"purges_deferred", r.purges_deferred}},
       "synced: " + std::to_string(r.pushed) + " pushed, " + std::to_string(r.rejected) + " rejected, " +
           std::to_string(r.pulled) + " pulled, " + std::to_string(r.families_purged) + " families purged; " +
           (r.held ? std::to_string(r.held) + " held for a decision (see `hearth held`); " : std::string()) +
           (r.held_decided ? std::to_string(r.held_decided) + " held edits decided (see `hearth held`); " : std::string()) +
           (r.purges_deferred ? std::to_string(r.purges_deferred) + " purges put off until unsent work is delivered; "
                              : std::string()) +
           std::to_string(st.open_conflicts) + " open conflicts");
  } else if (break_glass->parsed()) {
    auto transport = must(g, client::transport_for(*s));
    auto granted = must(g, client::request_emergency_access(*s, *transport, bg_family, reason_code, reason));
    ok(g, {{"family", granted.family}, {"grant", granted.grant_id}, {"expires_at_ms", granted.expires_at_ms}},
       "emergency access to family " + granted.family + " granted until " +
           civil::format_datetime(static_cast<int64_t>(granted.expires_at_ms)) +
           " (grant " + granted.grant_id + "); run `hearth sync` to receive it. It is audited, and reviewed by a "
           "manager and the IG officer (by the lead professional where the directory names neither).");
  } else if (create_family->parsed()) {
    auto f = must(g, cli::parse_fields(argument_text(g, fields_arg)));
    std::string new_id = must(g, s->create_family(f));
    ok(g, {{"id", new_id}}, new_id);
  } else if (create->parsed()) {
    auto f = must(g, cli::parse_fields(argument_text(g, fields_arg)));
    std::string new_id = must(g, s->create(family, type, f, id.empty() ? std::nullopt : std::optional<std::string>(id)));
    ok(g, {{"id", new_id}}, new_id);
  } else if (update->parsed()) {
    must(g, s->update(id, field, must(g, cli::parse_value(argument_text(g, value)))));
    ok(g, json::object(), "");
  } else if (add->parsed()) {
    must(g, s->add_element(id, field, element));
    ok(g, json::object(), "");
  } else if (remove->parsed()) {
    must(g, s->remove_element(id, field, element));
    ok(g, json::object(), "");
  } else if (transition->parsed()) {
    must(g, s->transition(id, state));
    ok(g, json::object(), "");
  } else if (del->parsed()) {
    must(g, s->delete_entity(id));
    ok(g, json::object(), "");
  } else if (show->parsed()) {
    auto view = must(g, s->get(id));
    json e = json::parse(view.json);
    json withheld = json::array();
    std::string human = describe_entity(e);
    if (!view.family.empty())
      for (const auto& w : must(g, s->withheld(view.family))) {
        if (w == id) withheld.push_back(w);
        else if (w.rfind(id + "#", 0) == 0) {
          withheld.push_back(w);
          human += "  " + w.substr(id.size() + 1) + ": (withheld)\n";
        }
      }
    ok(g, {{"entity", e}, {"withheld", withheld}}, human);
  } else if (fam->parsed()) {
    auto view = must(g, s->family(id));
    json entities = json::array(), chron = json::array(), cs = json::array();
    std::string human = "== Family " + id + "\n";
    auto withheld = must(g, s->withheld(id));
    for (const auto& e : view.entities) {
      entities.push_back(json::parse(e.json));
      human += describe_entity(entities.back());
      for (const auto& w : withheld)
        if (w.rfind(e.id + "#", 0) == 0) human += "  " + w.substr(e.id.size() + 1) + ": (withheld)\n";
    }
    size_t whole = 0;
    for (const auto& w : withheld) whole += w.find('#') == std::string::npos;
    if (whole) human += "(" + std::to_string(whole) + " records withheld from you)\n";
    human += "\nChronology:\n";
    for (const auto& e : view.chronology) {
      chron.push_back(e.id);
      json f = json::parse(e.json)["fields"];
      human += "  " + e.occurred + "  " + e.type + " " + e.id + (f.contains("narrative") ? "  " + f["narrative"].get<std::string>() : "") + "\n";
    }
    human += "\nOpen conflicts: " + std::to_string(view.conflicts.size()) + "\n";
    for (const auto& c : view.conflicts) {
      cs.push_back(cli::conflict_json(c));
      human += describe_conflict(cs.back());
    }
    ok(g, {{"family", id}, {"entities", entities}, {"chronology", chron}, {"conflicts", cs}, {"withheld", withheld}}, human);
  } else if (families->parsed()) {
    auto list = must(g, s->families());
    std::string human;
    for (const auto& f : list) human += f + "\n";
    ok(g, {{"families", list}}, human.empty() ? "no families" : human);
  } else if (conflicts->parsed()) {
    json cs = json::array();
    std::string human;
    // A conflict names its assignee and due time: the server's CONFLICT_REVIEW task about it
    // (its `about` is the conflict's id, the same on every replica).
    std::vector<json> held = tasks_held(g, *s, family);
    for (const auto& c : must(g, s->open_conflicts(family))) {
      cs.push_back(cli::conflict_json(c));
      human += describe_conflict(cs.back());
      for (const auto& t : held) {
        if (t["family"] != c.family || field_or(t, "about", "") != c.id || field_or(t, "task_type", "") != "CONFLICT_REVIEW")
          continue;
        cs.back()["task"] = t;
        human += "      task: " + field_or(t, "assignee") + " by " + field_or(t, "due_at") + " (" + field_or(t, "status") +
                 ", " + t["id"].get<std::string>() + ")\n";
      }
    }
    ok(g, {{"conflicts", cs}}, human.empty() ? "no open conflicts" : human);
  } else if (tasks->parsed()) {
    std::vector<json> list = tasks_held(g, *s, family);
    const std::string me = s->practitioner_id();
    std::stable_sort(list.begin(), list.end(), [&](const json& a, const json& b) {
      bool mine_a = field_or(a, "assignee", "") == me, mine_b = field_or(b, "assignee", "") == me;
      if (mine_a != mine_b) return mine_a;
      if (field_or(a, "due_at") != field_or(b, "due_at")) return field_or(a, "due_at") < field_or(b, "due_at");
      return a["id"].get<std::string>() < b["id"].get<std::string>();
    });
    std::string human;
    for (const auto& t : list) {
      human += field_or(t, "due_at") + "  " + field_or(t, "status") + "  " + field_or(t, "task_type") + "  for " +
               field_or(t, "assignee") + (field_or(t, "assignee", "") == me ? " (you)" : "") + "  " +
               t["id"].get<std::string>() + "\n";
      if (t.contains("about")) human += "    about: " + t["about"].get<std::string>() + "\n";
      if (t.contains("detail")) human += "    " + t["detail"].get<std::string>() + "\n";
    }
    ok(g, {{"tasks", list}}, human.empty() ? "no tasks" : human);
  } else if (dups->parsed()) {
    json list = json::array();
    std::string human;
    for (const auto& f : must(g, s->probable_duplicates(family))) {
      list.push_back({{"kind", f.kind}, {"first", f.first}, {"second", f.second}, {"reasons", f.reasons}});
      human += f.describe() + "\n";
    }
    ok(g, {{"duplicates", list}}, human.empty() ? "no probable duplicates in family " + family : human);
  } else if (resolve->parsed()) {
    std::optional<Value> chosen;
    if (!value.empty()) chosen = must(g, cli::parse_value(argument_text(g, value)));
    must(g, s->resolve_conflict(conflict_id, chosen));
    ok(g, json::object(), "resolved " + conflict_id);
  } else if (share->parsed()) {
    FieldValues f{{"kind", share_kind == "send-plan" ? "SEND_PLAN" : share_kind == "invite-to-taf" ? "INVITE_TO_TAF"
                                                                                                   : "EXPORT_FOR_AGENCY"},
                  {"recipient", recipient},
                  {"requested_by", s->practitioner_id()},
                  {"requested_at", iso_time(static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch() /
                                                                  std::chrono::milliseconds(1)))}};
    if (!plan.empty()) f["plan"] = plan;
    if (!meeting.empty()) f["meeting"] = meeting;
    if (!items.empty()) f["items"] = StringList(items.begin(), items.end());
    if (!note.empty()) f["note"] = note;
    auto offline = must(g, s->offline_status());
    std::string as_of = offline.policy ? iso_time(offline.policy->issued_at_ms) : std::string();
    if (!as_of.empty()) f["consent_status_as_of"] = as_of;
    std::string new_id = must(g, s->create(family, "SharingRequest", f));  // refused when consent status is stale
    ok(g, {{"id", new_id}, {"consent_status_as_of", as_of}},
       new_id + "\nqueued: the server decides it at your next sync (`hearth sync`), against consent as it stands then; "
                "consent status on this tablet as of " + as_of + ". See `hearth shares " + family + "`.");
  } else if (shares->parsed()) {
    auto view = must(g, s->family(family));
    json list = json::array();
    std::string human;
    for (const auto& e : view.entities) {
      if (e.type != "SharingRequest") continue;
      json f = json::parse(e.json)["fields"];
      auto text = [&](const char* name) { return f.contains(name) ? f[name].get<std::string>() : std::string(); };
      std::string decision = text("status").empty() ? "REQUESTED" : text("status");
      list.push_back({{"id", e.id}, {"kind", text("kind")}, {"recipient", text("recipient")}, {"status", decision},
                      {"outcome_reason", text("outcome_reason")}, {"requested_at", text("requested_at")},
                      {"decided_at", text("decided_at")}});
      human += e.id + "  " + text("kind") + " to " + text("recipient") + "  " + decision +
               (decision == "REQUESTED" ? " (the server decides it at the next sync)" : " at " + text("decided_at")) + "\n";
      if (!text("outcome_reason").empty()) human += "    " + text("outcome_reason") + "\n";
    }
    ok(g, {{"family", family}, {"shares", list}}, human.empty() ? "no sharing acts" : human);
  } else if (purge->parsed()) {
    must(g, s->purge_family(family));
    ok(g, {{"purged", family}}, "family " + family + " purged: its key is destroyed and its records deleted");
  }
  return 0;
}
}  // namespace

// No exception ends the program without a word: anything unexpected (a library fault, out of
// memory, a value the JSON writer refuses) is reported as a storage failure, exit code 5.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hearth: unexpected failure: " << e.what() << "\n  what to do: " << hint(ErrorCode::storage) << "\n";
  } catch (...) {
    std::cerr << "hearth: unexpected failure\n  what to do: " << hint(ErrorCode::storage) << "\n";
  }
  return 5;
}
