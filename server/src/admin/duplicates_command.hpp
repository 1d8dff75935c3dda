#pragma once
// `hearth-server duplicates [--family F] [--all]` lists the probable duplicates found (open ones
// unless --all), after reviewing every family changed since (usecases/duplicates.hpp);
// `hearth-server merge-person --keep P1 --merge P2 --by MANAGER --reason TEXT` merges P2 into P1
// (usecases/person_merge.hpp). Both are audited.
// Exit codes: 0 done, 1 refused or failed (the message says why), 3 not found.
#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string>

#include "sync_service.hpp"

namespace hearth::server {

struct DuplicateCommands {
  CLI::App* list = nullptr;
  CLI::App* merge = nullptr;
  std::string family;
  bool all = false;
  std::string keep, merged_away, by, reason;
};

// Declares the two subcommands on `app`, writing their options into `c`.
void add_duplicate_commands(CLI::App& app, DuplicateCommands& c);

// Runs the one parsed, printing to `out` and errors to `err`; nullopt when neither was parsed.
std::optional<int> run_duplicate_commands(const DuplicateCommands& c, SyncService& service, std::ostream& out,
                                          std::ostream& err);

}  // namespace hearth::server
