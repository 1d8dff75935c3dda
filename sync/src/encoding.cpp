#include "hearth/sync/encoding.hpp"

namespace hearth::sync {

namespace {

constexpr size_t kMaxStringBytes = 16u * 1024 * 1024;
constexpr uint64_t kMaxCount = 100000;

enum ValueTag : uint8_t { kNull = 0, kFalse = 1, kTrue = 2, kInt = 3, kString = 4, kList = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_value(std::string& out, const Value& v) {
  if (v.is_null()) {
    out.push_back(static_cast<char>(kNull));
  } else if (v.is_bool()) {
    out.push_back(static_cast<char>(v.as_bool() ? kTrue : kFalse));
  } else if (v.is_int()) {
    out.push_back(static_cast<char>(kInt));
    auto i = v.as_int();
    put_varint(out, (static_cast<uint64_t>(i) << 1) ^ static_cast<uint64_t>(i >> 63));  // zigzag
  } else if (v.is_string()) {
    out.push_back(static_cast<char>(kString));
    put_string(out, v.as_string());
  } else {
    out.push_back(static_cast<char>(kList));
    put_varint(out, v.as_list().size());
    for (const auto& s : v.as_list()) put_string(out, s);
  }
}

void put_id(std::string& out, const OpId& id) {
  put_string(out, id.device);
  put_varint(out, id.counter);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  bool at_end() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }

  uint8_t byte(const char* what) {
    if (failed()) return 0;
    if (pos_ >= in_.size()) return fail(what, "truncated"), 0;
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t varint(const char* what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = byte(what);
      if (failed()) return 0;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(what, "varint longer than 10 bytes");
    return 0;
  }
  std::string string(const char* what) {
    uint64_t n = varint(what);
    if (failed()) return {};
    if (n > kMaxStringBytes) return fail(what, "length " + std::to_string(n) + " exceeds 16 MiB"), std::string();
    if (n > in_.size() - pos_) return fail(what, "length runs past the end of the record"), std::string();
    std::string s(in_.substr(pos_, static_cast<size_t>(n)));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  uint64_t count(const char* what) {
    uint64_t n = varint(what);
    if (!failed() && (n > kMaxCount || n > in_.size() - pos_)) fail(what, "count " + std::to_string(n) + " is implausible");
    return failed() ? 0 : n;
  }
  Value value(const char* what) {
    uint8_t tag = byte(what);
    switch (tag) {
      case kNull: return {};
      case kFalse: return Value(false);
      case kTrue: return Value(true);
      case kInt: {
        uint64_t z = varint(what);
        return Value(static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1)));
      }
      case kString: return Value(string(what));
      case kList: {
        uint64_t n = count(what);
        StringList l;
        for (uint64_t i = 0; i < n && !failed(); ++i) l.push_back(string(what));
        return Value(std::move(l));
      }
      default:
        if (!failed()) fail(what, "unknown value tag " + std::to_string(tag));
        return {};
    }
  }
  OpId id(const char* what) {
    OpId id;
    id.device = string(what);
    id.counter = varint(what);
    return id;
  }
  void fail(const char* what, const std::string& why) {
    if (error_.empty()) error_ = std::string(what) + ": " + why + " (at byte " + std::to_string(pos_) + ")";
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::string encode(const Op& op) {
  std::string out;
  out.reserve(64 + op.entity_id.size() + op.field.size());
  out.push_back(static_cast<char>(kEncodingVersion));
  out.push_back(static_cast<char>(op.kind));
  put_id(out, op.id);
  put_varint(out, op.hlc.wall_ms);
  put_varint(out, op.hlc.logical);
  put_string(out, op.author);
  put_string(out, op.family);
  put_string(out, op.entity_type);
  put_string(out, op.entity_id);
  put_string(out, op.field);
  put_value(out, op.value);
  put_varint(out, op.fields.size());
  for (const auto& [name, v] : op.fields) {
    put_string(out, name);
    put_value(out, v);
  }
  put_varint(out, op.refs.size());
  for (const auto& r : op.refs) put_id(out, r);
  put_string(out, op.text);
  return out;
}

Result<Op> decode(std::string_view bytes) {
  Reader r(bytes);
  uint8_t version = r.byte("version");
  if (!r.failed() && version != kEncodingVersion)
    return make_error(ErrorCode::corrupt, "op record: unsupported encoding version " + std::to_string(version) +
                                              " (this build reads version 1)");
  Op op;
  uint8_t kind = r.byte("kind");
  if (!r.failed() && (kind < 1 || kind > 8)) r.fail("kind", "unknown op kind " + std::to_string(kind));
  op.kind = static_cast<OpKind>(kind);
  op.id = r.id("op id");
  op.hlc.wall_ms = r.varint("hlc");
  uint64_t logical = r.varint("hlc");
  if (logical > UINT32_MAX) r.fail("hlc", "logical counter overflows 32 bits");
  op.hlc.logical = static_cast<uint32_t>(logical);
  op.author = r.string("author");
  op.family = r.string("family");
  op.entity_type = r.string("entity type");
  op.entity_id = r.string("entity id");
  op.field = r.string("field");
  op.value = r.value("value");
  uint64_t nfields = r.count("fields");
  for (uint64_t i = 0; i < nfields && !r.failed(); ++i) {
    std::string name = r.string("field name");
    Value v = r.value("field value");
    if (!r.failed() && !op.fields.emplace(std::move(name), std::move(v)).second) r.fail("fields", "duplicate field name");
  }
  uint64_t nrefs = r.count("refs");
  for (uint64_t i = 0; i < nrefs && !r.failed(); ++i) op.refs.push_back(r.id("ref"));
  op.text = r.string("text");
  if (!r.failed() && !r.at_end()) r.fail("record", "trailing bytes");
  if (!r.failed() && (op.id.device.empty() || op.entity_id.empty() || op.entity_type.empty()))
    r.fail("record", "op id, entity id and entity type must not be empty");
  if (r.failed()) return make_error(ErrorCode::corrupt, "op record is malformed: " + r.error());
  // Well-formed bytes can still carry values no reader should meet (invalid UTF-8, an id with
  // control characters, counter 0): refused here, where ops enter from the wire or the disk.
  if (auto ok = check_well_formed(op); !ok) return make_error(ErrorCode::corrupt, "op record is invalid: " + ok.error().message);
  return op;
}

}  // namespace hearth::sync
