#pragma once
// `hearth-server step-up decide`: the office's decision on a step-up entered at the server
// (usecases/step_up.hpp), so a new user and the demo can act as the office without an office
// system; the same as POST /v1/office/inbound with kind "step_up_decision".
#include <CLI/CLI.hpp>
#include <string>

#include "hearth/core/error.hpp"
#include "sync_service.hpp"

namespace hearth::server {

struct StepUpCommand {
  CLI::App* decide = nullptr;
  std::string step_up, family, decision, csc_ref, decided_at;
};

// Adds `step-up decide --step-up ID --decision D [--csc-ref R] [--decided-at T] [--family F]`.
void add_step_up_command(CLI::App& app, StepUpCommand& cmd);

// Runs the decision; returns the lines to print (what moved, the op count).
Result<std::string> run_step_up_decide(SyncService& service, const StepUpCommand& cmd);

}  // namespace hearth::server
