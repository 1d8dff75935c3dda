#pragma once
// The office's list of tasks (`hearth-server tasks`, N6): the Task records the server holds,
// read from each family's merge state.
// Thread-safety: as ServiceContext (callers serialise).
#include <cstdint>
#include <string>
#include <vector>

#include "context.hpp"

namespace hearth::server {

struct TaskRow {
  std::string family;
  std::string id;
  std::string type;
  std::string assignee;
  std::string due_at;   // ISO 8601 UTC, as the record holds it
  int64_t due_ms = 0;   // parsed; 0 when the record holds no valid time
  std::string status;   // OPEN, DONE, CANCELLED
  std::string about;
  std::string detail;
  std::string escalated_to;
};

struct TaskQuery {
  std::string family;    // "" for every family the server holds
  std::string assignee;  // "" for anyone (matches the assignee or whom it escalated to)
  bool overdue = false;  // only OPEN tasks whose due time is before now
};

// Matching tasks by due time, then id. An unknown --family is ErrorCode::not_found.
Result<std::vector<TaskRow>> list_tasks(ServiceContext& ctx, const TaskQuery& query);

}  // namespace hearth::server
