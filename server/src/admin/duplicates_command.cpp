#include "duplicates_command.hpp"

#include <iostream>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"
#include "usecases/authority_write.hpp"
#include "usecases/duplicates.hpp"
#include "usecases/person_merge.hpp"

namespace hearth::server {

void add_duplicate_commands(CLI::App& app, DuplicateCommands& c) {
  c.list = app.add_subcommand("duplicates", "probable duplicate persons and contacts found (DOMAIN.md G1, C-1, C-20): "
                                            "review items, never merged automatically");
  c.list->add_option("--family", c.family, "only findings touching this family");
  c.list->add_flag("--all", c.all, "also findings already merged or dismissed");
  c.merge = app.add_subcommand("merge-person", "merge a duplicate person into the one kept: every reference on every "
                                               "record of every family involved is re-pointed; the merged-away "
                                               "person is kept, marked merged_into (audited)");
  c.merge->add_option("--keep", c.keep, "the person kept")->required();
  c.merge->add_option("--merge", c.merged_away, "the duplicate merged into it")->required();
  c.merge->add_option("--by", c.by, "the team manager deciding (a practitioner with the TEAM_MANAGER role)")->required();
  c.merge->add_option("--reason", c.reason, "why they are the same person")->required();
}

std::optional<int> run_duplicate_commands(const DuplicateCommands& c, SyncService& service, std::ostream& out,
                                          std::ostream& err) {
  auto fail = [&](const Error& e) {
    err << "hearth-server: " << e.message << "\n";
    return e.code == ErrorCode::not_found ? 3 : 1;
  };
  if (c.list && c.list->parsed()) {
    if (!c.family.empty())
      if (auto r = check_id("--family", c.family); !r) return fail(r.error());
    auto found = service.with_context([&](ServiceContext& ctx) -> Result<std::vector<DuplicateFinding>> {
      auto list = list_duplicates(ctx, c.family, c.all);
      if (!list) return list;
      ctx.audit(nullptr, "duplicates-viewed", c.family, std::to_string(list->size()) + " findings");
      return list;
    });
    if (!found) return fail(found.error());
    for (const auto& f : *found) {
      out << "finding " << f.id << "  " << f.status << "  " << f.kind << " " << f.first << " (family " << f.first_family
          << ") and " << f.second << " (family " << f.second_family << ")  raised " << datetime_of(f.raised_at) << "\n"
          << "  why: " << f.reasons << "\n";
      if (f.status != kFindingOpen)
        out << "  " << f.status << " by " << f.decided_by << " at " << datetime_of(f.decided_at) << "\n";
    }
    if (found->empty())
      out << "no " << (c.all ? "" : "open ") << "probable duplicates"
          << (c.family.empty() ? "" : " for family " + c.family) << "\n";
    return 0;
  }
  if (c.merge && c.merge->parsed()) {
    auto merged = service.with_context(
        [&](ServiceContext& ctx) { return merge_persons(ctx, c.keep, c.merged_away, c.by, c.reason); });
    if (!merged) return fail(merged.error());
    if (merged->already_merged) {
      out << "person " << merged->merged_away << " was already merged into " << merged->keep << "; nothing to do\n";
      return 0;
    }
    out << "merged person " << merged->merged_away << " into " << merged->keep << ": " << merged->repointed
        << " references re-pointed, " << merged->memberships_removed << " duplicate memberships removed, in "
        << merged->families.size() << (merged->families.size() == 1 ? " family" : " families") << " ("
        << merged->ops.size() << " ops); " << merged->merged_away << " is kept, marked merged_into " << merged->keep
        << "; every team member's tablet receives it at its next sync\n";
    for (const auto& k : merged->kept_as_recorded) out << "  kept as recorded (append-only): " << k << "\n";
    return 0;
  }
  return std::nullopt;
}

}  // namespace hearth::server
