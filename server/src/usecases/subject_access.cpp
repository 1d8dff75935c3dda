#include "subject_access.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"

namespace hearth::server::sar {

using json = Json;

namespace {

constexpr const char* kWithheldMarker = "[withheld: S2 P3 rights of others]";

// Rule 2: the informant's identity (DOMAIN.md §3.7 referrer "T1/3P", §5 T2 "informant/referrer
// identity", Golden Rule 5). Alert.set_by is the professional who recorded the alert, so it
// stays (§10.2: professionals' names are not withheld); an Alert's subject is handled by rule 4.
bool is_informant_field(const std::string& type, const std::string& field) {
  return type == "Referral" && (field == "referrer" || field == "referrer_details");
}

// Rule 6: social-work data (DOMAIN.md §5 SW; Sch 3 Pt 3 para 11): safeguarding concerns and
// social care's involvement, whose disclosure the IG officer weighs for serious harm.
// Contact.narrative is SW (§3.14) when the contact raised a concern or was escalated.
bool is_social_work_field(const std::string& type, const std::string& field, const json& fields) {
  static const std::map<std::string, std::set<std::string>> table = {
      {"StepUpRequest", {"reason", "significant_harm", "consent_position", "csc_decision", "csc_ref"}},
      {"StepDownReceipt", {"from_csc_ref", "csc_plan_type"}},
      {"Referral", {"significant_harm_suspected"}},
      {"Assessment", {"significant_harm_indicated"}},
      {"Person", {"statutory_status"}},
      {"InformationSharingDecision", {"risk_description", "necessity_proportionality"}},
      {"Alert", {"note"}},
  };
  if (type == "Contact" && field == "narrative") {
    bool concern = fields.contains("concern_raised") && fields["concern_raised"] == true;
    return concern || fields.contains("escalation");
  }
  auto it = table.find(type);
  return it != table.end() && it->second.count(field) > 0;
}

std::string lower_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool word_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || u >= 0x80 || c == '_';
}

// Whether `text` holds `name` (lower case) as a whole word written as a name: its first letter
// a capital, so a person called May or Will is found in "May said" but not in "it may rain".
// `low` is `text` in lower case.
bool names(const std::string& text, const std::string& low, const std::string& name) {
  for (size_t at = low.find(name); at != std::string::npos; at = low.find(name, at + 1)) {
    bool start = at == 0 || !word_char(low[at - 1]);
    size_t end = at + name.size();
    bool stop = end >= low.size() || !word_char(low[end]);
    auto first = static_cast<unsigned char>(text[at]);
    bool capital = !std::isalpha(first) || std::isupper(first);
    if (start && stop && capital) return true;
  }
  return false;
}

// Splits words of a name ("Mary-Jane Smith" -> "mary-jane", "smith"): a person is named by any
// word of her names of two letters or more.
void add_name_words(const std::string& name, std::set<std::string>& out) {
  std::istringstream in(name);
  std::string word;
  while (in >> word)
    if (word.size() >= 2) out.insert(lower_ascii(word));
}

struct Others {
  std::set<std::string> ids;    // other people's Person ids
  std::set<std::string> words;  // words that name them
};

// Rule 5: replaces each sentence of `text` that names another person, by a name or by her id
// (a task's detail names records by id). Returns the passages replaced.
int redact_sentences(std::string& text, const Others& others) {
  if (others.words.empty() && others.ids.empty()) return 0;
  std::string out;
  int replaced = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of(".!?\n", start);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string sentence = text.substr(start, end - start);
    std::string low = lower_ascii(sentence);
    bool hit = std::any_of(others.words.begin(), others.words.end(), [&](const std::string& w) { return names(sentence, low, w); }) ||
               std::any_of(others.ids.begin(), others.ids.end(),
                           [&](const std::string& id) { return sentence.find(id) != std::string::npos; });
    if (hit) {
      size_t lead = sentence.find_first_not_of(" \t");
      out += sentence.substr(0, lead == std::string::npos ? 0 : lead);
      out += kWithheldMarker;
      if (!sentence.empty() && sentence.back() == '\n') out += '\n';
      ++replaced;
    } else {
      out += sentence;
    }
    start = end;
  }
  if (replaced) text = out;
  return replaced;
}

struct Cleaned {
  bool drop = false;  // the whole value goes (it was another person's id)
  int ids_removed = 0;
  int passages = 0;
};

// Rules 4 and 5 on one value (a field's value or one of its concurrent values).
Cleaned clean_value(json& v, bool free_text, const Others& others) {
  Cleaned c;
  if (v.is_string()) {
    if (others.ids.count(v.get<std::string>())) {
      c.drop = true;
      c.ids_removed = 1;
      return c;
    }
    if (free_text) {
      auto s = v.get<std::string>();
      c.passages = redact_sentences(s, others);
      if (c.passages) v = s;
    }
    return c;
  }
  if (v.is_array()) {
    json kept = json::array();
    for (auto& e : v) {
      Cleaned inner = clean_value(e, free_text, others);
      c.ids_removed += inner.ids_removed;
      c.passages += inner.passages;
      if (!inner.drop) kept.push_back(e);
    }
    v = std::move(kept);
  }
  return c;
}

bool is_free_text(const FieldDef* def) {
  return def && (def->type == FieldType::Text || def->type == FieldType::String || def->type == FieldType::StringSet);
}

std::string date_of(int64_t ms) { return ms > 0 ? civil::format_datetime_seconds(ms) : std::string(); }

}  // namespace

std::optional<Requester> parse_requester(const std::string& text) {
  if (text == "SELF") return Requester::self;
  if (text == "PARENT") return Requester::parent;
  if (text == "REPRESENTATIVE") return Requester::representative;
  return std::nullopt;
}

const char* to_string(Requester r) {
  switch (r) {
    case Requester::self: return "SELF";
    case Requester::parent: return "PARENT";
    case Requester::representative: return "REPRESENTATIVE";
  }
  return "SELF";
}

Result<std::string> add_months(const std::string& date, int months) {
  auto ymd = date.size() == 10 ? civil::parse_date(date) : std::nullopt;
  if (!ymd || civil::format_date(civil::days_from_civil(ymd->y, ymd->m, ymd->d)) != date)
    return make_error(ErrorCode::invalid_argument, "'" + date + "' is not a date (YYYY-MM-DD)");
  int64_t index = ymd->y * 12 + (ymd->m - 1) + months;
  int64_t y = index / 12, m = index % 12 + 1;
  int64_t first = civil::days_from_civil(y, m, 1);
  int64_t next = m == 12 ? civil::days_from_civil(y + 1, 1, 1) : civil::days_from_civil(y, m + 1, 1);
  int64_t day = std::min<int64_t>(ymd->d, next - first);
  return civil::format_date(first + day - 1);
}

Result<DueDates> due_dates(const std::string& received, const TenantConfig* calendar) {
  auto due = add_months(received, 1);
  if (!due) return make_error(ErrorCode::invalid_argument, "--received: " + due.error().message);
  auto extended = add_months(received, 3);
  if (!extended) return extended.error();
  DueDates dates{*due, *extended, *due};
  if (calendar) {
    auto ymd = civil::parse_date(*due);
    int64_t day = civil::days_from_civil(ymd->y, ymd->m, ymd->d);
    // Bounded: a calendar with no working day at all leaves the statutory date.
    for (int step = 0; step < 31 && !calendar->is_working_day(day); ++step) ++day;
    if (calendar->is_working_day(day)) dates.respond_by = civil::format_date(day);
  }
  return dates;
}

const char* to_string(DeviceSync::State s) {
  switch (s) {
    case DeviceSync::State::synced: return "SYNCED";
    case DeviceSync::State::lost_or_wiped: return "LOST_OR_WIPED";
    case DeviceSync::State::not_synced: return "NOT_SYNCED";
  }
  return "NOT_SYNCED";
}

bool SyncCheck::complete() const {
  return std::none_of(devices.begin(), devices.end(),
                      [](const DeviceSync& d) { return d.state == DeviceSync::State::not_synced; });
}

std::vector<std::string> SyncCheck::not_synced() const {
  std::vector<std::string> out;
  for (const auto& d : devices)
    if (d.state == DeviceSync::State::not_synced) out.push_back(d.device);
  return out;
}

SyncCheck check_sync(const std::vector<DeviceRecord>& devices, const std::vector<std::string>& practitioners,
                     int64_t logged_at) {
  SyncCheck check;
  check.logged_at = logged_at;
  std::set<std::string> team(practitioners.begin(), practitioners.end());
  for (const auto& d : devices) {
    if (!team.count(d.practitioner)) continue;
    DeviceSync s{d.id, d.practitioner, d.last_pull_at, DeviceSync::State::not_synced};
    if (d.revoked || d.wipe_requested_at != 0) s.state = DeviceSync::State::lost_or_wiped;
    else if (d.last_pull_at != 0 && d.last_pull_at >= logged_at) s.state = DeviceSync::State::synced;
    check.devices.push_back(std::move(s));
  }
  std::sort(check.devices.begin(), check.devices.end(),
            [](const DeviceSync& a, const DeviceSync& b) { return a.device < b.device; });
  return check;
}

Result<PersonRecords> read_person_records(RecordStore& store, const std::string& person) {
  PersonRecords in;
  auto self = store.get(person);
  if (!self) return self.error();
  if (!*self || (*self)->type != "Person" || (*self)->deleted)
    return make_error(ErrorCode::not_found, "no Person record '" + person + "' is held on the server");
  RecordQuery q;
  q.person = person;
  q.family_wide = true;
  std::set<std::string> families;
  auto read = store.scan(q, [&](const StoredRecord& r) -> Result<bool> {
    families.insert(r.family);
    in.records.push_back(r);
    return true;
  });
  if (!read) return read.error();
  for (const auto& f : families) {
    RecordQuery people;
    people.type = "Person";
    people.family = f;
    auto got = store.scan(people, [&](const StoredRecord& r) -> Result<bool> {
      in.family_people.push_back(r);
      return true;
    });
    if (!got) return got.error();
  }
  return in;
}

Result<SarDocument> build_document(const Schema& schema, const SarRequest& request, const PersonRecords& in,
                                   const SyncCheck& sync) {
  SarDocument doc;
  doc.request = request;
  doc.sync = sync;
  auto dates = due_dates(request.received, request.calendar ? &*request.calendar : nullptr);
  if (!dates) return dates.error();
  doc.dates = *dates;

  auto parse = [](const StoredRecord& r) -> Result<json> {
    auto j = json::parse(r.json, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return make_error(ErrorCode::corrupt, "record " + r.id + " (" + r.type + ") is not a JSON object");
    return j;
  };

  // The subject's names and the other people of her families.
  std::optional<json> subject;
  std::vector<std::pair<std::string, json>> people;
  for (const auto* list : {&in.family_people, &in.records})
    for (const auto& r : *list) {
      if (r.type != "Person" || r.deleted) continue;
      auto j = parse(r);
      if (!j) return j.error();
      if (r.id == request.person) subject = *j;
      else people.emplace_back(r.id, *j);
    }
  if (!subject) return make_error(ErrorCode::not_found, "no Person record '" + request.person + "' is held on the server");
  // A rendered record's fields (an empty object when it has none).
  auto fields_of = [](const json& p) -> const json& {
    static const json none = json::object();
    auto it = p.find("fields");
    return it != p.end() && it->is_object() ? *it : none;
  };
  auto name_of = [&](const json& p, const char* field) {
    const json& f = fields_of(p);
    auto it = f.find(field);
    return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string own_family_name = lower_ascii(name_of(*subject, "family_name"));
  std::set<std::string> own_words;
  add_name_words(name_of(*subject, "given_names"), own_words);
  add_name_words(name_of(*subject, "family_name"), own_words);
  Others others;
  for (const auto& [id, p] : people) {
    others.ids.insert(id);
    std::set<std::string> words;
    add_name_words(name_of(p, "given_names"), words);
    if (lower_ascii(name_of(p, "family_name")) != own_family_name) add_name_words(name_of(p, "family_name"), words);
    const json& f = fields_of(p);
    if (f.contains("other_names") && f["other_names"].is_array())
      for (const auto& n : f["other_names"])
        if (n.is_string()) add_name_words(n.get<std::string>(), words);
    // A word the subject's own names share (a common family name) would redact her own text.
    for (const auto& w : words)
      if (!own_words.count(w)) others.words.insert(w);
  }

  std::set<std::string> families;
  for (const auto& r : in.records) {
    if (r.deleted) continue;
    bool about_her = r.persons.empty() ||
                     std::find(r.persons.begin(), r.persons.end(), request.person) != r.persons.end();
    if (!about_her) {  // rule 1
      doc.redactions.push_back({r.id, r.type, "*", kRightsOfOthers, "a record about other people only", 0});
      continue;
    }
    auto j = parse(r);
    if (!j) return j.error();
    families.insert(r.family);
    const EntityDef* def = schema.entity(r.type);
    DisclosedRecord out{r.id, r.type, r.family, r.occurred, json::object(), json::object(), {}};
    json fields = (*j)["fields"].is_object() ? (*j)["fields"] : json::object();
    json multi = (*j)["multi"].is_object() ? (*j)["multi"] : json::object();
    const bool child_confidential = r.type == "ChildVoice" && fields.contains("child_confidential") &&
                                    fields["child_confidential"] == true;
    for (auto& [name, value] : fields.items()) {
      const FieldDef* fd = def ? def->field(name) : nullptr;
      if (is_informant_field(r.type, name)) {  // rule 2
        doc.redactions.push_back({r.id, r.type, name, kRightsOfOthers, "the informant's identity", 0});
        continue;
      }
      if (child_confidential && name == "views_wishes_feelings" && request.requester != Requester::self) {  // rule 3
        doc.redactions.push_back({r.id, r.type, name, kChildConfidential,
                                  "the child asked that these views are not shared with parents (DOMAIN.md §6.6)", 0});
        continue;
      }
      // Rules 4 and 5 on the value and on each concurrent value.
      json v = value;
      Cleaned c = clean_value(v, is_free_text(fd), others);
      json m = multi.contains(name) ? multi[name] : json();
      Cleaned cm;
      if (m.is_array()) {
        json kept = json::array();
        for (auto& e : m) {
          Cleaned one = clean_value(e, is_free_text(fd), others);
          cm.ids_removed += one.ids_removed;
          cm.passages += one.passages;
          if (!one.drop) kept.push_back(e);
        }
        m = std::move(kept);
      }
      if (c.ids_removed + cm.ids_removed > 0)
        doc.redactions.push_back({r.id, r.type, name, kRightsOfOthers,
                                  std::to_string(c.ids_removed + cm.ids_removed) + " reference(s) to another person", 0});
      if (c.passages + cm.passages > 0)
        doc.redactions.push_back({r.id, r.type, name, kRightsOfOthers, "passages naming another person",
                                  c.passages + cm.passages});
      if (!c.drop) out.fields[name] = v;
      if (m.is_array() && !m.empty()) out.multi[name] = m;
      if ((!c.drop || out.multi.contains(name)) && is_social_work_field(r.type, name, fields)) {  // rule 6
        out.flagged.push_back(name);
        doc.harm_flags.push_back({r.id, r.type, name, kSocialCareHarm,
                                  "social-work data: the IG officer decides whether disclosure would be likely to "
                                  "cause serious harm (DPA 2018 Sch 3 Pt 3 para 11)", 0});
      }
    }
    doc.records.push_back(std::move(out));
  }
  doc.families.assign(families.begin(), families.end());
  std::sort(doc.records.begin(), doc.records.end(), [](const DisclosedRecord& a, const DisclosedRecord& b) {
    return std::tie(a.type, a.occurred, a.id) < std::tie(b.type, b.occurred, b.id);
  });
  return doc;
}

namespace {

json redaction_json(const Redaction& r) {
  json j = {{"record", r.record}, {"type", r.type}, {"field", r.field}, {"code", r.code}, {"reason", r.reason}};
  if (r.passages) j["passages"] = r.passages;
  return j;
}

std::string sync_statement(const SarDocument& doc) {
  const auto& s = doc.sync;
  std::string logged = date_of(s.logged_at);
  if (s.complete()) {
    size_t lost = static_cast<size_t>(std::count_if(s.devices.begin(), s.devices.end(), [](const DeviceSync& d) {
      return d.state == DeviceSync::State::lost_or_wiped;
    }));
    return "Sync complete: every device holding the person's families (" + std::to_string(s.devices.size()) +
           ", of which " + std::to_string(lost) + " declared lost or wiped) has synced since the request was logged at " +
           logged + ", so this export holds every record from every device.";
  }
  std::string list;
  for (const auto& d : s.not_synced()) list += (list.empty() ? "" : ", ") + d;
  return "INCOMPLETE: these devices have not synced since the request was logged at " + logged +
         " and may hold records not in this export: " + list + ". Produce the export again once they have synced.";
}

}  // namespace

json to_json(const SarDocument& doc) {
  json j;
  j["format"] = "hearth-sar/1";
  j["person"] = doc.request.person;
  j["requester_type"] = to_string(doc.request.requester);
  j["received"] = doc.request.received;
  j["due"] = doc.dates.due;
  j["extended_due"] = doc.dates.extended;
  j["respond_by"] = doc.dates.respond_by;
  j["produced_at"] = date_of(doc.request.now_ms);
  j["produced_by"] = doc.request.by;
  j["complete"] = doc.sync.complete();
  j["status"] = !doc.sync.complete() ? "INCOMPLETE" : doc.harm_flags.empty() ? "READY_FOR_REVIEW" : "AWAITING_HARM_DECISIONS";
  json devices = json::array();
  for (const auto& d : doc.sync.devices)
    devices.push_back({{"device", d.device}, {"practitioner", d.practitioner}, {"state", to_string(d.state)},
                       {"last_sync_at", d.last_sync_at ? json(date_of(d.last_sync_at)) : json(nullptr)}});
  j["sync"] = {{"complete", doc.sync.complete()}, {"logged_at", date_of(doc.sync.logged_at)},
               {"devices", devices}, {"not_synced", doc.sync.not_synced()}, {"statement", sync_statement(doc)}};
  j["families"] = doc.families;
  json records = json::array();
  for (const auto& r : doc.records)
    records.push_back({{"id", r.id}, {"type", r.type}, {"family", r.family}, {"occurred", r.occurred},
                       {"fields", r.fields}, {"multi", r.multi}, {"harm_test", r.flagged}});
  j["records"] = records;
  json red = json::array(), flags = json::array();
  for (const auto& r : doc.redactions) red.push_back(redaction_json(r));
  for (const auto& r : doc.harm_flags) {
    json f = redaction_json(r);
    f["decision"] = "PENDING_IG_DECISION";
    flags.push_back(f);
  }
  j["redactions"] = red;
  j["harm_test_flags"] = flags;
  j["counts"] = {{"records", doc.records.size()}, {"redactions", doc.redactions.size()}, {"harm_test_flags", doc.harm_flags.size()}};
  return j;
}

std::string html_escape(const std::string& text) { return hearth::html_escape(text); }

namespace {

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ", ") + value_text(e);
    return s;
  }
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace

std::string to_html(const SarDocument& doc) {
  auto e = html_escape;
  std::multimap<std::string, const Redaction*> withheld;
  for (const auto& r : doc.redactions) withheld.emplace(r.record, &r);
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    << "<title>Subject access request " << e(doc.request.person) << "</title><style>"
    << "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
    << "table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #bbb;padding:.3em;"
    << "text-align:left;vertical-align:top}th{background:#eee}.withheld{color:#900}.flag{background:#fff3cd}"
    << ".incomplete{border:2px solid #900;padding:.5em}.complete{border:2px solid #070;padding:.5em}"
    << "td.v{white-space:pre-wrap}</style></head><body>\n";
  h << "<h1>Subject access request</h1>\n<table id=\"summary\">"
    << "<tr><th>Person</th><td>" << e(doc.request.person) << "</td></tr>"
    << "<tr><th>Requester</th><td>" << to_string(doc.request.requester) << "</td></tr>"
    << "<tr><th>Received</th><td>" << e(doc.request.received) << "</td></tr>"
    << "<tr><th>Due (one month)</th><td id=\"due\">" << e(doc.dates.due) << "</td></tr>"
    << "<tr><th>Respond by (the due date, or the next working day)</th><td id=\"respond-by\">"
    << e(doc.dates.respond_by) << "</td></tr>"
    << "<tr><th>Extended due date (two further months, if complex; tell the requester within the first month)</th>"
    << "<td id=\"extended-due\">" << e(doc.dates.extended) << "</td></tr>"
    << "<tr><th>Produced</th><td>" << e(date_of(doc.request.now_ms)) << " by " << e(doc.request.by) << "</td></tr>"
    << "<tr><th>Families</th><td>" << e(value_text(json(doc.families))) << "</td></tr>"
    << "<tr><th>Records disclosed</th><td>" << doc.records.size() << "</td></tr></table>\n";
  h << "<h2>Sync-complete statement</h2>\n<p id=\"sync\" class=\"" << (doc.sync.complete() ? "complete" : "incomplete")
    << "\">" << e(sync_statement(doc)) << "</p>\n";
  if (!doc.sync.devices.empty()) {
    h << "<table id=\"devices\"><tr><th>Device</th><th>Practitioner</th><th>State</th><th>Last sync</th></tr>";
    for (const auto& d : doc.sync.devices)
      h << "<tr><td>" << e(d.device) << "</td><td>" << e(d.practitioner) << "</td><td>" << to_string(d.state)
        << "</td><td>" << e(d.last_sync_at ? date_of(d.last_sync_at) : "never") << "</td></tr>";
    h << "</table>\n";
  }
  if (!doc.harm_flags.empty())
    h << "<p class=\"flag\">" << doc.harm_flags.size()
      << " item(s) are social-work data flagged for the serious-harm test (" << kSocialCareHarm
      << "): the IG officer decides on each before this document is released.</p>\n";

  std::string type;
  for (const auto& r : doc.records) {
    if (r.type != type) {
      if (!type.empty()) h << "</section>\n";
      type = r.type;
      h << "<section class=\"type\"><h2>" << e(type) << "</h2>\n";
    }
    h << "<h3>" << e(r.type) << " " << e(r.id) << (r.occurred.empty() ? "" : " (" + e(r.occurred) + ")") << "</h3>\n"
      << "<table class=\"record\"><tr><th>Field</th><th>Value</th></tr>";
    auto [lo, hi] = withheld.equal_range(r.id);
    for (const auto& [name, value] : r.fields.items()) {
      bool flagged = std::find(r.flagged.begin(), r.flagged.end(), name) != r.flagged.end();
      h << "<tr" << (flagged ? " class=\"flag\"" : "") << "><td>" << e(name) << "</td><td class=\"v\">"
        << e(value_text(value));
      if (r.multi.contains(name)) h << "\n(concurrent values: " << e(value_text(r.multi[name])) << ")";
      for (auto it = lo; it != hi; ++it)
        if (it->second->field == name && it->second->passages == 0)
          h << "\n<span class=\"withheld\">[part withheld: " << e(it->second->code) << "]</span>";
      if (flagged) h << "\n[serious-harm test: " << kSocialCareHarm << ", IG decision pending]";
      h << "</td></tr>";
    }
    for (auto it = lo; it != hi; ++it)
      if (!r.fields.contains(it->second->field))
        h << "<tr class=\"withheld\"><td>" << e(it->second->field) << "</td><td>[withheld: " << e(it->second->code)
          << "]</td></tr>";
    h << "</table>\n";
  }
  if (!type.empty()) h << "</section>\n";

  h << "<h2>Redaction schedule</h2>\n<table id=\"redactions\"><tr><th>Record</th><th>Type</th><th>Field</th>"
    << "<th>Exemption</th><th>Reason</th></tr>";
  for (const auto& r : doc.redactions)
    h << "<tr><td>" << e(r.record) << "</td><td>" << e(r.type) << "</td><td>" << e(r.field) << "</td><td>" << e(r.code)
      << "</td><td>" << e(r.reason) << (r.passages ? " (" + std::to_string(r.passages) + ")" : "") << "</td></tr>";
  h << "</table>\n<h2>Serious-harm test</h2>\n<table id=\"harm-flags\"><tr><th>Record</th><th>Type</th><th>Field</th>"
    << "<th>Exemption</th><th>Decision</th></tr>";
  for (const auto& r : doc.harm_flags)
    h << "<tr><td>" << e(r.record) << "</td><td>" << e(r.type) << "</td><td>" << e(r.field) << "</td><td>" << e(r.code)
      << "</td><td>pending: the IG officer's decision</td></tr>";
  h << "</table>\n</body></html>\n";
  return h.str();
}

std::string audit_detail(const SarDocument& doc) {
  std::map<std::string, int> by_code;
  for (const auto& r : doc.redactions) ++by_code[r.code];
  std::string codes;
  for (const auto& [code, n] : by_code) codes += (codes.empty() ? "" : ", ") + code + " x" + std::to_string(n);
  std::string detail = "subject access: person " + doc.request.person + ", requester " + to_string(doc.request.requester) +
                       ", received " + doc.request.received + ", due " + doc.dates.due + " (extended " +
                       doc.dates.extended + "); " + std::to_string(doc.records.size()) + " records disclosed, " +
                       std::to_string(doc.redactions.size()) + " redactions" + (codes.empty() ? "" : " (" + codes + ")") +
                       ", " + std::to_string(doc.harm_flags.size()) + " flagged for the serious-harm test; sync ";
  if (doc.sync.complete()) return detail + "complete";
  std::string list;
  for (const auto& d : doc.sync.not_synced()) list += (list.empty() ? "" : " ") + d;
  return detail + "INCOMPLETE, not synced: " + list;
}

}  // namespace hearth::server::sar
