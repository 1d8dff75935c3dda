#include "record_audit.hpp"

#include "hearth/core/json_writer.hpp"

namespace hearth::server {

std::string record_change_entry(const sync::Op& op) {
  const char* change = nullptr;
  switch (op.kind) {
    case sync::OpKind::Create: change = "create"; break;
    case sync::OpKind::Set:
    case sync::OpKind::Add:
    case sync::OpKind::Remove: change = "update"; break;
    case sync::OpKind::Transition: change = "transition"; break;
    case sync::OpKind::Delete: change = "delete"; break;
    case sync::OpKind::Acknowledge: change = "acknowledge"; break;
    case sync::OpKind::Restamp: return {};
  }
  if (!change) return {};
  JsonWriter w;
  w.begin_object();
  w.key("change").string(change).key("type").string(op.entity_type).key("id").string(op.entity_id);
  w.key("op").string(op.id.to_string()).key("op_time").integer(static_cast<int64_t>(op.hlc.wall_ms));
  if (op.kind == sync::OpKind::Create) {
    w.key("fields").begin_array();
    for (const auto& [name, value] : op.fields) w.string(name);
    w.end_array();
  } else if (op.kind == sync::OpKind::Acknowledge) {
    w.key("conflict").string(op.text);
  } else if (op.kind != sync::OpKind::Delete) {
    w.key("fields").begin_array().string(op.field).end_array();
  }
  if (op.kind == sync::OpKind::Transition && op.value.is_string()) w.key("to").string(op.value.as_string());
  w.end_object();
  return w.take();
}

void RecordChanges::add(const sync::Op& op) {
  std::string entry = record_change_entry(op);
  if (entry.empty()) return;
  std::string& list = by_family_[op.family];
  if (!list.empty()) list.push_back(',');
  list += entry;
  ++count_;
}

Result<void> RecordChanges::write(AuditLog& log, int64_t now, const std::string& actor, const std::string& device) {
  for (auto& [family, entries] : by_family_) {
    std::string detail;
    detail.reserve(entries.size() + 16);
    detail += "{\"records\":[";
    detail += entries;
    detail += "]}";
    if (auto a = log.append(AuditEvent{now, actor, device, kRecordChangesAction, family, std::move(detail)}); !a) return a;
  }
  by_family_.clear();
  count_ = 0;
  return {};
}

std::string record_views_detail(const std::vector<sync::protocol::RecordView>& views) {
  JsonWriter w;
  w.begin_object().key("views").begin_array();
  for (const auto& v : views) {
    w.begin_object();
    w.key("type").string(v.type).key("id").string(v.record).key("at").integer(static_cast<int64_t>(v.at_ms));
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace hearth::server
