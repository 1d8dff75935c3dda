#pragma once
// What a piece of text or an id must be before it is accepted at a trust boundary (an op from
// the wire, an edit through the Store, a value typed into the CLI). A reader can then rely on
// every stored string being valid UTF-8 and every id being short and printable.
// Thread-safety: pure functions.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth {

// Well-formed UTF-8 (RFC 3629, Unicode 15 §3.9 table 3-7): no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view s);

// `s` safe in HTML element content and quoted attribute values: & < > " ' as character
// references, everything else as given. Used by every page the server writes (the subject access
// document, the KPI report).
std::string html_escape(std::string_view s);

// Ids of devices, practitioners, organisations, families and records, including keyed record
// ids ("<assessment id>/finding/<DOMAIN>", "<assessment id>/voice/<child id>"): 1 to 128 bytes
// of A-Z a-z 0-9 and . _ : / @ -. No spaces, no control characters, nothing to escape.
constexpr size_t kMaxIdBytes = 128;
bool is_valid_id(std::string_view s);

// Schema vocabulary (entity types, field names): 1 to 64 bytes of A-Z a-z 0-9 and _.
constexpr size_t kMaxNameBytes = 64;
bool is_valid_name(std::string_view s);

// The highest op counter a device may use: 2^53 - 1, so a counter is exact wherever it is
// read as a JSON number (docs/change-log.md). Counters start at 1.
constexpr uint64_t kMaxOpCounter = (uint64_t{1} << 53) - 1;

// ErrorCode::validation naming `what` ("Person p-1 field given_names", "op author", ...).
[[nodiscard]] Result<void> check_utf8(const std::string& what, std::string_view text);
[[nodiscard]] Result<void> check_id(const std::string& what, std::string_view id);

// A short printable rendering of untrusted bytes for an error message: invalid UTF-8 and
// control bytes become \xNN, and long input is cut at `max_bytes`.
std::string printable(std::string_view bytes, size_t max_bytes = 64);

}  // namespace hearth
