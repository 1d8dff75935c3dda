#pragma once
// C++ port of the peer benchmark workload (../shared/peers/README.md, lib/gen.js): the same
// seed gives byte-identical docs and ops, checked by the printed FNV-1a checksums.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hearth::bench {

struct Rng {
  uint32_t s;
  uint32_t u32() {
    s += 0x6D2B79F5u;
    uint32_t t = s;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return t ^ (t >> 14);
  }
  uint32_t below(uint32_t n) { return u32() % n; }
  uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
};

struct Scalar {  // a string (also dates) or an unsigned int
  bool is_int = false;
  uint32_t i = 0;
  std::string s;
  std::string json() const;
};

struct Note {
  std::string id, at, author, text;
  std::string json() const;
};

struct Doc {
  std::string id;
  std::array<Scalar, 30> scalars;
  std::vector<std::array<Scalar, 8>> actions;  // [0] is the id
  std::vector<Note> notes;
  std::string json() const;
};

enum class OpKind { Set, Act, Note };
struct WorkOp {
  uint32_t f = 0;
  OpKind kind = OpKind::Set;
  uint32_t field = 0;   // scalar index, or action field index 1..7
  uint32_t action = 0;  // action index
  Scalar value;
  Note note;
  std::string path() const;
  std::string line(const std::string& doc_id) const;
};

struct Size {
  const char* name;
  uint32_t F, U, K;
};
const Size* find_size(const std::string& name);

extern const char* const kScalarNames[30];
extern const char* const kActionNames[8];
char scalar_type(uint32_t i);  // 's', 'i', 'd'

class Workload {
 public:
  Workload(const Size& size, uint32_t seed = 20240601);
  const Size& size() const { return size_; }
  uint32_t seed() const { return seed_; }
  const std::vector<Doc>& docs() const { return docs_; }
  std::vector<WorkOp> updates() const;
  std::vector<std::pair<WorkOp, WorkOp>> conflicts() const;
  std::vector<WorkOp> incremental() const;
  static std::string doc_id(uint32_t f);
  // The checksum line of the peers' README.
  std::string checksum_line() const;

 private:
  std::string str(Rng& r, uint32_t lo, uint32_t hi) const;
  Scalar scalar(Rng& r, char type) const;
  Scalar action_value(Rng& r, uint32_t field) const;
  Note note(Rng& r, const std::string& id) const;
  WorkOp op(Rng& targets, Rng& values, uint32_t f, const std::string& tag) const;

  Size size_;
  uint32_t seed_;
  std::string pool_;
  std::vector<Doc> docs_;
};

void apply_plain(Doc& doc, const WorkOp& op);
uint32_t fnv1a(uint32_t h, const std::string& s);

}  // namespace hearth::bench
