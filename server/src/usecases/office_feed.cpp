#include "office_feed.hpp"

#include <nlohmann/json.hpp>

#include <map>

#include "authority_write.hpp"
#include "hearth/core/text.hpp"

namespace hearth::server {

namespace {

using nlohmann::json;

// The office's id for a record: an id of its own system, at most this long.
constexpr size_t kMaxOfficeRefBytes = 200;

Result<json> object_body(const std::string& body) {
  if (!is_valid_utf8(body)) return make_error(ErrorCode::invalid_argument, "the body is not valid UTF-8");
  if (body.empty()) return json::object();
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::invalid_argument, "the body must be a JSON object");
  return j;
}

Result<int64_t> whole_number(const json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
    return make_error(ErrorCode::invalid_argument,
                      std::string(key) + ": must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  return it->get<int64_t>();
}

// The item as the office reads it: its queued JSON with its feed position and priority.
Result<json> served(const OutboxItem& item) {
  json j = json::parse(item.payload, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::corrupt, "office outbox item " + item.key + ": its payload is not a JSON object");
  j["seq"] = item.seq;
  j["priority"] = item.priority;
  return j;
}

}  // namespace

Result<bool> store_office_ref(ServiceContext& ctx, const OutboxItem& item, const std::string& office_ref,
                              const std::string& by) {
  if (office_ref.empty()) return false;
  if (office_ref.size() > kMaxOfficeRefBytes)
    return make_error(ErrorCode::invalid_argument, "office_ref: longer than " + std::to_string(kMaxOfficeRefBytes) + " bytes");
  if (auto ok = check_utf8("office_ref", office_ref); !ok) return ok.error();
  return ctx.store.outbox().set_office_ref(OfficeRef{item.record, item.family, office_ref, item.revision, ctx.now(), by});
}

Result<std::string> office_feed_page(ServiceContext& ctx, const std::string& office, const std::string& body) {
  auto j = object_body(body);
  if (!j) return j.error();
  auto after = whole_number(*j, "after", 0, 0, INT64_MAX);
  if (!after) return after.error();
  auto limit = whole_number(*j, "limit", kFeedDefaultLimit, 1, kFeedMaxLimit);
  if (!limit) return limit.error();
  json reply;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto records = ctx.store.outbox().after(*after, static_cast<size_t>(*limit), false);
    if (!records) return records.error();
    auto packages = ctx.store.outbox().unacknowledged_packages(static_cast<size_t>(*limit));
    if (!packages) return packages.error();
    json items = json::array(), priority = json::array();
    std::map<std::string, std::vector<std::string>> by_family;  // family -> keys served
    auto serve = [&](const OutboxItem& item, json& into) -> Result<void> {
      auto j_item = served(item);
      if (!j_item) return j_item.error();
      into.push_back(std::move(*j_item));
      if (auto r = ctx.store.outbox().mark_served(item.seq, ctx.now()); !r) return r;
      auto added = ctx.store.outbox().disclose(
          OfficeDisclosure{0, ctx.now(), item.family, item.record, item.type, item.revision, item.kind, office, "pull", item.seq});
      if (!added) return added.error();
      if (*added) by_family[item.family].push_back(item.key);
      return {};
    };
    for (const auto& p : *packages)
      if (auto r = serve(p, priority); !r) return r;
    for (const auto& i : *records)
      if (auto r = serve(i, items); !r) return r;
    for (const auto& [family, keys] : by_family) {
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
      if (auto r = ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, "", "office-disclosed", family,
                                                       std::to_string(keys.size()) + " items read by office credential " +
                                                           office + " through the pull feed: " + list});
          !r)
        return r;
    }
    reply["items"] = std::move(items);
    reply["priority"] = std::move(priority);
    reply["next_cursor"] = records->empty() ? *after : records->back().seq;
    reply["more"] = records->size() == static_cast<size_t>(*limit);
    return {};
  });
  if (!done) return done.error();
  return reply.dump();
}

Result<std::string> office_feed_ack(ServiceContext& ctx, const std::string& office, const std::string& body) {
  auto j = object_body(body);
  if (!j) return j.error();
  auto acks = j->find("acks");
  if (acks == j->end() || !acks->is_array() || acks->empty())
    return make_error(ErrorCode::invalid_argument, "acks: required, an array of {\"key\", \"office_ref\"?}");
  if (acks->size() > kAckMaxItems)
    return make_error(ErrorCode::invalid_argument, "acks: more than " + std::to_string(kAckMaxItems) + " items");
  struct Ack {
    std::string key, office_ref;
  };
  std::vector<Ack> wanted;
  for (size_t i = 0; i < acks->size(); ++i) {
    const json& a = (*acks)[i];
    const std::string where = "acks[" + std::to_string(i) + "]";
    if (!a.is_object() || !a.contains("key") || !a["key"].is_string())
      return make_error(ErrorCode::invalid_argument, where + ".key: required, the item's key (\"record:revision\")");
    Ack ack{a["key"].get<std::string>(), ""};
    if (ack.key.empty() || ack.key.size() > 512)
      return make_error(ErrorCode::invalid_argument, where + ".key: must be 1 to 512 bytes");
    if (auto it = a.find("office_ref"); it != a.end() && !it->is_null()) {
      if (!it->is_string()) return make_error(ErrorCode::invalid_argument, where + ".office_ref: must be a string");
      ack.office_ref = it->get<std::string>();
      if (ack.office_ref.size() > kMaxOfficeRefBytes)
        return make_error(ErrorCode::invalid_argument,
                          where + ".office_ref: longer than " + std::to_string(kMaxOfficeRefBytes) + " bytes");
    }
    wanted.push_back(std::move(ack));
  }
  json results = json::array();
  auto done = ctx.store.transaction([&]() -> Result<void> {
    std::map<std::string, std::vector<std::string>> by_family;
    for (const auto& ack : wanted) {
      auto item = ctx.store.outbox().by_key(ack.key);
      if (!item) return item.error();
      if (!*item) {
        results.push_back({{"key", ack.key}, {"status", "unknown"}, {"office_ref_stored", false}});
        continue;
      }
      auto fresh = ctx.store.outbox().mark_acked((*item)->seq, ctx.now());
      if (!fresh) return fresh.error();
      auto stored = store_office_ref(ctx, **item, ack.office_ref, office);
      if (!stored) return stored.error();
      results.push_back({{"key", ack.key}, {"status", *fresh ? "acknowledged" : "already"}, {"office_ref_stored", *stored}});
      if (*fresh || *stored)
        by_family[(*item)->family].push_back(ack.key + (*stored ? " (office id stored)" : ""));
    }
    for (const auto& [family, keys] : by_family) {
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
      if (auto r = ctx.store.audit().append(
              AuditEvent{ctx.now(), kOfficeAuthor, "", "office-ack", family, "acknowledged by office credential " + office + ": " + list});
          !r)
        return r;
    }
    return {};
  });
  if (!done) return done.error();
  return json{{"results", results}}.dump();
}

}  // namespace hearth::server
