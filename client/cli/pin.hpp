#pragma once
#include <optional>
#include <string>

#include "hearth/core/error.hpp"

namespace hearth::cli {

// Where a PIN comes from, in order: --pin-fd N (one line read from that descriptor), the
// HEARTH_PIN environment variable, or a prompt on the terminal with echo off.
struct PinSource {
  std::optional<int> fd;
};

Result<std::string> read_pin(const PinSource& source, const std::string& prompt);
// A new PIN: from the same sources; on a terminal it is asked twice.
Result<std::string> read_new_pin(const PinSource& source, const std::string& prompt, const char* env_name);

}  // namespace hearth::cli
