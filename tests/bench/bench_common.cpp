// Shared by the benchmarks: running the workload through a Hearth store.
#include "bench_common.hpp"

#include <sys/resource.h>

#include <iostream>
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)

namespace hearth::bench {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "hearth-bench: " << what << "\n";
  std::exit(1);
}
void must(Result<void> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().describe());
}
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
long peak_rss_kb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}
uint64_t file_bytes(const fs::path& p) {
  uint64_t n = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto s = fs::file_size(p.string() + suffix, ec);
    if (!ec) n += s;
  }
  return n;
}

Value to_value(const Scalar& s) { return s.is_int ? Value(static_cast<int64_t>(s.i)) : Value(s.s); }

std::unique_ptr<client::Store> open_store(const fs::path& path, const Schema& schema, const char* who, bool encrypted) {
  client::StoreOptions o;
  o.practitioner_id = who;
  o.schema = &schema;
  o.encrypted = encrypted;
  if (encrypted) o.keystore_key = std::string(32, 'k');  // the key-derivation cost is not what is measured
  return must(client::Store::open(path.string(), std::move(o)), "open store");
}

void apply(client::Store& s, Ids& ids, const WorkOp& op) {
  const std::string& fam = ids.doc[op.f];
  if (op.kind == OpKind::Set) {
    must(s.update(fam, kScalarNames[op.field], to_value(op.value)), "update");
  } else if (op.kind == OpKind::Act) {
    must(s.update(fam + "/a" + std::to_string(op.action), kActionNames[op.field], to_value(op.value)), "action");
  } else {
    std::string id = fam + "/" + op.note.id;
    must(s.create(fam, "BenchNote", {{"at", op.note.at}, {"author", op.note.author}, {"text", op.note.text}}, id), "note");
    ids.notes[op.f].push_back(id);
  }
}

size_t outbox_bytes(const client::Store& s) {
  size_t n = 0;
  for (const auto& e : must(sync_port(s).outbox(SIZE_MAX), "outbox")) n += e.bytes.size();
  return n;
}

void mark_all_pushed(client::Store& s) {
  std::vector<int64_t> seqs;
  for (const auto& e : must(sync_port(s).outbox(SIZE_MAX), "outbox")) seqs.push_back(e.seq);
  must(sync_port(s).mark_pushed(seqs), "mark pushed");
}

std::vector<std::string> outbox_ops(const client::Store& s) {
  std::vector<std::string> out;
  for (auto& e : must(sync_port(s).outbox(SIZE_MAX), "outbox")) out.push_back(std::move(e.bytes));
  return out;
}

void create_docs(client::Store& s, Ids& ids, const Workload& w) {
  ids.notes.assign(w.size().F, {});
  ids.doc.clear();
  for (uint32_t f = 0; f < w.size().F; ++f) {
    const Doc& d = w.docs()[f];
    FieldValues fields;
    for (uint32_t i = 0; i < 30; ++i) fields[kScalarNames[i]] = to_value(d.scalars[i]);
    ids.doc.push_back(must(s.create_family(fields), "create doc"));
    for (size_t j = 0; j < d.actions.size(); ++j) {
      FieldValues af;
      for (uint32_t k = 1; k < 8; ++k) af[kActionNames[k]] = to_value(d.actions[j][k]);
      must(s.create(ids.doc[f], "BenchAction", af, ids.doc[f] + "/a" + std::to_string(j)), "create action");
    }
    for (const auto& n : d.notes) {
      std::string id = ids.doc[f] + "/" + n.id;
      must(s.create(ids.doc[f], "BenchNote", {{"at", n.at}, {"author", n.author}, {"text", n.text}}, id), "create note");
      ids.notes[f].push_back(id);
    }
  }
}


}  // namespace hearth::bench
