#include "step_up_command.hpp"

#include "usecases/step_up.hpp"

namespace hearth::server {

void add_step_up_command(CLI::App& app, StepUpCommand& cmd) {
  auto* step_up = app.add_subcommand("step-up", "the step-up workflow (DOMAIN.md §4.2, §13 S3): the office's decision");
  step_up->require_subcommand(1);
  cmd.decide = step_up->add_subcommand(
      "decide", "record children's social care's decision on a step-up, as the office (moves the episode per "
                "the tenant's step_up_policy)");
  cmd.decide->add_option("--step-up", cmd.step_up, "the StepUpRequest's id")->required();
  cmd.decide->add_option("--decision", cmd.decision,
                         "ACCEPTED_S17_ASSESSMENT, ACCEPTED_S47_STRATEGY, ADVICE_RETURN_TO_EH, NFA_RETURN_TO_EH or "
                         "WITHDRAWN")
      ->required();
  cmd.decide->add_option("--csc-ref", cmd.csc_ref, "social care's reference for the referral");
  cmd.decide->add_option("--decided-at", cmd.decided_at, "when it was decided, e.g. 2026-12-01T15:00:00Z (default: now)");
  cmd.decide->add_option("--family", cmd.family, "the step-up's family (default: found by the step-up's id)");
}

Result<std::string> run_step_up_decide(SyncService& service, const StepUpCommand& cmd) {
  StepUpDecision d;
  d.step_up = cmd.step_up;
  d.family = cmd.family;
  d.csc_decision = cmd.decision;
  d.csc_ref = cmd.csc_ref;
  d.decided_at = cmd.decided_at;
  d.via = "command line";
  auto decided = service.with_context([&](ServiceContext& ctx) { return decide_step_up(ctx, d); });
  if (!decided) return decided.error();
  std::string out = "decided StepUpRequest " + cmd.step_up + ": " + cmd.decision + " (" +
                    std::to_string(decided->ops.size()) + (decided->ops.size() == 1 ? " op" : " ops") + ")\n";
  if (!decided->episode.empty()) out += "  episode " + decided->episode + " is " + decided->episode_status + "\n";
  out += "  every team member's tablet receives it at its next sync\n";
  return out;
}

}  // namespace hearth::server
