// Hearth on the peer benchmark workload (../shared/peers/README.md), next to raw SQLite on the
// same rows in the same run. Not a test: it prints figures.
//
//   hearth-bench SIZE [DIR]        SIZE = tiny | small | medium | large
//   hearth-bench --check SIZE      prints only the workload checksums
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "hearth/client/store.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "bench_common.hpp"
#include "peer_benchmark_schema.hpp"

using namespace hearth;
using namespace hearth::bench;

namespace {

// hearth-bench --check: the benchmark schema in core must name the generator's fields.
bool schema_matches_workload() {
  const Schema& s = peer_benchmark_schema();
  const EntityDef* doc = s.entity("Family");
  const EntityDef* action = s.entity("BenchAction");
  if (!doc || !action || doc->fields.size() != 30 || action->fields.size() != 7) return false;
  for (uint32_t i = 0; i < 30; ++i) {
    char t = scalar_type(i);
    FieldType want = t == 's' ? FieldType::String : t == 'i' ? FieldType::Int : FieldType::DateTime;
    if (doc->fields[i].name != kScalarNames[i] || doc->fields[i].type != want) return false;
  }
  for (uint32_t i = 1; i < 8; ++i)
    if (action->fields[i - 1].name != kActionNames[i]) return false;
  return true;
}

// Rebuilds a workload doc from the store's materialised state, in canonical form.
std::string doc_json_from_store(const client::Store& s, const Ids& ids, const Doc& original, uint32_t f) {
  Doc d;
  d.id = original.id;
  auto fields = nlohmann::json::parse(s.get(ids.doc[f])->json)["fields"];
  for (uint32_t i = 0; i < 30; ++i) {
    auto& v = fields[kScalarNames[i]];
    d.scalars[i].is_int = v.is_number();
    if (v.is_number()) d.scalars[i].i = v.get<uint32_t>();
    else d.scalars[i].s = v.get<std::string>();
  }
  for (size_t a = 0; a < original.actions.size(); ++a) {
    auto af = nlohmann::json::parse(s.get(ids.doc[f] + "/a" + std::to_string(a))->json)["fields"];
    std::array<Scalar, 8> row;
    row[0].s = "a" + std::to_string(a);
    for (uint32_t k = 1; k < 8; ++k) {
      auto& v = af[kActionNames[k]];
      row[k].is_int = v.is_number();
      if (v.is_number()) row[k].i = v.get<uint32_t>();
      else row[k].s = v.get<std::string>();
    }
    d.actions.push_back(row);
  }
  for (const auto& nid : ids.notes[f]) {
    auto nf = nlohmann::json::parse(s.get(nid)->json)["fields"];
    d.notes.push_back(Note{nid.substr(ids.doc[f].size() + 1), nf["at"], nf["author"], nf["text"]});
  }
  return d.json();
}

// ---- raw SQLite: the physical limit, measured in the same run --------------------------------
struct RawResult {
  double one_txn_ops_s = 0, per_op_txn_ops_s = 0;
  size_t per_op_count = 0;
};

RawResult raw_sqlite(const fs::path& path, const Workload& w, const std::vector<WorkOp>& ops) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.string().c_str(), &db) != SQLITE_OK) die("raw sqlite open");
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE oplog(seq INTEGER PRIMARY KEY, doc TEXT, path TEXT, value TEXT, hlc INTEGER);"
               "CREATE TABLE fields(doc TEXT, path TEXT, value TEXT, hlc INTEGER, PRIMARY KEY(doc, path)) WITHOUT ROWID;",
               nullptr, nullptr, nullptr);
  sqlite3_stmt *log = nullptr, *up = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO oplog(doc, path, value, hlc) VALUES(?,?,?,?)", -1, &log, nullptr);
  sqlite3_prepare_v2(db,
                     "INSERT INTO fields(doc, path, value, hlc) VALUES(?,?,?,?) ON CONFLICT(doc, path) DO UPDATE SET "
                     "value = excluded.value, hlc = excluded.hlc WHERE excluded.hlc > fields.hlc",
                     -1, &up, nullptr);
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  rows.reserve(ops.size());
  for (const auto& op : ops)
    rows.emplace_back(Workload::doc_id(op.f), op.path(), op.kind == OpKind::Note ? op.note.json() : op.value.json());
  auto one = [&](size_t i, int64_t hlc) {
    const auto& [doc, p, v] = rows[i];
    for (sqlite3_stmt* st : {log, up}) {
      sqlite3_bind_text(st, 1, doc.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, p.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 3, v.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 4, hlc);
      sqlite3_step(st);
      sqlite3_reset(st);
    }
  };
  RawResult r;
  auto t = Clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (size_t i = 0; i < rows.size(); ++i) one(i, static_cast<int64_t>(i) + 1);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  r.one_txn_ops_s = static_cast<double>(rows.size()) / seconds_since(t);
  r.per_op_count = std::min<size_t>(rows.size(), 20000);
  t = Clock::now();
  for (size_t i = 0; i < r.per_op_count; ++i) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    one(i, static_cast<int64_t>(rows.size() + i) + 1);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  r.per_op_txn_ops_s = static_cast<double>(r.per_op_count) / seconds_since(t);
  sqlite3_finalize(log);
  sqlite3_finalize(up);
  sqlite3_close(db);
  (void)w;
  return r;
}


// One engine configuration through the whole workload: create, U updates (one txn per op, then
// 1000 per txn on another replica), state check, fork, K-vs-K merge both ways, convergence.
nlohmann::json run_engine(const Workload& w, const std::vector<WorkOp>& updates,
                          const std::vector<std::pair<WorkOp, WorkOp>>& conflicts, const fs::path& dir,
                          const Schema& schema, bool encrypted) {
  fs::create_directories(dir);
  const Size* size = &w.size();
  auto a = open_store(dir / "a.db", schema, "replica-a", encrypted);
  Ids ids;
  auto t = Clock::now();
  create_docs(*a, ids, w);
  double create_s = seconds_since(t);
  mark_all_pushed(*a);
  must(a->checkpoint(), "checkpoint");  // each timed phase starts with an empty WAL

  t = Clock::now();
  for (const auto& op : updates) apply(*a, ids, op);
  double update_s = seconds_since(t);
  size_t update_payload = outbox_bytes(*a);
  mark_all_pushed(*a);
  uint64_t state_bytes = file_bytes(dir / "a.db");

  double batched_ops_s = 0;
  {
    auto c = open_store(dir / "c.db", schema, "replica-c", encrypted);
    Ids ids_c;
    must(c->atomically([&]() -> Result<void> {
      create_docs(*c, ids_c, w);
      return {};
    }), "batched create");
    must(c->checkpoint(), "checkpoint");
    t = Clock::now();
    for (size_t i = 0; i < updates.size(); i += 1000) {
      must(c->atomically([&]() -> Result<void> {
        for (size_t j = i; j < std::min(updates.size(), i + 1000); ++j) apply(*c, ids_c, updates[j]);
        return {};
      }), "batched updates");
    }
    batched_ops_s = static_cast<double>(updates.size()) / seconds_since(t);
  }

  // the store's materialised state must equal the reference semantics of the workload
  uint32_t h = 0x811c9dc5u;
  for (uint32_t f = 0; f < size->F; ++f) h = fnv1a(h, doc_json_from_store(*a, ids, w.docs()[f], f) + "\n");
  char state_hex[16];
  std::snprintf(state_hex, sizeof state_hex, "%08x", h);
  bool state_ok = w.checksum_line().find(std::string("state_after_U=") + state_hex) != std::string::npos;

  auto b = open_store(dir / "b.db", schema, "replica-b", encrypted);
  t = Clock::now();
  size_t full_sync_bytes = 0;
  for (const auto& fam : must(a->families(), "families")) {
    auto ops = must(sync_port(*a).encoded_ops(fam), "read ops");
    for (const auto& o : ops) full_sync_bytes += o.size();
    must(sync_port(*b).apply_remote(ops), "fork");
  }
  double fork_s = seconds_since(t);

  Ids ids_b = ids;
  must(a->checkpoint(), "checkpoint");
  must(b->checkpoint(), "checkpoint");
  t = Clock::now();
  for (const auto& [oa, ob] : conflicts) apply(*a, ids, oa);
  for (const auto& [oa, ob] : conflicts) apply(*b, ids_b, ob);
  double conflict_s = seconds_since(t);

  must(a->checkpoint(), "checkpoint");
  must(b->checkpoint(), "checkpoint");
  t = Clock::now();
  auto from_b = outbox_ops(*b);
  double extract_b = seconds_since(t);
  t = Clock::now();
  auto from_a = outbox_ops(*a);
  double extract_a = seconds_since(t);
  size_t bytes_b = 0, bytes_a = 0;
  for (const auto& o : from_b) bytes_b += o.size();
  for (const auto& o : from_a) bytes_a += o.size();
  t = Clock::now();
  must(sync_port(*a).apply_remote(from_b), "merge B->A");
  double merge_ba = extract_b + seconds_since(t);
  t = Clock::now();
  must(sync_port(*b).apply_remote(from_a), "merge A->B");
  double merge_ab = extract_a + seconds_since(t);
  size_t diverged = 0;
  for (const auto& fam : must(a->families(), "families"))
    if (must(a->export_family(fam), "export") != must(b->export_family(fam), "export")) ++diverged;

  double ops = static_cast<double>(updates.size());
  return {{"create_docs_per_s", size->F / create_s},
          {"update_ops_per_s", ops / update_s},
          {"update_ops_per_s_1000_per_txn", batched_ops_s},
          {"state_after_U_matches_reference", state_ok},
          {"fork_s", fork_s},
          {"full_sync_payload_bytes", static_cast<double>(full_sync_bytes)},
          {"conflict_edit_ops_per_s", 2.0 * static_cast<double>(conflicts.size()) / conflict_s},
          {"merge_b_to_a_s", merge_ba},
          {"merge_extract_b_s", extract_b},
          {"merge_a_to_b_s", merge_ab},
          {"merge_payload_bytes_b_to_a", static_cast<double>(bytes_b)},
          {"merge_payload_bytes_a_to_b", static_cast<double>(bytes_a)},
          {"converged", diverged == 0},
          {"update_payload_bytes", static_cast<double>(update_payload)},
          {"state_db_bytes_after_U", static_cast<double>(state_bytes)}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--check") {
    const Size* size = find_size(argv[2]);
    if (!size) die("unknown size");
    std::cout << Workload(*size).checksum_line() << "\n";
    if (!schema_matches_workload()) die("peer_benchmark_schema() no longer matches the workload's fields");
    return 0;
  }
  if (argc < 2) die("usage: hearth-bench SIZE [DIR] | hearth-bench --check SIZE");
  const Size* size = find_size(argv[1]);
  if (!size) die(std::string("unknown size '") + argv[1] + "' (tiny, small, medium, large)");
  fs::path dir = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "hearth-bench";
  fs::remove_all(dir);
  fs::create_directories(dir);

  Workload w(*size);
  std::string checksums = w.checksum_line();
  std::cout << checksums << "\n";
  auto updates = w.updates();
  auto conflicts = w.conflicts();

  RawResult raw = raw_sqlite(dir / "raw.db", w, updates);
  const Schema& schema = peer_benchmark_schema();
  nlohmann::json plain = run_engine(w, updates, conflicts, dir / "plain", schema, false);
  nlohmann::json sealed = run_engine(w, updates, conflicts, dir / "encrypted", schema, true);

  auto row = [&](const char* label, const char* key, const char* fmt) {
    std::printf("%-46s", label);
    for (const auto* j : {&plain, &sealed}) {
      const auto& v = (*j)[key];
      if (v.is_boolean()) std::printf("%16s", v.get<bool>() ? "yes" : "NO");
      else std::printf(fmt, v.get<double>());
    }
    std::printf("\n");
  };
  std::printf("\n%-46s%16s%16s\n", "", "plain", "encrypted");
  row("create docs/s (one txn per record)", "create_docs_per_s", "%16.0f");
  row("(a) update ops/s, one txn per op", "update_ops_per_s", "%16.0f");
  row("    update ops/s, 1000 ops per txn", "update_ops_per_s_1000_per_txn", "%16.0f");
  row("    state after U equals the reference", "state_after_U_matches_reference", "");
  row("fork (B bootstraps from A), s", "fork_s", "%16.3f");
  row("(b) merge B->A, s", "merge_b_to_a_s", "%16.3f");
  row("    merge A->B, s", "merge_a_to_b_s", "%16.3f");
  row("    converged", "converged", "");
  row("(c) merge payload B->A, bytes", "merge_payload_bytes_b_to_a", "%16.0f");
  row("    U-updates change log, bytes", "update_payload_bytes", "%16.0f");
  row("    store files after U, bytes", "state_db_bytes_after_U", "%16.0f");
  std::printf("%-46s%16.0f  (same run)\n", "raw SQLite op-log + LWW, txn per op", raw.per_op_txn_ops_s);
  std::printf("%-46s%16.0f  (same run)\n", "raw SQLite op-log + LWW, one txn", raw.one_txn_ops_s);
  double plain_ops = plain["update_ops_per_s"], sealed_ops = sealed["update_ops_per_s"];
  std::printf("%-46s%16.1f%%\n", "encryption cost on (a)", 100.0 * (1.0 - sealed_ops / plain_ops));
  std::printf("%-46s%16ld\n", "(e) peak RSS of the process, KiB", peak_rss_kb());
  nlohmann::json out = {{"engine", "hearth"}, {"size", size->name}, {"F", size->F}, {"U", size->U}, {"K", size->K},
                        {"plain", plain}, {"encrypted", sealed},
                        {"raw_sqlite_oplog_lww_txn_per_op_ops_per_s", raw.per_op_txn_ops_s},
                        {"raw_sqlite_oplog_lww_1txn_ops_per_s", raw.one_txn_ops_s},
                        {"encryption_cost_update_fraction", 1.0 - sealed_ops / plain_ops},
                        {"max_rss_kb", peak_rss_kb()}};
  std::cout << out.dump() << "\n";
  bool ok = plain["state_after_U_matches_reference"] && plain["converged"] &&
            sealed["state_after_U_matches_reference"] && sealed["converged"];
  return ok ? 0 : 3;
}
