#pragma once
// Canonical JSON text: no whitespace, keys in the order they are written, strings
// escaped per RFC 8259. Deterministic output is what makes replicas comparable byte for byte.
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth {

void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& integer(int64_t i);
  JsonWriter& boolean(bool b);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);  // an already-canonical JSON fragment
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  bool need_comma_ = false;
};

}  // namespace hearth
