#include "hearth/core/text.hpp"

namespace hearth {

namespace {
bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the well-formed sequence starting at s[i], or 0.
size_t sequence_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = at(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  unsigned char c1 = at(1);
  // The second byte's range depends on the first (table 3-7): excludes overlongs (E0, F0),
  // surrogates (ED) and code points above U+10FFFF (F4).
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (c1 < lo || c1 > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (!continuation(at(k))) return 0;
  return n;
}

bool id_char(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '/' || c == '@' || c == '-';
}
}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool is_valid_id(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdBytes) return false;
  for (char c : s)
    if (!id_char(c)) return false;
  return true;
}

bool is_valid_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string printable(std::string_view bytes, size_t max_bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max_bytes;) {
    size_t n = sequence_length(bytes, i);
    auto c = static_cast<unsigned char>(bytes[i]);
    if (n == 0 || c < 0x20 || c == 0x7F || c == '\\') {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  if (bytes.size() > max_bytes) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

Result<void> check_utf8(const std::string& what, std::string_view text) {
  if (is_valid_utf8(text)) return {};
  size_t at = 0;
  while (at < text.size()) {
    size_t n = sequence_length(text, at);
    if (n == 0) break;
    at += n;
  }
  return make_error(ErrorCode::validation, what + ": not valid UTF-8 (byte " + std::to_string(at) + " of " +
                                               std::to_string(text.size()) + ")");
}

Result<void> check_id(const std::string& what, std::string_view id) {
  if (is_valid_id(id)) return {};
  if (id.empty()) return make_error(ErrorCode::validation, what + ": an id cannot be empty");
  if (id.size() > kMaxIdBytes)
    return make_error(ErrorCode::validation, what + ": id of " + std::to_string(id.size()) + " bytes is longer than " +
                                                 std::to_string(kMaxIdBytes));
  return make_error(ErrorCode::validation, what + ": id '" + printable(id) +
                                               "' may hold only letters, digits and . _ : / @ -");
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace hearth
