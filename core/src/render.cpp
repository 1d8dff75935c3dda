#include "hearth/core/render.hpp"

#include <cstdint>
#include <limits>

#include "hearth/core/json_writer.hpp"

namespace hearth {

namespace {

// A recursive-descent check of the JSON this project writes (json_writer.cpp). Depth is
// bounded so a hostile fragment cannot exhaust the stack.
class CanonicalCheck {
 public:
  explicit CanonicalCheck(std::string_view s) : s_(s) {}

  // "" when the text is one value; otherwise what is wrong.
  std::string run() {
    std::string why = value(0);
    if (why.empty() && pos_ != s_.size()) why = "trailing bytes at offset " + std::to_string(pos_);
    return why;
  }

 private:
  std::string value(int depth) {
    if (depth > 32) return "nested too deeply";
    if (pos_ >= s_.size()) return "no value at offset " + std::to_string(pos_);
    char c = s_[pos_];
    if (c == 'n') return literal("null");
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == '"') return string();
    if (c == '-' || (c >= '0' && c <= '9')) return integer();
    if (c == '[') {
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return {};
      }
      while (true) {
        if (auto why = value(depth + 1); !why.empty()) return why;
        if (pos_ >= s_.size()) return "unterminated list";
        if (s_[pos_] == ']') {
          ++pos_;
          return {};
        }
        if (s_[pos_] != ',') return "unexpected byte at offset " + std::to_string(pos_);
        ++pos_;
      }
    }
    return "unexpected byte at offset " + std::to_string(pos_);
  }

  std::string literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return "unexpected byte at offset " + std::to_string(pos_);
    pos_ += word.size();
    return {};
  }

  std::string integer() {
    size_t start = pos_;
    bool negative = s_[pos_] == '-';
    if (negative) ++pos_;
    size_t digits = pos_;
    uint64_t magnitude = 0;
    const uint64_t limit = negative ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      auto d = static_cast<uint64_t>(s_[pos_] - '0');
      if (magnitude > (limit - d) / 10) return "a number out of the 64-bit range at offset " + std::to_string(start);
      magnitude = magnitude * 10 + d;
      ++pos_;
    }
    if (pos_ == digits) return "a number without digits at offset " + std::to_string(start);
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      return "a number that is not an integer at offset " + std::to_string(start);
    return {};
  }

  std::string string() {
    size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      auto c = static_cast<unsigned char>(s_[pos_]);
      if (c < 0x20) return "a control character in text at offset " + std::to_string(pos_);
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) return "an unterminated escape at offset " + std::to_string(pos_);
        char e = s_[pos_ + 1];
        if (e == 'u') {
          if (pos_ + 6 > s_.size()) return "an unterminated escape at offset " + std::to_string(pos_);
          for (size_t k = pos_ + 2; k < pos_ + 6; ++k) {
            char h = s_[k];
            bool hex = (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
            if (!hex) return "a bad escape at offset " + std::to_string(pos_);
          }
          pos_ += 6;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
          return "a bad escape at offset " + std::to_string(pos_);
        pos_ += 2;
        continue;
      }
      ++pos_;
    }
    if (pos_ >= s_.size()) return "unterminated text";
    if (!is_valid_utf8(s_.substr(start, pos_ - start))) return "text that is not valid UTF-8";
    ++pos_;
    return {};
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Error corrupt(const std::string& what, const std::string& why) {
  return make_error(ErrorCode::corrupt, what + ": the stored value cannot be shown (" + why + ")");
}

}  // namespace

Result<void> check_canonical_json(std::string_view json, const std::string& what) {
  std::string why = CanonicalCheck(json).run();
  if (!why.empty()) return corrupt(what, why);
  return {};
}

Result<std::string> render_record(const EntityDef* def, const RecordHeader& h, const FieldSource& fields) {
  const std::string record = "record " + std::string(h.id);
  if (!def) return make_error(ErrorCode::corrupt, record + ": unknown type '" + std::string(h.type) + "'");
  struct Text {
    const char* name;
    std::string_view text;
  };
  for (const Text& t : {Text{"id", h.id}, Text{"type", h.type}, Text{"family", h.family}, Text{"created_by", h.created_by}})
    if (!is_valid_utf8(t.text)) return corrupt(record + " (" + t.name + ")", "text that is not valid UTF-8");

  JsonWriter values, multi;
  values.begin_object();
  multi.begin_object();
  for (const auto& f : def->fields) {
    auto field = fields(f);
    if (!field) return field.error();
    const std::string where = record + " field " + f.name;
    if (!field->value.empty()) {
      if (auto ok = check_canonical_json(field->value, where); !ok) return ok.error();
      values.key(f.name).raw(field->value);
    }
    if (!field->multi.empty()) {
      if (auto ok = check_canonical_json(field->multi, where + " (concurrent values)"); !ok) return ok.error();
      multi.key(f.name).raw(field->multi);
    }
  }
  values.end_object();
  multi.end_object();

  JsonWriter w;
  w.begin_object();
  w.key("id").string(h.id);
  w.key("type").string(h.type);
  w.key("family").string(h.family);
  w.key("created").boolean(h.created);
  w.key("created_by").string(h.created_by);
  w.key("deleted").boolean(h.deleted);
  w.key("fields").raw(values.str());
  w.key("multi").raw(multi.str());
  w.end_object();
  return w.take();
}

}  // namespace hearth
