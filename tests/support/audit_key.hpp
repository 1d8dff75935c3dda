#pragma once
// A fixed audit key for in-process server tests: every Storage a test opens on one database
// must use the same key (a second server on the database, a reopen). Never used outside tests.
#include <string>

#include "audit/audit_key.hpp"
#include "must.hpp"

namespace hearth::test {

inline server::audit::AuditKey audit_key() {
  return must(server::audit::AuditKey::from_secret(std::string(32, '\x42')));
}

}  // namespace hearth::test
