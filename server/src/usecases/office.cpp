#include "office.hpp"

#include <nlohmann/json.hpp>

#include "hearth/core/text.hpp"
#include "hearth/platform/encoding.hpp"

namespace hearth::server {

namespace {

using nlohmann::json;

// At most this many recipients or purposes in one withdrawal (the schema's lists are short).
constexpr size_t kMaxItems = 64;
// Ids and names are bounded by check_id; free text (the reason) by this.
constexpr size_t kMaxTextBytes = 4096;

Result<std::string> text_field(const json& j, const char* key, bool required, bool id) {
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
    if (v.size() > kMaxTextBytes)
      return make_error(ErrorCode::invalid_argument,
                        std::string(key) + ": longer than " + std::to_string(kMaxTextBytes) + " bytes");
    if (auto ok = check_utf8(key, v); !ok) return ok.error();
  }
  return v;
}

Result<std::vector<std::string>> id_list(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return make_error(ErrorCode::invalid_argument, std::string(key) + ": must be an array of ids");
  if (it->size() > kMaxItems)
    return make_error(ErrorCode::invalid_argument, std::string(key) + ": more than " + std::to_string(kMaxItems) + " items");
  for (const auto& v : *it) {
    if (!v.is_string()) return make_error(ErrorCode::invalid_argument, std::string(key) + ": must be an array of ids");
    std::string s = v.get<std::string>();
    if (auto ok = check_id(key, s); !ok) return ok.error();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<std::string> issue_office_credential(ServiceContext& ctx, const std::string& name) {
  if (auto ok = check_id("--name", name); !ok) return ok.error();
  auto drawn = platform::random_hex(32);
  if (!drawn) return drawn.error();
  std::string token = "office-" + *drawn;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto added = ctx.store.office().issue(name, platform::sha256_hex(token), ctx.now());
    if (!added) return added.error();
    if (!*added)
      return make_error(ErrorCode::conflict, "--name: an office credential named '" + name +
                                                 "' was issued already (revoked or not); choose another name");
    return ctx.store.audit().append(AuditEvent{ctx.now(), "admin", "", "office-credential-issue", "", name});
  });
  if (!done) return done.error();
  return token;
}

Result<void> revoke_office_credential(ServiceContext& ctx, const std::string& name) {
  return ctx.store.transaction([&]() -> Result<void> {
    auto revoked = ctx.store.office().revoke(name, ctx.now());
    if (!revoked) return revoked.error();
    if (!*revoked)
      return make_error(ErrorCode::not_found, "--name: no office credential '" + name + "' in force");
    return ctx.store.audit().append(AuditEvent{ctx.now(), "admin", "", "office-credential-revoke", "", name});
  });
}

Result<OfficeCredential> office_caller(ServiceContext& ctx, const std::string& authorization, const std::string& path,
                                       const std::string& remote) {
  auto refuse = [&](const std::string& audit, const std::string& message) -> Result<OfficeCredential> {
    ctx.audit(nullptr, "denied", "", audit + " on " + path + " from " + remote);
    return make_error(ErrorCode::forbidden, message);
  };
  if (authorization.rfind("Bearer ", 0) != 0 || authorization.size() == 7)
    return refuse("no office credential",
                  "this endpoint needs an office credential (Authorization: Bearer ...) issued by "
                  "`hearth-server office-credential issue`");
  auto found = ctx.store.office().by_token(platform::sha256_hex(authorization.substr(7)));
  if (!found) return found.error();
  if (!*found)
    return refuse("unknown office credential",
                  "unknown office credential (a device's credential is not accepted here)");
  if ((*found)->revoked_at)
    return refuse("revoked office credential '" + (*found)->name + "'",
                  "this office credential has been revoked; ask for a new one");
  return std::move(**found);
}

std::string with_field_names(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    const bool option = message.compare(i, 2, "--") == 0 && i + 2 < message.size() && message[i + 2] >= 'a' &&
                        message[i + 2] <= 'z' && (i == 0 || message[i - 1] == ' ' || message[i - 1] == '(');
    if (!option) {
      out += message[i];
      continue;
    }
    i += 2;
    for (; i < message.size() && ((message[i] >= 'a' && message[i] <= 'z') || message[i] == '-'); ++i)
      out += message[i] == '-' ? '_' : message[i];
    --i;
  }
  return out;
}

Result<Withdrawal> withdrawal_from_json(const std::string& body) {
  if (!is_valid_utf8(body)) return make_error(ErrorCode::invalid_argument, "the body is not valid UTF-8");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::invalid_argument, "the body must be a JSON object");
  Withdrawal w;
  auto take = [&](std::string& into, const char* key, bool required, bool id) -> Result<void> {
    auto v = text_field(j, key, required, id);
    if (!v) return v.error();
    into = std::move(*v);
    return {};
  };
  for (auto [into, key, required, id] :
       {std::tuple<std::string*, const char*, bool, bool>{&w.family, "family", true, true},
        {&w.consent, "consent", true, true},
        {&w.withdrawn_by, "withdrawn_by", true, true},
        {&w.recorded_by, "recorded_by", true, true},
        {&w.channel, "channel", true, true},
        {&w.reason, "reason", false, false},
        {&w.author, "by", false, true}})
    if (auto r = take(*into, key, required, id); !r) return r.error();
  if (w.author.empty()) w.author = kOfficeAuthor;
  auto recipients = id_list(j, "recipients");
  if (!recipients) return recipients.error();
  auto purposes = id_list(j, "purposes");
  if (!purposes) return purposes.error();
  bool full = false;
  if (auto it = j.find("full"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return make_error(ErrorCode::invalid_argument, "full: must be true or false");
    full = it->get<bool>();
  }
  int scopes = (recipients->empty() ? 0 : 1) + (purposes->empty() ? 0 : 1) + (full ? 1 : 0);
  if (scopes != 1)
    return make_error(ErrorCode::invalid_argument, "give exactly one of recipients, purposes or \"full\": true");
  w.scope = full ? Withdrawal::Scope::full
                 : !recipients->empty() ? Withdrawal::Scope::recipients : Withdrawal::Scope::purposes;
  w.items = full ? std::vector<std::string>{} : !recipients->empty() ? *recipients : *purposes;
  return w;
}

}  // namespace hearth::server
