// The /v1 codec. Parsing goes through nlohmann_json's SAX interface with a handler that builds
// the value itself, so the nesting depth, the number of values and duplicate keys are refused
// while parsing, before anything larger is built; the parser never throws (parse errors reach
// the handler, which stops). Fields are then read through one Reader that checks type and
// range and names the first field that is wrong.
#include "hearth/sync/protocol.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <limits>

#include "base64.hpp"

namespace hearth::sync::protocol {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------- bounded parsing

class BoundedBuilder {
 public:
  BoundedBuilder(const Limits& limits, const char* what) : limits_(limits), what_(what) {}

  bool null() { return value(json(nullptr)); }
  bool boolean(bool v) { return value(json(v)); }
  bool number_integer(json::number_integer_t v) { return value(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return value(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return value(json(v)); }
  bool string(json::string_t& v) { return value(json(std::move(v))); }
  bool binary(json::binary_t&) { return fail(ErrorCode::invalid_argument, "binary values are not JSON"); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (stack_.back()->contains(k)) return fail(ErrorCode::invalid_argument, "the key \"" + k + "\" appears twice");
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
    return fail(ErrorCode::invalid_argument, "not valid JSON (at byte " + std::to_string(position) + ")");
  }

  std::optional<Error>& error() { return error_; }
  json& root() { return root_; }

 private:
  bool fail(ErrorCode code, std::string message) {
    if (!error_) error_ = make_error(code, std::string(what_) + ": " + message);
    return false;
  }
  bool counted() {
    if (++elements_ > limits_.json_elements)
      return fail(ErrorCode::too_large, "more than " + std::to_string(limits_.json_elements) + " JSON values");
    return true;
  }
  json* insert(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    json& slot = (*top)[key_];
    slot = std::move(v);
    return &slot;
  }
  bool value(json v) {
    if (!counted()) return false;
    insert(std::move(v));
    return true;
  }
  bool open(json container) {
    if (!counted()) return false;
    if (stack_.size() >= limits_.json_depth)
      return fail(ErrorCode::too_large, "JSON nested deeper than " + std::to_string(limits_.json_depth) + " levels");
    stack_.push_back(insert(std::move(container)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  const Limits& limits_;
  const char* what_;
  json root_;
  std::vector<json*> stack_;
  std::string key_;
  size_t elements_ = 0;
  std::optional<Error> error_;
};

// Parses `body` as one JSON object within `max_bytes` and the limits' depth and element counts.
Result<json> parse_object(std::string_view body, size_t max_bytes, const Limits& limits, const char* what) {
  if (body.size() > max_bytes)
    return make_error(ErrorCode::too_large, std::string(what) + ": the body is " + std::to_string(body.size()) +
                                                " bytes, over the limit of " + std::to_string(max_bytes));
  BoundedBuilder builder(limits, what);
  bool ok = false;
  try {  // the SAX parser reports errors to the handler; only allocation failure could throw
    ok = json::sax_parse(body.begin(), body.end(), &builder, json::input_format_t::json, /*strict*/ true,
                         /*ignore_comments*/ false);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": cannot parse the body (" + e.what() + ")");
  }
  if (!ok || builder.error()) {
    if (builder.error()) return *builder.error();
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": not valid JSON");
  }
  if (!builder.root().is_object()) return make_error(ErrorCode::invalid_argument, std::string(what) + ": the body must be a JSON object");
  return std::move(builder.root());
}

// ---------------------------------------------------------------- field checks

constexpr uint64_t kMaxTimeMs = 253402300799999ull;  // 9999-12-31T23:59:59.999Z
constexpr size_t kIdBytes = 64;                     // device ids, practitioner ids, epochs
constexpr size_t kNameBytes = 128;                  // family ids
constexpr size_t kTextBytes = 4096;                 // messages and reasons
constexpr size_t kSecretBytes = 256;                // enrolment codes and device tokens
constexpr uint64_t kMinAdvertisedBytes = 1024;
constexpr uint64_t kMaxFramesVersion = 1000;        // a newer server may read later framings
constexpr uint64_t kMaxAdvertisedBytes = 1ull << 30;

enum class Chars {
  id,      // [A-Za-z0-9._-]: device and practitioner ids
  epoch,   // [A-Za-z0-9-]
  secret,  // printable ASCII without space: codes and tokens
  name,    // any character but controls: family ids
  text,    // any text (the parser has checked it is UTF-8)
};

bool allowed(char c, Chars rule) {
  auto u = static_cast<unsigned char>(c);
  bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
  switch (rule) {
    case Chars::id: return alnum || u == '.' || u == '_' || u == '-';
    case Chars::epoch: return alnum || u == '-';
    case Chars::secret: return u > 0x20 && u < 0x7f;
    case Chars::name: return u >= 0x20 && u != 0x7f;
    case Chars::text: return true;
  }
  return false;
}

const char* describe(Chars rule) {
  switch (rule) {
    case Chars::id: return "letters, digits, '.', '_' and '-'";
    case Chars::epoch: return "letters, digits and '-'";
    case Chars::secret: return "printable ASCII without spaces";
    case Chars::name: return "no control characters";
    case Chars::text: return "text";
  }
  return "";
}

// Reads fields of one message, remembering the first problem; every accessor returns a safe
// default after a problem, and finish() turns the first one into the error.
class Reader {
 public:
  explicit Reader(const char* what) : what_(what) {}

  bool ok() const { return !error_; }
  void fail(ErrorCode code, const std::string& field, const std::string& message) {
    if (!error_) error_ = make_error(code, std::string(what_) + ": \"" + field + "\" " + message);
  }
  template <typename T>
  Result<T> finish(T value) {
    if (error_) return *error_;
    return value;
  }

  const json* find(const json& obj, const std::string& key, bool required) {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) fail(ErrorCode::invalid_argument, key, "is missing");
      return nullptr;
    }
    return &*it;
  }

  std::string text(const json& v, const std::string& field, size_t min, size_t max, Chars rule) {
    if (!v.is_string()) {
      fail(ErrorCode::invalid_argument, field, "must be a string");
      return {};
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() < min || s.size() > max) {
      fail(ErrorCode::invalid_argument, field,
           "must be " + std::to_string(min) + " to " + std::to_string(max) + " bytes long (is " + std::to_string(s.size()) + ")");
      return {};
    }
    for (char c : s) {
      if (!allowed(c, rule)) {
        fail(ErrorCode::invalid_argument, field, std::string("may hold only ") + describe(rule));
        return {};
      }
    }
    return s;
  }
  std::string text(const json& obj, const char* key, bool required, size_t min, size_t max, Chars rule) {
    const json* v = find(obj, key, required);
    return v ? text(*v, key, min, max, rule) : std::string();
  }

  uint64_t unsigned_number(const json& obj, const char* key, bool required, uint64_t min, uint64_t max) {
    const json* v = find(obj, key, required);
    if (!v) return 0;
    if (!v->is_number_unsigned()) {
      fail(ErrorCode::invalid_argument, key, "must be a whole number of at least 0");
      return 0;
    }
    uint64_t n = v->get<uint64_t>();
    if (n < min || n > max) {
      fail(ErrorCode::invalid_argument, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return 0;
    }
    return n;
  }

  int64_t signed_number(const json& v, const std::string& field, int64_t min, int64_t max) {
    int64_t n = 0;
    if (v.is_number_unsigned()) {
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail(ErrorCode::invalid_argument, field, "is out of range");
        return 0;
      }
      n = static_cast<int64_t>(v.get<uint64_t>());
    } else if (v.is_number_integer()) {
      n = v.get<int64_t>();
    } else {
      fail(ErrorCode::invalid_argument, field, "must be a whole number");
      return 0;
    }
    if (n < min || n > max) {
      fail(ErrorCode::invalid_argument, field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return 0;
    }
    return n;
  }
  std::optional<int64_t> signed_number(const json& obj, const char* key, bool required, int64_t min, int64_t max) {
    const json* v = find(obj, key, required);
    if (!v) return std::nullopt;
    int64_t n = signed_number(*v, key, min, max);
    return ok() ? std::optional<int64_t>(n) : std::nullopt;
  }

  bool boolean(const json& obj, const char* key, bool required, bool fallback) {
    const json* v = find(obj, key, required);
    if (!v) return fallback;
    if (!v->is_boolean()) {
      fail(ErrorCode::invalid_argument, key, "must be true or false");
      return fallback;
    }
    return v->get<bool>();
  }

  const json* array(const json& obj, const char* key, bool required, size_t max_items) {
    const json* v = find(obj, key, required);
    if (!v) return nullptr;
    if (!v->is_array()) {
      fail(ErrorCode::invalid_argument, key, "must be an array");
      return nullptr;
    }
    if (v->size() > max_items) {
      fail(ErrorCode::too_large, key, "holds more than " + std::to_string(max_items) + " items");
      return nullptr;
    }
    return v;
  }

  const json* object(const json& obj, const char* key, bool required) {
    const json* v = find(obj, key, required);
    if (!v) return nullptr;
    if (!v->is_object()) {
      fail(ErrorCode::invalid_argument, key, "must be an object");
      return nullptr;
    }
    return v;
  }

  // Base64 op bytes, at most `max_bytes` once decoded.
  std::string op_bytes(const json& v, const std::string& field, size_t max_bytes) {
    if (!v.is_string()) {
      fail(ErrorCode::invalid_argument, field, "must be a base64 string");
      return {};
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty()) {
      fail(ErrorCode::invalid_argument, field, "is empty");
      return {};
    }
    if (s.size() / 4 * 3 > max_bytes + 2) {
      fail(ErrorCode::too_large, field, "is over " + std::to_string(max_bytes) + " bytes");
      return {};
    }
    auto bytes = detail::base64_decode(s);
    if (!bytes) {
      fail(ErrorCode::invalid_argument, field, "is not canonical base64");
      return {};
    }
    return std::move(*bytes);
  }

  std::vector<std::string> op_list(const json& obj, const char* key, bool required, size_t max_items, size_t max_bytes) {
    std::vector<std::string> out;
    const json* list = array(obj, key, required, max_items);
    if (!list) return out;
    out.reserve(list->size());
    for (size_t i = 0; i < list->size() && ok(); ++i)
      out.push_back(op_bytes((*list)[i], std::string(key) + "[" + std::to_string(i) + "]", max_bytes));
    return out;
  }

  // "<device>:<counter>", or "" where allowed.
  std::string op_id(const json& v, const std::string& field, bool may_be_empty) {
    std::string s = text(v, field, may_be_empty ? 0 : 3, kIdBytes + 21, Chars::secret);
    if (!ok() || s.empty()) return s;
    auto colon = s.rfind(':');
    bool good = colon != std::string::npos && colon > 0 && colon <= kIdBytes && colon + 1 < s.size() &&
                s.size() - colon - 1 <= 20;
    for (size_t i = 0; good && i < colon; ++i) good = allowed(s[i], Chars::id);
    for (size_t i = colon + 1; good && i < s.size(); ++i) good = s[i] >= '0' && s[i] <= '9';
    if (good) {  // the counter fits 64 bits
      const std::string digits = s.substr(colon + 1);
      good = digits.size() < 20 || digits <= "18446744073709551615";
    }
    if (!good) fail(ErrorCode::invalid_argument, field, "must be \"<device>:<counter>\"");
    return good ? s : std::string();
  }

  HistoryInfo history(const json& obj, bool required) {
    HistoryInfo h;
    const json* v = object(obj, "history", required);
    if (v) h.epoch = text(*v, "epoch", true, 0, kIdBytes, Chars::epoch);
    return h;
  }

  std::optional<WireError> code(const json& v, const std::string& field) {
    std::string s = text(v, field, 1, 32, Chars::id);
    if (!ok()) return std::nullopt;
    auto c = wire_error_from_string(s);
    // an unknown code from a newer server is not an error: the status still says enough
    return c;
  }

 private:
  const char* what_;
  std::optional<Error> error_;
};

// ---------------------------------------------------------------- encoding

std::string dump(const json& j) {
  // `replace`: a message holding bytes that are not UTF-8 is sent with U+FFFD, never thrown
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json history_json(const HistoryInfo& h) { return json{{"epoch", h.epoch}}; }

json op_array(const std::vector<std::string>& ops) {
  json a = json::array();
  for (const auto& op : ops) a.push_back(detail::base64_encode(op));
  return a;
}

void put_limits(json& j, uint64_t push_bytes, uint64_t op_bytes) {
  if (push_bytes) j["max_push_bytes"] = push_bytes;
  if (op_bytes) j["max_op_bytes"] = op_bytes;
}

void read_limits(Reader& r, const json& j, uint64_t& push_bytes, uint64_t& op_bytes) {
  push_bytes = r.unsigned_number(j, "max_push_bytes", false, kMinAdvertisedBytes, kMaxAdvertisedBytes);
  op_bytes = r.unsigned_number(j, "max_op_bytes", false, kMinAdvertisedBytes, kMaxAdvertisedBytes);
  if (r.ok() && push_bytes && op_bytes && op_bytes > push_bytes)
    r.fail(ErrorCode::invalid_argument, "max_op_bytes", "must not exceed max_push_bytes");
}

constexpr int64_t kMaxSeq = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxOffsetMs = 100ll * 365 * 24 * 3600 * 1000;
constexpr size_t kWithheldBytes = kNameBytes + 1 + kIdBytes;   // "<record id>#<field>"
constexpr size_t kMaxRoles = 16;
constexpr uint64_t kMaxPeriodMs = 366ull * 24 * 3600 * 1000;

json policy_json(const PolicySnapshot& p) {
  return json{{"issued_at_ms", p.issued_at_ms}, {"practitioner", p.practitioner}, {"organisation", p.organisation},
              {"system_roles", p.system_roles}, {"sharing_block_after_ms", p.sharing_block_after_ms},
              {"lock_after_ms", p.lock_after_ms}, {"purge_after_ms", p.purge_after_ms},
              {"key_lease_ms", p.key_lease_ms}};
}

json wipe_json(const WipeOrder& w) {
  return json{{"requested_at", w.requested_at_ms}, {"discard_unsynced", w.discard_unsynced}};
}

WipeOrder read_wipe(Reader& r, const json& v) {
  WipeOrder w;
  w.requested_at_ms = r.unsigned_number(v, "requested_at", true, 0, kMaxTimeMs);
  w.discard_unsynced = r.boolean(v, "discard_unsynced", false, false);
  return w;
}

PolicySnapshot read_policy(Reader& r, const json& v) {
  PolicySnapshot p;
  p.issued_at_ms = r.unsigned_number(v, "issued_at_ms", true, 0, kMaxTimeMs);
  p.practitioner = r.text(v, "practitioner", true, 1, kIdBytes, Chars::name);
  p.organisation = r.text(v, "organisation", false, 0, kIdBytes, Chars::name);
  if (const json* roles = r.array(v, "system_roles", false, kMaxRoles))
    for (size_t i = 0; i < roles->size() && r.ok(); ++i)
      p.system_roles.push_back(r.text((*roles)[i], "system_roles[" + std::to_string(i) + "]", 1, kIdBytes, Chars::id));
  PolicySnapshot defaults;
  auto period = [&](const char* key, uint64_t fallback) {
    return r.find(v, key, false) ? r.unsigned_number(v, key, false, 1, kMaxPeriodMs) : fallback;
  };
  p.sharing_block_after_ms = period("sharing_block_after_ms", defaults.sharing_block_after_ms);
  p.lock_after_ms = period("lock_after_ms", defaults.lock_after_ms);
  p.purge_after_ms = period("purge_after_ms", defaults.purge_after_ms);
  // not ordered against the others: an older server's lock period may pass the default lease
  p.key_lease_ms = period("key_lease_ms", defaults.key_lease_ms);
  if (r.ok() && !(p.sharing_block_after_ms <= p.lock_after_ms && p.lock_after_ms <= p.purge_after_ms))
    r.fail(ErrorCode::invalid_argument, "policy",
           "periods must satisfy sharing_block_after_ms <= lock_after_ms <= purge_after_ms");
  return p;
}

}  // namespace

// ---------------------------------------------------------------- codes

const char* to_string(WireError code) {
  switch (code) {
    case WireError::bad_request: return "bad_request";
    case WireError::version: return "version";
    case WireError::unauthorised: return "unauthorised";
    case WireError::expired: return "expired";
    case WireError::bad_code: return "bad_code";
    case WireError::revoked: return "revoked";
    case WireError::forbidden: return "forbidden";
    case WireError::not_found: return "not_found";
    case WireError::method: return "method";
    case WireError::conflict: return "conflict";
    case WireError::too_large: return "too_large";
    case WireError::clock: return "clock";
    case WireError::server: return "server";
    case WireError::unavailable: return "unavailable";
  }
  return "server";
}

std::optional<WireError> wire_error_from_string(std::string_view text) {
  for (auto c : {WireError::bad_request, WireError::version, WireError::unauthorised, WireError::expired,
                 WireError::bad_code, WireError::revoked, WireError::forbidden, WireError::not_found, WireError::method,
                 WireError::conflict, WireError::too_large, WireError::clock, WireError::server, WireError::unavailable})
    if (text == to_string(c)) return c;
  return std::nullopt;
}

int http_status(WireError code) {
  switch (code) {
    case WireError::bad_request:
    case WireError::version:
    case WireError::clock: return 400;
    case WireError::unauthorised:
    case WireError::expired:
    case WireError::bad_code: return 401;
    case WireError::revoked:
    case WireError::forbidden: return 403;
    case WireError::not_found: return 404;
    case WireError::method: return 405;
    case WireError::conflict: return 409;
    case WireError::too_large: return 413;
    case WireError::server: return 500;
    case WireError::unavailable: return 503;
  }
  return 500;
}

ErrorCode to_error_code(WireError code) {
  switch (code) {
    case WireError::revoked: return ErrorCode::revoked;
    case WireError::expired:
    case WireError::bad_code: return ErrorCode::expired;
    case WireError::unauthorised: return ErrorCode::not_enrolled;
    case WireError::forbidden: return ErrorCode::forbidden;
    case WireError::conflict: return ErrorCode::conflict;
    case WireError::too_large: return ErrorCode::too_large;
    case WireError::clock: return ErrorCode::clock;
    case WireError::bad_request:
    case WireError::version:
    case WireError::not_found:
    case WireError::method: return ErrorCode::invalid_argument;
    case WireError::server:
    case WireError::unavailable: return ErrorCode::network;
  }
  return ErrorCode::network;
}

WireError wire_error_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::validation:
    case ErrorCode::lifecycle:
    case ErrorCode::corrupt: return WireError::bad_request;
    case ErrorCode::not_found: return WireError::not_found;
    case ErrorCode::conflict: return WireError::conflict;
    case ErrorCode::clock: return WireError::clock;
    case ErrorCode::too_large: return WireError::too_large;
    case ErrorCode::revoked: return WireError::revoked;
    case ErrorCode::expired: return WireError::expired;
    case ErrorCode::not_enrolled:
    case ErrorCode::locked: return WireError::unauthorised;
    case ErrorCode::forbidden: return WireError::forbidden;
    case ErrorCode::storage:
    case ErrorCode::network: return WireError::server;
  }
  return WireError::server;
}

const char* to_string(OpStatus status) {
  switch (status) {
    case OpStatus::accepted: return "accepted";
    case OpStatus::duplicate: return "duplicate";
    case OpStatus::rejected: return "rejected";
    case OpStatus::held: return "held";
  }
  return "rejected";
}

size_t push_entry_bytes(size_t op_bytes) { return detail::base64_size(op_bytes) + 3; }  // quotes and a comma

// ---------------------------------------------------------------- encode

std::string encode(const ErrorReply& m) { return dump(json{{"error", m.message}, {"code", to_string(m.code)}}); }

std::string encode(const EnrolRequest& m) {
  json j{{"code", m.code}, {"device_id", m.device_id}};
  if (!m.practitioner_id.empty()) j["practitioner_id"] = m.practitioner_id;
  return dump(j);
}

std::string encode(const EnrolReply& m) {
  json j{{"device_token", m.device_token}, {"practitioner_id", m.practitioner_id}, {"protocol", m.protocol},
         {"server_time", m.server_time_ms}, {"history", history_json(m.history)}};
  put_limits(j, m.max_push_bytes, m.max_op_bytes);
  if (m.frames) j["frames"] = m.frames;
  return dump(j);
}

// The JSON form of a push; with `ops` false its "ops" array is left empty (a framed body's
// header: the ops follow it as frames).
json push_request_json(const PushRequest& m, bool ops) {
  json quarantined = json::array();
  for (const auto& q : m.quarantined) quarantined.push_back({{"op", q.op_id}, {"family", q.family}, {"reason", q.reason}});
  json j{{"device_time", m.device_time_ms}, {"history_epoch", m.history_epoch}, {"delivered_counter", m.delivered_counter}};
  if (m.clock_floor_ms != 0) j["clock_floor"] = m.clock_floor_ms;
  if (!m.quarantined.empty()) j["quarantined"] = std::move(quarantined);
  if (!m.held_waiting.empty()) j["held_waiting"] = m.held_waiting;
  if (!m.record_views.empty()) {
    json views = json::array();
    for (const auto& v : m.record_views)
      views.push_back({{"seq", v.seq}, {"family", v.family}, {"type", v.type}, {"id", v.record}, {"at", v.at_ms}});
    j["record_views"] = std::move(views);
  }
  if (m.record_views_dropped) j["record_views_dropped"] = m.record_views_dropped;
  j["ops"] = ops ? op_array(m.ops) : json::array();
  return j;
}

std::string encode(const PushRequest& m) { return dump(push_request_json(m, true)); }

std::string encode(const PushReply& m) {
  json results = json::array();
  for (const auto& r : m.results) {
    json e{{"op", r.op_id}, {"status", to_string(r.status)}};
    if (!r.reason.empty()) e["reason"] = r.reason;
    if (r.code) e["code"] = to_string(*r.code);
    if (!r.route_to.empty()) e["route_to"] = r.route_to;
    results.push_back(std::move(e));
  }
  json j{{"results", std::move(results)}, {"server_time", m.server_time_ms}, {"clock_offset_ms", m.clock_offset_ms},
         {"history", history_json(m.history)}};
  put_limits(j, m.max_push_bytes, m.max_op_bytes);
  if (m.frames) j["frames"] = m.frames;
  if (!m.quarantine_acknowledged.empty()) j["quarantine_acknowledged"] = m.quarantine_acknowledged;
  if (!m.held_decided.empty()) {
    json decided = json::array();
    for (const auto& d : m.held_decided)
      decided.push_back({{"op", d.op_id}, {"outcome", d.outcome}, {"by", d.by}, {"note", d.note}, {"at", d.at_ms}});
    j["held_decided"] = std::move(decided);
  }
  if (m.record_views_through) j["record_views_through"] = m.record_views_through;
  if (m.record_views_dropped) j["record_views_dropped"] = m.record_views_dropped;
  if (m.wipe) j["wipe"] = wipe_json(*m.wipe);
  return dump(j);
}

std::string encode(const PullRequest& m) {
  json j{{"history_epoch", m.history_epoch}, {"delivered_counter", m.delivered_counter},
         {"highest_cursor", m.highest_cursor}};
  if (m.probe) j["probe"] = true;
  if (m.feed_version) j["feed_version"] = *m.feed_version;
  if (!m.probe) j["cursors"] = m.cursors;
  if (m.max_bytes) j["max_bytes"] = m.max_bytes;
  if (!m.probe && !m.views.empty()) j["views"] = m.views;
  return dump(j);
}

// The JSON form of a pull answer; with `ops` false every page's "ops" array is left empty (a
// framed body's header).
json pull_reply_json(const PullReply& m, bool ops) {
  json families = json::array();
  for (const auto& f : m.families) {
    json page{{"family", f.family}, {"ops", ops ? op_array(f.ops) : json::array()}, {"cursor", f.cursor}};
    if (!f.view.empty()) page["view"] = f.view;
    if (!f.withheld.empty()) page["withheld"] = f.withheld;
    families.push_back(std::move(page));
  }
  json j{{"families", std::move(families)}, {"purge", m.purge}, {"more", m.more}, {"changed", m.changed},
         {"history", history_json(m.history)}};
  if (m.feed_version) j["feed_version"] = *m.feed_version;
  if (m.policy) j["policy"] = policy_json(*m.policy);
  if (m.wipe) j["wipe"] = wipe_json(*m.wipe);
  return j;
}

std::string encode(const PullReply& m) { return dump(pull_reply_json(m, true)); }

std::string encode(const HealthReply& m) {
  return dump(json{{"status", m.status}, {"protocol", m.protocol}, {"history", history_json(m.history)}});
}

std::string encode(const OfficeReply& m) { return dump(json{{"ops", m.ops}, {"message", m.message}}); }

// ---------------------------------------------------------------- decode

Result<ErrorReply> decode_error_reply(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "error answer");
  if (!j) return j.error();
  Reader r("error answer");
  ErrorReply m;
  m.message = r.text(*j, "error", true, 0, kTextBytes, Chars::text);
  const json* code = r.find(*j, "code", false);
  // without a (known) code the caller falls back on the HTTP status
  m.code = WireError::server;
  if (code) {
    auto c = r.code(*code, "code");
    if (c) m.code = *c;
  }
  return r.finish(std::move(m));
}

Result<EnrolRequest> decode_enrol_request(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.enrol_bytes, limits, "enrolment");
  if (!j) return j.error();
  Reader r("enrolment");
  EnrolRequest m;
  m.code = r.text(*j, "code", true, 1, kSecretBytes, Chars::secret);
  m.device_id = r.text(*j, "device_id", true, 1, kIdBytes, Chars::id);
  if (const json* p = r.find(*j, "practitioner_id", false)) m.practitioner_id = r.text(*p, "practitioner_id", 1, kIdBytes, Chars::name);
  return r.finish(std::move(m));
}

Result<EnrolReply> decode_enrol_reply(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "enrolment answer");
  if (!j) return j.error();
  Reader r("enrolment answer");
  EnrolReply m;
  m.device_token = r.text(*j, "device_token", true, 16, kSecretBytes, Chars::secret);
  m.practitioner_id = r.text(*j, "practitioner_id", true, 1, kIdBytes, Chars::name);
  m.protocol = static_cast<int>(r.unsigned_number(*j, "protocol", true, 1, 1000));
  m.server_time_ms = r.unsigned_number(*j, "server_time", false, 0, kMaxTimeMs);
  m.history = r.history(*j, false);
  read_limits(r, *j, m.max_push_bytes, m.max_op_bytes);
  m.frames = r.unsigned_number(*j, "frames", false, 0, kMaxFramesVersion);
  return r.finish(std::move(m));
}

Result<PushRequest> decode_push_request(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.push_bytes, limits, "push");
  if (!j) return j.error();
  Reader r("push");
  PushRequest m;
  m.device_time_ms = r.unsigned_number(*j, "device_time", false, 0, kMaxTimeMs);
  m.clock_floor_ms = r.unsigned_number(*j, "clock_floor", false, 0, kMaxTimeMs);
  if (const json* e = r.find(*j, "history_epoch", false)) m.history_epoch = r.text(*e, "history_epoch", 0, kIdBytes, Chars::epoch);
  m.delivered_counter = r.unsigned_number(*j, "delivered_counter", false, 0, std::numeric_limits<uint64_t>::max());
  if (const json* q = r.array(*j, "quarantined", false, limits.json_elements)) {
    for (size_t i = 0; i < q->size() && r.ok(); ++i) {
      const json& item = (*q)[i];
      std::string field = "quarantined[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        r.fail(ErrorCode::invalid_argument, field, "must be an object");
        break;
      }
      QuarantineNotice n;
      const json* op = r.find(item, "op", true);
      if (op) n.op_id = r.op_id(*op, field + ".op", false);
      n.family = r.text(item, "family", true, 0, kNameBytes, Chars::name);
      n.reason = r.text(item, "reason", false, 0, kTextBytes, Chars::text);
      m.quarantined.push_back(std::move(n));
    }
  }
  if (const json* w = r.array(*j, "held_waiting", false, limits.json_elements))
    for (size_t i = 0; i < w->size() && r.ok(); ++i)
      m.held_waiting.push_back(r.op_id((*w)[i], "held_waiting[" + std::to_string(i) + "]", false));
  if (const json* views = r.array(*j, "record_views", false, kMaxRecordViews)) {
    for (size_t i = 0; i < views->size() && r.ok(); ++i) {
      const json& item = (*views)[i];
      std::string field = "record_views[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        r.fail(ErrorCode::invalid_argument, field, "must be an object");
        break;
      }
      RecordView v;
      v.seq = r.unsigned_number(item, "seq", true, 1, kMaxSeq);
      v.family = r.text(item, "family", true, 1, kNameBytes, Chars::name);
      v.type = r.text(item, "type", true, 1, kNameBytes, Chars::name);
      v.record = r.text(item, "id", true, 1, kNameBytes, Chars::name);
      v.at_ms = r.unsigned_number(item, "at", true, 0, kMaxTimeMs);
      m.record_views.push_back(std::move(v));
    }
  }
  m.record_views_dropped = r.unsigned_number(*j, "record_views_dropped", false, 0, kMaxSeq);
  // Op sizes are judged one by one by the server (an op over Limits::op_bytes is refused on
  // its own with too_large), so here only the body's limit bounds them.
  m.ops = r.op_list(*j, "ops", true, limits.json_elements, limits.push_bytes);
  return r.finish(std::move(m));
}

Result<PushReply> decode_push_reply(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "push answer");
  if (!j) return j.error();
  Reader r("push answer");
  PushReply m;
  if (const json* results = r.array(*j, "results", true, limits.json_elements)) {
    for (size_t i = 0; i < results->size() && r.ok(); ++i) {
      const json& item = (*results)[i];
      std::string field = "results[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        r.fail(ErrorCode::invalid_argument, field, "must be an object");
        break;
      }
      OpResult res;
      if (const json* op = r.find(item, "op", true)) res.op_id = r.op_id(*op, field + ".op", true);
      std::string status = r.text(item, "status", true, 1, 16, Chars::id);
      if (status == "accepted") res.status = OpStatus::accepted;
      else if (status == "duplicate") res.status = OpStatus::duplicate;
      else if (status == "rejected") res.status = OpStatus::rejected;
      else if (status == "held") res.status = OpStatus::held;
      else if (r.ok()) r.fail(ErrorCode::invalid_argument, field + ".status", "must be accepted, duplicate, rejected or held");
      res.reason = r.text(item, "reason", false, 0, kTextBytes, Chars::text);
      if (const json* code = r.find(item, "code", false)) res.code = r.code(*code, field + ".code");
      if (const json* to = r.find(item, "route_to", false)) res.route_to = r.text(*to, field + ".route_to", 0, kIdBytes, Chars::name);
      m.results.push_back(std::move(res));
    }
  }
  m.server_time_ms = r.unsigned_number(*j, "server_time", false, 0, kMaxTimeMs);
  m.clock_offset_ms = r.signed_number(*j, "clock_offset_ms", false, -kMaxOffsetMs, kMaxOffsetMs).value_or(0);
  m.history = r.history(*j, false);
  read_limits(r, *j, m.max_push_bytes, m.max_op_bytes);
  m.frames = r.unsigned_number(*j, "frames", false, 0, kMaxFramesVersion);
  if (const json* acks = r.array(*j, "quarantine_acknowledged", false, limits.json_elements))
    for (size_t i = 0; i < acks->size() && r.ok(); ++i)
      m.quarantine_acknowledged.push_back(r.op_id((*acks)[i], "quarantine_acknowledged[" + std::to_string(i) + "]", false));
  if (const json* decided = r.array(*j, "held_decided", false, limits.json_elements)) {
    for (size_t i = 0; i < decided->size() && r.ok(); ++i) {
      const json& item = (*decided)[i];
      std::string field = "held_decided[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        r.fail(ErrorCode::invalid_argument, field, "must be an object");
        break;
      }
      HeldDecided d;
      if (const json* op = r.find(item, "op", true)) d.op_id = r.op_id(*op, field + ".op", false);
      d.outcome = r.text(item, "outcome", true, 1, 16, Chars::id);
      if (r.ok() && d.outcome != "applied" && d.outcome != "dismissed")
        r.fail(ErrorCode::invalid_argument, field + ".outcome", "must be applied or dismissed");
      d.by = r.text(item, "by", true, 1, kIdBytes, Chars::name);
      d.note = r.text(item, "note", false, 0, kTextBytes, Chars::text);
      d.at_ms = r.unsigned_number(item, "at", false, 0, kMaxTimeMs);
      m.held_decided.push_back(std::move(d));
    }
  }
  m.record_views_through = r.unsigned_number(*j, "record_views_through", false, 0, kMaxSeq);
  m.record_views_dropped = r.unsigned_number(*j, "record_views_dropped", false, 0, kMaxSeq);
  if (const json* wipe = r.object(*j, "wipe", false)) m.wipe = read_wipe(r, *wipe);
  return r.finish(std::move(m));
}

Result<PullRequest> decode_pull_request(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "pull");
  if (!j) return j.error();
  Reader r("pull");
  PullRequest m;
  m.probe = r.boolean(*j, "probe", false, false);
  m.feed_version = r.signed_number(*j, "feed_version", false, 0, kMaxSeq);
  if (const json* cursors = r.object(*j, "cursors", false)) {
    if (cursors->size() > limits.cursors) {
      r.fail(ErrorCode::too_large, "cursors", "names more than " + std::to_string(limits.cursors) + " families");
    } else {
      for (auto it = cursors->begin(); it != cursors->end() && r.ok(); ++it) {
        std::string family = r.text(json(it.key()), "cursors key", 1, kNameBytes, Chars::name);
        int64_t seq = r.signed_number(it.value(), "cursors." + family, 0, kMaxSeq);
        if (r.ok()) m.cursors[family] = seq;
      }
    }
  }
  m.max_bytes = r.unsigned_number(*j, "max_bytes", false, 0, std::numeric_limits<uint64_t>::max());
  if (const json* e = r.find(*j, "history_epoch", false)) m.history_epoch = r.text(*e, "history_epoch", 0, kIdBytes, Chars::epoch);
  m.delivered_counter = r.unsigned_number(*j, "delivered_counter", false, 0, std::numeric_limits<uint64_t>::max());
  m.highest_cursor = r.signed_number(*j, "highest_cursor", false, 0, kMaxSeq).value_or(0);
  if (const json* views = r.object(*j, "views", false)) {
    if (views->size() > limits.cursors) {
      r.fail(ErrorCode::too_large, "views", "names more than " + std::to_string(limits.cursors) + " families");
    } else {
      for (auto it = views->begin(); it != views->end() && r.ok(); ++it) {
        std::string family = r.text(json(it.key()), "views key", 1, kNameBytes, Chars::name);
        std::string digest = r.text(it.value(), "views." + family, 1, kMaxViewBytes, Chars::secret);
        if (r.ok()) m.views[family] = std::move(digest);
      }
    }
  }
  return r.finish(std::move(m));
}

Result<PullReply> decode_pull_reply(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "pull answer");
  if (!j) return j.error();
  Reader r("pull answer");
  PullReply m;
  if (const json* families = r.array(*j, "families", true, limits.json_elements)) {
    for (size_t i = 0; i < families->size() && r.ok(); ++i) {
      const json& item = (*families)[i];
      std::string field = "families[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        r.fail(ErrorCode::invalid_argument, field, "must be an object");
        break;
      }
      FamilyPage page;
      page.family = r.text(item, "family", true, 1, kNameBytes, Chars::name);
      page.ops = r.op_list(item, "ops", true, limits.json_elements, limits.request_bytes);
      page.cursor = r.signed_number(item, "cursor", true, 0, kMaxSeq).value_or(0);
      if (const json* view = r.find(item, "view", false))
        page.view = r.text(*view, field + ".view", 0, kMaxViewBytes, Chars::secret);
      if (const json* withheld = r.array(item, "withheld", false, limits.withheld))
        for (size_t w = 0; w < withheld->size() && r.ok(); ++w)
          page.withheld.push_back(r.text((*withheld)[w], field + ".withheld[" + std::to_string(w) + "]", 1, kWithheldBytes,
                                         Chars::name));
      m.families.push_back(std::move(page));
    }
  }
  if (const json* purge = r.array(*j, "purge", false, limits.json_elements))
    for (size_t i = 0; i < purge->size() && r.ok(); ++i)
      m.purge.push_back(r.text((*purge)[i], "purge[" + std::to_string(i) + "]", 1, kNameBytes, Chars::name));
  m.more = r.boolean(*j, "more", false, false);
  m.changed = r.boolean(*j, "changed", false, true);
  m.feed_version = r.signed_number(*j, "feed_version", false, 0, kMaxSeq);
  m.history = r.history(*j, false);
  if (const json* policy = r.object(*j, "policy", false)) m.policy = read_policy(r, *policy);
  if (const json* wipe = r.object(*j, "wipe", false)) m.wipe = read_wipe(r, *wipe);
  return r.finish(std::move(m));
}

Result<HealthReply> decode_health_reply(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "health answer");
  if (!j) return j.error();
  Reader r("health answer");
  HealthReply m;
  m.status = r.text(*j, "status", true, 1, kIdBytes, Chars::id);
  m.protocol = static_cast<int>(r.unsigned_number(*j, "protocol", true, 1, 1000));
  m.history = r.history(*j, false);
  return r.finish(std::move(m));
}

constexpr size_t kReasonBytes = 2000;  // an emergency access request's reason in words

std::string encode(const EmergencyAccessRequest& m) {
  return dump(json{{"family", m.family}, {"reason_code", m.reason_code}, {"reason", m.reason}});
}

std::string encode(const EmergencyAccessReply& m) {
  return dump(json{{"family", m.family}, {"grant", m.grant_id}, {"expires_at", m.expires_at_ms}});
}

Result<EmergencyAccessRequest> decode_emergency_access_request(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.enrol_bytes, limits, "emergency access request");
  if (!j) return j.error();
  Reader r("emergency access request");
  EmergencyAccessRequest m;
  m.family = r.text(*j, "family", true, 1, kNameBytes, Chars::name);
  m.reason_code = r.text(*j, "reason_code", true, 1, kIdBytes, Chars::id);
  m.reason = r.text(*j, "reason", true, 1, kReasonBytes, Chars::text);
  return r.finish(std::move(m));
}

Result<EmergencyAccessReply> decode_emergency_access_reply(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "emergency access answer");
  if (!j) return j.error();
  Reader r("emergency access answer");
  EmergencyAccessReply m;
  m.family = r.text(*j, "family", true, 1, kNameBytes, Chars::name);
  m.grant_id = r.text(*j, "grant", true, 1, kNameBytes * 2, Chars::name);
  m.expires_at_ms = r.unsigned_number(*j, "expires_at", true, 0, kMaxTimeMs);
  return r.finish(std::move(m));
}

// ---------------------------------------------------------------- wipe acknowledgement

namespace {
constexpr uint64_t kMaxLostOps = std::numeric_limits<int64_t>::max();
}  // namespace

std::string encode(const WipeAck& m) {
  return dump(json{{"unsynced_lost", m.unsynced_lost}, {"quarantined_lost", m.quarantined_lost}});
}

std::string encode(const WipeAckReply& m) { return dump(json{{"acknowledged_at", m.acknowledged_at_ms}}); }

Result<WipeAck> decode_wipe_ack(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.enrol_bytes, limits, "wipe acknowledgement");
  if (!j) return j.error();
  Reader r("wipe acknowledgement");
  WipeAck m;
  m.unsynced_lost = r.unsigned_number(*j, "unsynced_lost", true, 0, kMaxLostOps);
  m.quarantined_lost = r.unsigned_number(*j, "quarantined_lost", true, 0, kMaxLostOps);
  return r.finish(std::move(m));
}

Result<WipeAckReply> decode_wipe_ack_reply(std::string_view body, const Limits& limits) {
  auto j = parse_object(body, limits.request_bytes, limits, "wipe acknowledgement answer");
  if (!j) return j.error();
  Reader r("wipe acknowledgement answer");
  WipeAckReply m;
  m.acknowledged_at_ms = r.unsigned_number(*j, "acknowledged_at", true, 0, kMaxTimeMs);
  return r.finish(std::move(m));
}

// ---------------------------------------------------------------- framed op batches

namespace {

constexpr std::string_view kFramesMagic = "HFR1";
constexpr size_t kWordBytes = 4;  // every number of the framing: unsigned 32 bits, big-endian

void put_word(std::string& out, size_t n) {
  const auto v = static_cast<uint32_t>(n);
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_section(std::string& out, const std::vector<std::string>& ops) {
  put_word(out, ops.size());
  for (const auto& op : ops) {
    put_word(out, op.size());
    out += op;
  }
}

// The frame as it is read: the header's JSON text, then one op section after another. Every
// count and length is checked against the bytes that remain before anything is allocated, so
// a frame can never claim more than it holds.
class FrameReader {
 public:
  FrameReader(std::string_view body, const char* what) : rest_(body), what_(what) {}

  Result<std::string_view> header() {
    if (rest_.size() < kFramesMagic.size() || rest_.substr(0, kFramesMagic.size()) != kFramesMagic)
      return bad("does not start with the framing's magic \"HFR1\"");
    rest_.remove_prefix(kFramesMagic.size());
    auto n = word("the header's length");
    if (!n) return n.error();
    if (*n > rest_.size())
      return bad("the header claims " + std::to_string(*n) + " bytes and " + std::to_string(rest_.size()) + " remain");
    std::string_view json_text = rest_.substr(0, *n);
    rest_.remove_prefix(*n);
    return json_text;
  }

  // One section: `max_items` ops at most, each 1 to `max_op` bytes.
  Result<std::vector<std::string>> section(const std::string& field, size_t max_items, size_t max_op) {
    auto count = word(field + "'s count");
    if (!count) return count.error();
    // each op takes at least its length word and one byte
    if (*count > max_items || *count > rest_.size() / (kWordBytes + 1))
      return make_error(*count > max_items ? ErrorCode::too_large : ErrorCode::invalid_argument,
                        std::string(what_) + ": " + field + " claims " + std::to_string(*count) + " ops, more than " +
                            (*count > max_items ? "the limit of " + std::to_string(max_items) : std::string("the body holds")));
    std::vector<std::string> ops;
    ops.reserve(*count);
    for (size_t i = 0; i < *count; ++i) {
      const std::string name = field + "[" + std::to_string(i) + "]";
      auto n = word(name + "'s length");
      if (!n) return n.error();
      if (*n == 0) return bad(name + " is empty");
      if (*n > max_op)
        return make_error(ErrorCode::too_large, std::string(what_) + ": " + name + " is over " + std::to_string(max_op) + " bytes");
      if (*n > rest_.size())
        return bad(name + " claims " + std::to_string(*n) + " bytes and " + std::to_string(rest_.size()) + " remain");
      ops.emplace_back(rest_.substr(0, *n));
      rest_.remove_prefix(*n);
    }
    return ops;
  }

  Result<void> end() {
    if (!rest_.empty()) return bad(std::to_string(rest_.size()) + " bytes follow the last op section");
    return {};
  }

 private:
  Error bad(const std::string& message) const {
    return make_error(ErrorCode::invalid_argument, std::string(what_) + ": the framed body is malformed: " + message);
  }
  Result<size_t> word(const std::string& what) {
    if (rest_.size() < kWordBytes) return bad(what + " is cut short");
    size_t v = 0;
    for (size_t i = 0; i < kWordBytes; ++i) v = (v << 8) | static_cast<unsigned char>(rest_[i]);
    rest_.remove_prefix(kWordBytes);
    return v;
  }

  std::string_view rest_;
  const char* what_;
};

// The header's op lists travel as frames: an op in the header itself is refused, so a body
// has one reading.
Result<void> header_has_no_ops(bool empty, const char* what, const std::string& field) {
  if (empty) return {};
  return make_error(ErrorCode::invalid_argument,
                    std::string(what) + ": \"" + field + "\" must be empty in a framed body's header (the ops follow as frames)");
}

Result<void> within(std::string_view body, size_t max_bytes, const char* what) {
  if (body.size() <= max_bytes) return {};
  return make_error(ErrorCode::too_large, std::string(what) + ": the body is " + std::to_string(body.size()) +
                                              " bytes, over the limit of " + std::to_string(max_bytes));
}

std::string frame(const json& header) {
  std::string text = dump(header);
  std::string out(kFramesMagic);
  put_word(out, text.size());
  out += text;
  return out;
}

}  // namespace

bool is_frames_type(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.erase(type.begin());
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == kFramesType;
}

bool accepts_frames(std::string_view accept) {
  // a list of media ranges, e.g. "application/vnd.hearth.frames, application/json"; a client
  // names the framing only when it reads it, so q values are not weighed
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    if (is_frames_type(range)) return true;
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return false;
}

std::string encode_framed(const PushRequest& m) {
  std::string out = frame(push_request_json(m, false));
  put_section(out, m.ops);
  return out;
}

std::string encode_framed(const PullReply& m) {
  std::string out = frame(pull_reply_json(m, false));
  for (const auto& f : m.families) put_section(out, f.ops);
  return out;
}

Result<PushRequest> decode_framed_push_request(std::string_view body, const Limits& limits) {
  const char* what = "push";
  if (auto r = within(body, limits.push_bytes, what); !r) return r.error();
  FrameReader in(body, what);
  auto header = in.header();
  if (!header) return header.error();
  auto m = decode_push_request(*header, limits);
  if (!m) return m.error();
  if (auto r = header_has_no_ops(m->ops.empty(), what, "ops"); !r) return r.error();
  auto ops = in.section("ops", limits.json_elements, limits.push_bytes);
  if (!ops) return ops.error();
  m->ops = std::move(*ops);
  if (auto r = in.end(); !r) return r.error();
  return m;
}

Result<PullReply> decode_framed_pull_reply(std::string_view body, const Limits& limits) {
  const char* what = "pull answer";
  if (auto r = within(body, limits.request_bytes, what); !r) return r.error();
  FrameReader in(body, what);
  auto header = in.header();
  if (!header) return header.error();
  auto m = decode_pull_reply(*header, limits);
  if (!m) return m.error();
  size_t total = 0;  // ops over every section: bounded like the values of one JSON body
  for (size_t i = 0; i < m->families.size(); ++i) {
    const std::string field = "families[" + std::to_string(i) + "].ops";
    if (auto r = header_has_no_ops(m->families[i].ops.empty(), what, field); !r) return r.error();
    auto ops = in.section(field, limits.json_elements - std::min(total, limits.json_elements), limits.request_bytes);
    if (!ops) return ops.error();
    total += ops->size();
    m->families[i].ops = std::move(*ops);
  }
  if (auto r = in.end(); !r) return r.error();
  return m;
}

}  // namespace hearth::sync::protocol
