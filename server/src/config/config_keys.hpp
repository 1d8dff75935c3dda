#pragma once
// Every key of DATA/hearth-server.json that hearth-server reads, with its type, default and
// meaning (docs/configuration.md is written from this table, and a test keeps the two and
// server_main.cpp in step), and the validation of a configuration against it: `serve` refuses
// to start on a problem, `check-config` prints every finding.
// Thread-safety: the table is immutable; validation has no shared state.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tls/tls_check.hpp"

namespace hearth::server::config {

enum class Kind {
  text,     // a string
  path,     // a string naming a file or folder
  boolean,  // true or false
  integer,  // a whole number within [min, max]
  number,   // any number within [min, max] (fractions allowed)
  object,   // a JSON object, validated by its own reader
};

struct Key {
  std::string_view name;
  Kind kind;
  int64_t min = 0;
  int64_t max = 0;
  std::string_view default_value;  // as the documentation says it
  std::string_view meaning;
};

// Every key, in the order docs/configuration.md lists them.
const std::vector<Key>& keys();
const Key* find_key(std::string_view name);

// A problem (the server would not start) or a warning, naming the key or file it is about: the
// same shape as the certificate checks' findings.
using Finding = tls::Finding;

// Checks `config` against keys(): an object; each known key of its kind and range (a problem);
// an unknown key (a warning: probably a misspelling, and hearth-server ignores it); a
// "database" or "keyring" that looks like a connection string but is not a PostgreSQL one (a
// problem); the office endpoint by its own reader (usecases/office_repeater.hpp). What depends
// on the command line too (`serve --host`, `--behind-proxy`) is checked where that is known.
std::vector<Finding> validate(const nlohmann::json& config);

// The name tablets connect to, which the server certificate must cover: the config's
// "server_name", else `host` (the address listened on) unless it is a wildcard (0.0.0.0, ::,
// empty), in which case there is nothing to check against ("").
std::string served_name(const nlohmann::json& config, const std::string& host);

}  // namespace hearth::server::config
