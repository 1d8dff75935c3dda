#pragma once
// Secret key files kept outside the database: the audit key (audit/audit_key.hpp) and the
// key-encryption key (kek.hpp). The file is text, "<header>\n<64 hex digits>\n", readable by
// its owner alone (mode 0600 or 0400), in a folder made with mode 0700.
// Errors are values; secrets read are wiped from temporary buffers.
#include <filesystem>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"

namespace hearth::server::keys {

// What a key file is, for messages: its header line, what to call it, and what to do when it
// is missing or wrong.
struct KeyFileKind {
  std::string_view header;  // "hearth-audit-key v1"
  std::string_view name;    // "the audit key"
  std::string_view remedy;  // "restore the audit key from your key backup (docs/audit.md)"
};

// The 32 secret bytes of `file`. ErrorCode::locked, with `kind.remedy`, for a missing or
// unreadable file, one that is not a regular file, one readable or writable by group or
// others, or text that is not a key file of this kind.
Result<std::string> read_key_file(const std::filesystem::path& file, const KeyFileKind& kind);
// 32 fresh random bytes written to a new file (mode 0600; a missing folder is made with mode
// 0700) and returned. Never replaces an existing file (ErrorCode::conflict).
Result<std::string> create_key_file(const std::filesystem::path& file, const KeyFileKind& kind);

}  // namespace hearth::server::keys
