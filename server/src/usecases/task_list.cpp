#include "task_list.hpp"

#include <algorithm>

#include "hearth/core/civil_time.hpp"
#include "record_values.hpp"

namespace hearth::server {

namespace {

}  // namespace

Result<std::vector<TaskRow>> list_tasks(ServiceContext& ctx, const TaskQuery& query) {
  std::vector<std::string> families{query.family};
  if (query.family.empty()) {
    auto all = ctx.store.ops().families();
    if (!all) return all.error();
    families = std::move(*all);
  }
  const int64_t now = ctx.now();
  std::vector<TaskRow> out;
  for (const auto& family : families) {
    auto merged = ctx.cache.get(family);
    if (!merged) return merged.error();
    auto entities = (*merged)->entities(family);
    if (entities.empty() && !query.family.empty())
      return make_error(ErrorCode::not_found, "--family: this server holds no records of family '" + family + "'");
    for (const sync::EntityMerge* e : entities) {
      if (!e->created() || e->deleted() || e->def().name != "Task") continue;
      TaskRow row{family,
                  e->id(),
                  text_of(*e, "task_type"),
                  text_of(*e, "assignee"),
                  text_of(*e, "due_at"),
                  0,
                  text_of(*e, "status"),
                  text_of(*e, "about"),
                  text_of(*e, "detail"),
                  text_of(*e, "escalated_to")};
      if (auto ms = civil::parse_ms(row.due_at)) row.due_ms = *ms;
      if (!query.assignee.empty() && row.assignee != query.assignee && row.escalated_to != query.assignee) continue;
      if (query.overdue && (row.status != "OPEN" || row.due_ms == 0 || row.due_ms >= now)) continue;
      out.push_back(std::move(row));
    }
  }
  std::sort(out.begin(), out.end(), [](const TaskRow& a, const TaskRow& b) {
    return a.due_ms != b.due_ms ? a.due_ms < b.due_ms : a.id < b.id;
  });
  return out;
}

}  // namespace hearth::server
