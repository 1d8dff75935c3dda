#include "workload.hpp"

#include <cstdio>
#include <ctime>

namespace hearth::bench {

namespace {
constexpr uint32_t kGolden = 0x9E3779B9u;
uint32_t sub_seed(uint32_t seed, uint32_t k) { return seed + k * kGolden; }
enum Stream : uint32_t { kPool = 1, kCreate, kUpdate, kConflictTarget, kConflictA, kConflictB, kIncr };
const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.";
const char* kStatus[4] = {"open", "in_progress", "blocked", "done"};
constexpr uint32_t kPoolLen = 65536;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }  // the pool needs no escaping

std::string iso_date(uint32_t offset) {
  time_t sec = static_cast<time_t>(1577836800u) + static_cast<time_t>(offset);
  struct tm tm {};
  gmtime_r(&sec, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}
}  // namespace

const char* const kScalarNames[30] = {
    "family_name", "primary_contact", "address_line1", "address_line2", "city", "region", "phone", "email",
    "language", "case_worker", "referral_source", "risk_summary", "goals_summary", "status_note", "household_size",
    "adults", "children", "income_cents", "benefit_cents", "priority_score", "risk_level", "visit_count",
    "program_id", "version_tag", "created_at", "updated_at", "intake_date", "last_visit_at", "next_review_at",
    "closed_at"};
const char* const kActionNames[8] = {"id", "title", "status", "priority", "owner", "due_at", "updated_at", "detail"};

char scalar_type(uint32_t i) { return i < 14 ? 's' : (i < 24 ? 'i' : 'd'); }

const Size* find_size(const std::string& name) {
  static const Size sizes[] = {{"tiny", 10, 1000, 100},
                               {"small", 100, 10000, 1000},
                               {"medium", 2000, 200000, 20000},
                               {"large", 20000, 1000000, 100000}};
  for (const auto& s : sizes)
    if (name == s.name) return &s;
  return nullptr;
}

std::string Scalar::json() const { return is_int ? std::to_string(i) : quoted(s); }

std::string Note::json() const {
  return "{\"id\":" + quoted(id) + ",\"at\":" + quoted(at) + ",\"author\":" + quoted(author) + ",\"text\":" + quoted(text) + "}";
}

std::string Doc::json() const {
  std::string out = "{\"id\":" + quoted(id);
  for (size_t i = 0; i < 30; ++i) out += ",\"" + std::string(kScalarNames[i]) + "\":" + scalars[i].json();
  out += ",\"actions\":[";
  for (size_t a = 0; a < actions.size(); ++a) {
    out += a ? ",{" : "{";
    for (size_t j = 0; j < 8; ++j) out += std::string(j ? "," : "") + "\"" + kActionNames[j] + "\":" + actions[a][j].json();
    out += "}";
  }
  out += "],\"notes\":[";
  for (size_t n = 0; n < notes.size(); ++n) out += (n ? "," : "") + notes[n].json();
  return out + "]}";
}

std::string WorkOp::path() const {
  if (kind == OpKind::Set) return kScalarNames[field];
  if (kind == OpKind::Act) return "actions.a" + std::to_string(action) + "." + kActionNames[field];
  return "notes." + note.id;
}

std::string WorkOp::line(const std::string& doc_id) const {
  return "{\"doc\":\"" + doc_id + "\",\"path\":\"" + path() + "\",\"value\":" +
         (kind == OpKind::Note ? note.json() : value.json()) + "}";
}

uint32_t fnv1a(uint32_t h, const std::string& s) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x01000193u;
  }
  return h;
}

void apply_plain(Doc& doc, const WorkOp& op) {
  if (op.kind == OpKind::Set) doc.scalars[op.field] = op.value;
  else if (op.kind == OpKind::Act) doc.actions[op.action][op.field] = op.value;
  else doc.notes.push_back(op.note);
}

Workload::Workload(const Size& size, uint32_t seed) : size_(size), seed_(seed) {
  Rng p{sub_seed(seed, kPool)};
  pool_.resize(kPoolLen);
  for (uint32_t i = 0; i < kPoolLen; ++i) pool_[i] = kAlphabet[p.u32() & 63];
  Rng r{sub_seed(seed, kCreate)};
  docs_.resize(size.F);
  for (uint32_t f = 0; f < size.F; ++f) {
    Doc& d = docs_[f];
    d.id = doc_id(f);
    for (uint32_t i = 0; i < 30; ++i) d.scalars[i] = scalar(r, scalar_type(i));
    uint32_t na = r.range(3, 8);
    for (uint32_t j = 0; j < na; ++j) {
      std::array<Scalar, 8> a;
      a[0].s = "a" + std::to_string(j);
      for (uint32_t k = 1; k < 8; ++k) a[k] = action_value(r, k);
      d.actions.push_back(std::move(a));
    }
    uint32_t nn = r.range(0, 3);
    for (uint32_t j = 0; j < nn; ++j) d.notes.push_back(note(r, "i" + std::to_string(j)));
  }
}

std::string Workload::doc_id(uint32_t f) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "fam-%06u", f);
  return buf;
}

std::string Workload::str(Rng& r, uint32_t lo, uint32_t hi) const {
  uint32_t len = r.range(lo, hi);
  uint32_t off = r.below(kPoolLen - len + 1);
  return pool_.substr(off, len);
}

Scalar Workload::scalar(Rng& r, char type) const {
  Scalar s;
  if (type == 's') s.s = str(r, 20, 200);
  else if (type == 'i') s.is_int = true, s.i = r.below(1000000000u);
  else s.s = iso_date(r.below(189216000u));
  return s;
}

Scalar Workload::action_value(Rng& r, uint32_t field) const {
  Scalar s;
  switch (field) {
    case 1: s.s = str(r, 20, 80); break;
    case 2: s.s = kStatus[r.below(4)]; break;
    case 3: s.is_int = true, s.i = r.range(1, 5); break;
    case 4: s.s = str(r, 20, 40); break;
    case 7: s.s = str(r, 20, 200); break;
    default: s.s = iso_date(r.below(189216000u));
  }
  return s;
}

Note Workload::note(Rng& r, const std::string& id) const {
  Note n;
  n.id = id;
  n.at = iso_date(r.below(189216000u));
  n.author = str(r, 20, 40);
  n.text = str(r, 400, 600);
  return n;
}

WorkOp Workload::op(Rng& t, Rng& v, uint32_t f, const std::string& tag) const {
  WorkOp op;
  op.f = f;
  uint32_t k = t.below(100);
  if (k < 80) {
    op.kind = OpKind::Set;
    op.field = t.below(30);
    op.value = scalar(v, scalar_type(op.field));
  } else if (k < 90) {
    op.kind = OpKind::Act;
    op.action = t.below(static_cast<uint32_t>(docs_[f].actions.size()));
    op.field = 1 + t.below(7);
    op.value = action_value(v, op.field);
  } else {
    op.kind = OpKind::Note;
    op.note = note(v, tag);
  }
  return op;
}

std::vector<WorkOp> Workload::updates() const {
  std::vector<WorkOp> out;
  out.reserve(size_.U);
  Rng r{sub_seed(seed_, kUpdate)};
  for (uint32_t i = 0; i < size_.U; ++i) {
    uint32_t f = r.below(size_.F);
    out.push_back(op(r, r, f, "u" + std::to_string(i)));
  }
  return out;
}

std::vector<std::pair<WorkOp, WorkOp>> Workload::conflicts() const {
  std::vector<std::pair<WorkOp, WorkOp>> out;
  Rng t{sub_seed(seed_, kConflictTarget)}, a{sub_seed(seed_, kConflictA)}, b{sub_seed(seed_, kConflictB)};
  for (uint32_t k = 0; k < size_.K; ++k) {
    uint32_t f = t.below(size_.F);
    uint32_t saved = t.s;
    WorkOp oa = op(t, a, f, "A" + std::to_string(k));
    t.s = saved;
    WorkOp ob = op(t, b, f, "B" + std::to_string(k));
    out.emplace_back(std::move(oa), std::move(ob));
  }
  return out;
}

std::vector<WorkOp> Workload::incremental() const {
  std::vector<WorkOp> out;
  Rng r{sub_seed(seed_, kIncr)};
  for (uint32_t base = 0; base < size_.F; base += 100) {
    WorkOp op;
    op.f = base + r.below(std::min<uint32_t>(100, size_.F - base));
    op.field = r.below(30);
    op.value = scalar(r, scalar_type(op.field));
    out.push_back(op);
  }
  return out;
}

std::string Workload::checksum_line() const {
  auto sum = [](uint32_t& h, size_t& bytes, const std::string& line) {
    h = fnv1a(h, line + "\n");
    bytes += line.size() + 1;
  };
  const uint32_t init = 0x811c9dc5u;
  uint32_t hd = init, hu = init, hs = init, hc = init, hi = init;
  size_t bd = 0, bu = 0, bs = 0, bc = 0;
  for (const auto& d : docs_) sum(hd, bd, d.json());
  std::vector<Doc> state = docs_;
  size_t nset = 0, nact = 0, nnote = 0;
  for (const auto& op : updates()) {
    sum(hu, bu, op.line(doc_id(op.f)));
    apply_plain(state[op.f], op);
    (op.kind == OpKind::Set ? nset : op.kind == OpKind::Act ? nact : nnote)++;
  }
  for (const auto& d : state) sum(hs, bs, d.json());
  for (const auto& [a, b] : conflicts()) {
    sum(hc, bc, a.line(doc_id(a.f)));
    sum(hc, bc, b.line(doc_id(b.f)));
  }
  size_t ni = 0, bi = 0;
  for (const auto& op : incremental()) {
    sum(hi, bi, op.line(doc_id(op.f)));
    ++ni;
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s seed=%u F=%u U=%u K=%u docs=%08x/%zuB updates=%08x/%zuB (set=%zu act=%zu note=%zu) "
                "state_after_U=%08x/%zuB conflicts=%08x/%zuB incr=%08x/%zu",
                size_.name, seed_, size_.F, size_.U, size_.K, hd, bd, hu, bu, nset, nact, nnote, hs, bs, hc, bc, hi, ni);
  return buf;
}

}  // namespace hearth::bench
