#include "office_inbound.hpp"

#include "person_merge.hpp"

#include <memory>
#include <nlohmann/json.hpp>

#include "authority_write.hpp"
#include "hearth/core/text.hpp"
#include "hearth/platform/encoding.hpp"
#include "record_values.hpp"
#include "step_up.hpp"

namespace hearth::server {

namespace {

using nlohmann::json;
using sync::protocol::WireError;
using Edits = std::vector<AuthorityEdit>;

constexpr size_t kMaxTextBytes = 1024;  // an office reference or id (Person.office_person_id is a String)
const std::vector<std::string> kStatutory = {"NONE", "CIN_PLAN", "CP_PLAN", "LOOKED_AFTER", "UNKNOWN"};

HttpResponse reply(int status, std::string body) { return HttpResponse{status, std::move(body), "application/json"}; }

HttpResponse fail(WireError code, const std::string& message) {
  return reply(sync::protocol::http_status(code), sync::protocol::encode(sync::protocol::ErrorReply{code, message}));
}

WireError wire_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found: return WireError::not_found;
    case ErrorCode::conflict: return WireError::conflict;
    case ErrorCode::forbidden: return WireError::forbidden;
    case ErrorCode::too_large: return WireError::too_large;
    case ErrorCode::storage:
    case ErrorCode::corrupt: return WireError::server;
    default: return WireError::bad_request;
  }
}

// A string field: required or not; an id (core/text.hpp check_id) or bounded UTF-8 text.
Result<std::string> field(const json& j, const char* key, bool required, bool id) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return make_error(ErrorCode::invalid_argument, std::string(key) + ": required");
    return std::string();
  }
  if (!it->is_string()) return make_error(ErrorCode::invalid_argument, std::string(key) + ": must be a string");
  std::string v = it->get<std::string>();
  if (id) {
    if (auto ok = check_id(key, v); !ok) return ok.error();
  } else {
    if (v.empty()) return make_error(ErrorCode::invalid_argument, std::string(key) + ": must not be empty");
    if (v.size() > kMaxTextBytes)
      return make_error(ErrorCode::invalid_argument,
                        std::string(key) + ": longer than " + std::to_string(kMaxTextBytes) + " bytes");
    if (auto ok = check_utf8(key, v); !ok) return ok.error();
  }
  return v;
}

// The family of `id` as the message gives it, else as the server finds it.
Result<std::string> family_for(ServiceContext& ctx, const std::string& given, const std::string& id, const char* what) {
  if (!given.empty()) return given;
  auto found = family_of_record(ctx, id);
  if (!found && found.error().code == ErrorCode::not_found)
    return make_error(ErrorCode::not_found, std::string(what) + ": no record '" + id + "' is held by the server");
  return found;
}

// A write that sets fields of records of the family, each checked to be a live record of
// the type named.
struct FieldSet {
  std::string record;
  const char* type;
  const char* what;  // the message's field naming the record
  std::string field;
  std::string value;
};

AuthorityWrite set_fields(const std::string& family, const std::string& action, const std::string& detail,
                          std::vector<FieldSet> sets) {
  AuthorityWrite w;
  w.family = family;
  w.author = kOfficeAuthor;
  w.action = action;
  w.detail = detail;
  w.plan = [family, sets = std::move(sets)](ServiceContext&, const sync::Materialiser& m) -> Result<Edits> {
    Edits edits;
    for (const auto& s : sets) {
      const sync::EntityMerge* e = m.entity(s.record);
      if (!e || !e->created() || e->deleted() || e->family() != family || e->def().name != s.type)
        return make_error(ErrorCode::not_found,
                          std::string(s.what) + ": no " + s.type + " '" + s.record + "' in family " + family);
      if (text_of(*e, s.field) == s.value) continue;  // already so: nothing to write
      edits.push_back(AuthorityEdit::set(s.record, s.field, Value(s.value)));
    }
    return edits;
  };
  return w;
}

// A child on a child protection plan: the CP_PLAN_ACTIVE safety marker "from office" (DOMAIN.md
// §3.20), once per person (its id is derived from the person's), reaching every device with access.
AuthorityWrite cp_plan_alert(const std::string& family, const std::string& person, const std::string& via) {
  AuthorityWrite w;
  w.family = family;
  w.author = kOfficeAuthor;
  w.action = "office-alert";
  w.detail = "CP_PLAN_ACTIVE about Person " + person + " via " + via;
  w.plan = [family, person](ServiceContext& ctx, const sync::Materialiser& m) -> Result<Edits> {
    const std::string id = person + "/alert/cp-plan";
    if (m.entity(id)) return Edits{};
    FieldValues f;
    f["subject"] = Value(person);
    f["type"] = Value(std::string("CP_PLAN_ACTIVE"));
    f["severity"] = Value(std::string("HIGH"));
    f["visible_to"] = Value(std::string("ALL_WITH_ACCESS"));
    f["set_by"] = Value(std::string(kOfficeAuthor));
    f["set_at"] = Value(datetime_of(ctx.now()));
    return Edits{AuthorityEdit::create("Alert", id, f)};
  };
  return w;
}

struct Parsed {
  std::string kind;
  std::string family;
  std::vector<AuthorityWrite> writes;
  std::shared_ptr<StepUpDecided> decided;
  std::string merge_keep, merge_away, merge_by, merge_reason;  // person_merge
  std::string message;                           // what the answer says was done
};

Result<Parsed> parse(ServiceContext& ctx, const json& j, const std::string& via) {
  Parsed p;
  auto kind = field(j, "kind", true, true);
  if (!kind) return kind.error();
  p.kind = *kind;
  auto family = field(j, "family", false, true);
  if (!family) return family.error();
  if (p.kind == "step_up_decision") {
    StepUpDecision d;
    for (auto [into, key, required, id] : {std::tuple<std::string*, const char*, bool, bool>{&d.step_up, "step_up", true, true},
                                           {&d.csc_decision, "csc_decision", true, true},
                                           {&d.csc_ref, "csc_ref", false, false},
                                           {&d.decided_at, "decided_at", false, false}}) {
      auto v = field(j, key, required, id);
      if (!v) return v.error();
      *into = std::move(*v);
    }
    d.family = *family;
    d.author = kOfficeAuthor;
    d.via = via;
    p.decided = std::make_shared<StepUpDecided>();
    auto writes = step_up_decision_writes(ctx, d, p.decided);
    if (!writes) return writes.error();
    p.family = p.decided->family;
    p.writes = std::move(*writes);
    p.message = "StepUpRequest " + d.step_up + " decided " + d.csc_decision;
    return p;
  }
  if (p.kind == "statutory_status") {
    auto person = field(j, "person", true, true);
    if (!person) return person.error();
    auto status = field(j, "status", true, true);
    if (!status) return status.error();
    if (std::find(kStatutory.begin(), kStatutory.end(), *status) == kStatutory.end())
      return make_error(ErrorCode::invalid_argument,
                        "status: '" + *status + "' is not a status; use NONE, CIN_PLAN, CP_PLAN, LOOKED_AFTER or UNKNOWN");
    auto fam = family_for(ctx, *family, *person, "person");
    if (!fam) return fam.error();
    p.family = *fam;
    p.writes.push_back(set_fields(p.family, "office-statutory-status",
                                  "Person " + *person + " statutory_status " + *status + " via " + via,
                                  {FieldSet{*person, "Person", "person", "statutory_status", *status}}));
    p.message = "Person " + *person + " statutory_status set to " + *status;
    if (*status == "CP_PLAN") {
      p.writes.push_back(cp_plan_alert(p.family, *person, via));
      p.message += "; alert CP_PLAN_ACTIVE raised";
    }
    return p;
  }
  if (p.kind == "office_ids") {
    std::vector<FieldSet> sets;
    std::string first;
    for (auto [record_key, id_key, type, target] :
         {std::tuple<const char*, const char*, const char*, const char*>{"person", "office_person_id", "Person",
                                                                         "office_person_id"},
          {"episode", "office_episode_id", "EarlyHelpEpisode", "office_episode_id"}}) {
      auto record = field(j, record_key, false, true);
      if (!record) return record.error();
      auto value = field(j, id_key, false, false);
      if (!value) return value.error();
      if (record->empty() != value->empty())
        return make_error(ErrorCode::invalid_argument,
                          std::string(record_key) + " and " + id_key + " go together: give both or neither");
      if (record->empty()) continue;
      if (first.empty()) first = *record;
      sets.push_back(FieldSet{*record, type, record_key, target, *value});
    }
    if (sets.empty())
      return make_error(ErrorCode::invalid_argument,
                        "give person with office_person_id, or episode with office_episode_id, or both");
    auto fam = family_for(ctx, *family, first, sets.front().what);
    if (!fam) return fam.error();
    p.family = *fam;
    std::string named;
    for (const auto& s : sets) named += (named.empty() ? "" : ", ") + std::string(s.type) + " " + s.record + "." + s.field;
    p.writes.push_back(set_fields(p.family, "office-ids", named + " via " + via, std::move(sets)));
    p.message = "office ids recorded on " + named;
    return p;
  }
  if (p.kind == "person_merge") {
    auto keep = field(j, "keep", true, true);
    if (!keep) return keep.error();
    auto away = field(j, "merged_away", true, true);
    if (!away) return away.error();
    auto by = field(j, "by", false, true);
    if (!by) return by.error();
    auto reason = field(j, "reason", false, false);
    if (!reason) return reason.error();
    p.merge_reason = reason->empty() ? "merged at the office system (" + via + ")" : *reason;
    if (*keep == *away) return make_error(ErrorCode::invalid_argument, "merged_away: must differ from keep");
    p.merge_keep = *keep;
    p.merge_away = *away;
    p.merge_by = by->empty() ? std::string(kOfficeAuthor) : *by;
    p.family = *family;
    p.message = "Person " + *away + " merged into " + *keep;
    return p;
  }
  return make_error(ErrorCode::invalid_argument, "kind: '" + p.kind +
                                                     "' is not a message kind; use step_up_decision, statutory_status, "
                                                     "office_ids or person_merge");
}

std::string answer_json(const std::string& message_id, const Parsed& p, const std::vector<std::string>& ops) {
  json a;
  a["message_id"] = message_id;
  a["kind"] = p.kind;
  a["family"] = p.family;
  a["ops"] = ops;
  std::string message = p.message + " (" + std::to_string(ops.size()) + (ops.size() == 1 ? " op" : " ops") + ")";
  if (p.decided && !p.decided->episode.empty())
    message += "; episode " + p.decided->episode + " is " + p.decided->episode_status;
  a["message"] = message + (ops.empty() ? "; nothing needed changing" : "; every team member's tablet receives it at its next sync");
  return a.dump();
}

// An inbound message refused or repeated: a server-chain event naming the credential.
void note(ServiceContext& ctx, const std::string& action, const std::string& family, const std::string& detail) {
  (void)ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, "", action, family, detail});
}

}  // namespace

HttpResponse office_inbound(ServiceContext& ctx, const std::string& body, const std::string& credential,
                            const std::string& remote) {
  if (!is_valid_utf8(body)) return fail(WireError::bad_request, "the body is not valid UTF-8");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(WireError::bad_request, "the body must be a JSON object");
  auto message_id = field(j, "message_id", true, true);
  if (!message_id) return fail(WireError::bad_request, message_id.error().message);
  const std::string hash = platform::sha256_hex(j.dump());  // canonical: sorted keys, no spaces
  const std::string via = "office credential " + credential + " from " + remote + ", message " + *message_id;

  auto seen = ctx.store.office().inbound_message(*message_id);
  if (!seen) return fail(WireError::server, seen.error().message);
  if (*seen) {
    if ((*seen)->body_hash != hash) {
      note(ctx, "office-inbound-refused", "",
                "message " + *message_id + " from " + credential + ": the id was used before with another body");
      return fail(WireError::conflict, "message_id: '" + *message_id +
                                           "' was received before with a different body; a message id names one "
                                           "message: send a new id for a new message");
    }
    note(ctx, "office-inbound-repeat", (*seen)->family, "message " + *message_id + " from " + credential +
                                                                     ": answered as the first time, nothing written");
    return reply(200, (*seen)->answer);
  }

  auto parsed = parse(ctx, j, via);
  if (!parsed) {
    note(ctx, "office-inbound-refused", "", "message " + *message_id + " from " + credential + ": " +
                                                         parsed.error().message);
    return fail(wire_of(parsed.error().code), parsed.error().message);
  }

  std::vector<std::string> ops;
  if (parsed->kind == "person_merge") {
    // The merge writes its own transaction (usecases/person_merge.hpp); the message is kept in a
    // second one, so a stop between the two leaves the merge done and the message unrecorded: a
    // repeat then finds the persons merged already and writes nothing (already_merged).
    auto merged = merge_persons(ctx, parsed->merge_keep, parsed->merge_away, parsed->merge_by, parsed->merge_reason);
    if (!merged) {
      note(ctx, "office-inbound-refused", "", "message " + *message_id + " from " + credential + ": " +
                                                           merged.error().message);
      return fail(wire_of(merged.error().code), merged.error().message);
    }
    ops = merged->ops;
    if (parsed->family.empty() && !merged->families.empty()) parsed->family = merged->families.front();
    InboundMessage m{*message_id, hash, ctx.now(), credential, parsed->family, answer_json(*message_id, *parsed, ops)};
    auto kept = ctx.store.transaction([&]() -> Result<void> {
      if (auto r = ctx.store.office().record_inbound(m); !r) return r.error();
      return ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "office-inbound",
                                                 parsed->family, "person_merge via " + via});
    });
    if (!kept) return fail(WireError::server, kept.error().message);
    return reply(200, m.answer);
  }

  std::string answer;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    for (const auto& w : parsed->writes) {
      auto written = write_as_authority(ctx, w);
      if (!written) return written.error();
      ops.insert(ops.end(), written->begin(), written->end());
    }
    answer = answer_json(*message_id, *parsed, ops);
    auto kept = ctx.store.office().record_inbound(
        InboundMessage{*message_id, hash, ctx.now(), credential, parsed->family, answer});
    if (!kept) return kept.error();
    if (!*kept) return make_error(ErrorCode::conflict, "message_id: '" + *message_id + "' was recorded meanwhile");
    return ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "office-inbound",
                                               parsed->family, parsed->kind + " via " + via + ": " +
                                                                   std::to_string(ops.size()) + " ops"});
  });
  if (!done) {
    ctx.cache.forget(parsed->family);  // it may hold ops the rollback removed
    note(ctx, "office-inbound-refused", "", "message " + *message_id + " from " + credential + ": " +
                                                         done.error().message);
    return fail(wire_of(done.error().code), done.error().message);
  }
  return reply(200, answer);
}

}  // namespace hearth::server
