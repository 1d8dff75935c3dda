#pragma once
// `hearth-server office ...`: the office outbox as administrators and the IG officer see it
// (docs/office.md):
//   office status [--family F] [--state S] [--limit N]   counts, then the newest items
//   office retry ITEM | --all                            dead (or failing) items back to the queue
//   office disclosures [--family F]                      what was sent to whom and when (audited)
//   office backfill [--family F]                         queue every record held (an office connected later)
//   office map list | set FIELD VALUE CODE | unset FIELD VALUE   the council's code mappings
// and the repeater's configuration from the server config ("office_endpoint").
// Every command that changes something or reads the disclosure log is audited.
// Thread-safety: run on the command's own thread.
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "sync_service.hpp"
#include "usecases/office_repeater.hpp"

namespace CLI {
class App;
}

namespace hearth::server {

struct OfficeCli;
// Adds `office` and its subcommands to `app`; the result tells run_office_cli what was asked.
std::shared_ptr<OfficeCli> add_office_cli(CLI::App& app);
bool office_cli_parsed(const OfficeCli& cli);
// Runs the parsed command; returns the exit code (0 done, 1 failed, 3 not found), messages on `err`.
int run_office_cli(const OfficeCli& cli, SyncService& service, std::ostream& out, std::ostream& err);

// The repeater's configuration from the server configuration's "office_endpoint" (JSON text
// of the whole configuration file): nullopt when it has none.
Result<std::optional<RepeaterConfig>> repeater_config_of(const std::string& server_config_json);

}  // namespace hearth::server
