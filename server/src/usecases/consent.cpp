#include "consent.hpp"

#include <algorithm>

#include "record_values.hpp"

namespace hearth::server {

namespace {

using Edits = std::vector<AuthorityEdit>;

const sync::EntityMerge* live(const sync::Materialiser& m, const std::string& family, const std::string& id,
                              const std::string& type) {
  const sync::EntityMerge* e = m.entity(id);
  if (!e || !e->created() || e->deleted() || e->family() != family || e->def().name != type) return nullptr;
  return e;
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

// An enum value of ConsentRecord.`field`, or an error naming `option` and the allowed values.
Result<void> require_value(const EntityDef& consent, const std::string& field, const std::string& option,
                           const std::string& value) {
  const FieldDef* f = consent.field(field);
  if (!f) return make_error(ErrorCode::invalid_argument, "this server's schema has no ConsentRecord." + field);
  if (f->allows(value)) return {};
  return make_error(ErrorCode::invalid_argument,
                    option + " '" + value + "' is not defined; use one of: " + joined(f->values));
}

bool holds(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

const char* scope_name(Withdrawal::Scope s) {
  switch (s) {
    case Withdrawal::Scope::full: return "FULL";
    case Withdrawal::Scope::purposes: return "PURPOSES";
    case Withdrawal::Scope::recipients: return "RECIPIENTS";
  }
  return "FULL";
}

std::string person_label(const sync::Materialiser& m, const std::string& family, const std::string& id) {
  const sync::EntityMerge* p = live(m, family, id, "Person");
  if (!p) return id;
  return id + " (" + text_of(*p, "given_names") + " " + text_of(*p, "family_name") + ")";
}

}  // namespace

AuthorityWrite consent_withdrawal(const Withdrawal& w) {
  AuthorityWrite out;
  out.family = w.family;
  out.author = w.author;
  out.action = "consent-withdraw";
  out.detail = std::string(scope_name(w.scope)) + " withdrawal of consent " + w.consent +
               (w.items.empty() ? "" : " for " + joined(w.items)) + " by " + w.withdrawn_by + ", recorded by " +
               w.recorded_by + " (" + w.channel + ")";
  out.plan = [w](ServiceContext& ctx, const sync::Materialiser& m) -> Result<Edits> {
    if (m.entities(w.family).empty())
      return make_error(ErrorCode::not_found, "--family: this server holds no records of family '" + w.family + "'");
    const sync::EntityMerge* consent = live(m, w.family, w.consent, "ConsentRecord");
    if (!consent)
      return make_error(ErrorCode::not_found,
                        "--consent: no consent record '" + w.consent + "' in family '" + w.family + "'");
    const EntityDef& def = consent->def();
    if (!live(m, w.family, w.withdrawn_by, "Person"))
      return make_error(ErrorCode::not_found,
                        "--withdrawn-by: no person '" + w.withdrawn_by + "' in family '" + w.family + "'");
    // Who may withdraw (DOMAIN.md §6.4, §6.6): the person who gave the consent, or a person it
    // covers (a competent child withdrawing what a parent agreed for her). A parent cannot
    // withdraw what a competent child decided for herself.
    if (w.withdrawn_by != text_of(*consent, "given_by") && !holds(list_of(*consent, "covers_persons"), w.withdrawn_by))
      return make_error(ErrorCode::invalid_argument,
                        "--withdrawn-by: " + w.withdrawn_by + " neither gave consent record '" + w.consent +
                            "' (given by " + text_of(*consent, "given_by") + ") nor is covered by it (DOMAIN.md §6.4)");
    auto known = ctx.store.caseload().practitioner_exists(w.recorded_by);
    if (!known) return known.error();
    if (!*known) return make_error(ErrorCode::not_found, "--recorded-by: no practitioner '" + w.recorded_by + "'");
    if (auto ok = require_value(def, "withdrawal_channel", "--channel", w.channel); !ok) return ok.error();
    if (text_of(*consent, "status") == "WITHDRAWN")
      return make_error(ErrorCode::conflict, "consent record '" + w.consent + "' is already withdrawn in full");

    const std::string id = w.consent;
    Edits edits;
    if (w.scope != Withdrawal::Scope::full) {
      bool recipients = w.scope == Withdrawal::Scope::recipients;
      const std::string option = recipients ? "--recipients" : "--purposes";
      const std::string field = recipients ? "withdrawn_recipients" : "withdrawn_purposes";
      if (w.items.empty()) return make_error(ErrorCode::invalid_argument, option + ": give at least one");
      auto already = list_of(*consent, field);
      for (const auto& item : w.items) {
        if (recipients) {
          auto org = ctx.store.caseload().organisation_exists(item);
          if (!org) return org.error();
          if (!*org) return make_error(ErrorCode::not_found, "--recipients: no organisation '" + item + "'");
          if (!holds(list_of(*consent, "recipients"), item))
            return make_error(ErrorCode::invalid_argument, "--recipients: consent record '" + w.consent +
                                                               "' does not name " + item + " as a recipient (it names " +
                                                               joined(list_of(*consent, "recipients")) + ")");
        } else if (auto ok = require_value(def, "withdrawn_purposes", "--purposes", item); !ok) {
          return ok.error();
        }
        if (!holds(already, item)) {
          edits.push_back(AuthorityEdit::add(id, field, item));
          already.push_back(item);
        }
      }
      if (edits.empty())
        return make_error(ErrorCode::conflict, "consent record '" + w.consent + "' is already withdrawn for " +
                                                   joined(w.items));
    }
    edits.push_back(AuthorityEdit::set(id, "withdrawal_scope", std::string(scope_name(w.scope))));
    edits.push_back(AuthorityEdit::set(id, "withdrawn_at", datetime_of(ctx.now())));
    edits.push_back(AuthorityEdit::set(id, "withdrawn_by", w.withdrawn_by));
    edits.push_back(AuthorityEdit::set(id, "withdrawal_recorded_by", w.recorded_by));
    edits.push_back(AuthorityEdit::set(id, "withdrawal_channel", w.channel));
    if (!w.reason.empty()) edits.push_back(AuthorityEdit::set(id, "withdrawal_reason", w.reason));
    if (w.scope == Withdrawal::Scope::full) {
      bool lifecycle = def.lifecycle && def.lifecycle->field == "status";
      edits.push_back(lifecycle ? AuthorityEdit::transition(id, "WITHDRAWN")
                                : AuthorityEdit::set(id, "status", std::string("WITHDRAWN")));
    }
    return edits;
  };
  return out;
}

Result<std::vector<ConsentSummary>> consent_records(ServiceContext& ctx, const std::string& family) {
  auto merged = ctx.cache.get(family);
  if (!merged) return merged.error();
  const sync::Materialiser& m = **merged;
  auto entities = m.entities(family);
  if (entities.empty())
    return make_error(ErrorCode::not_found, "--family: this server holds no records of family '" + family + "'");
  std::vector<ConsentSummary> out;
  for (const sync::EntityMerge* e : entities) {
    if (!e->created() || e->deleted() || e->def().name != "ConsentRecord") continue;
    ConsentSummary s;
    s.id = e->id();
    s.given_by = person_label(m, family, text_of(*e, "given_by"));
    for (const auto& p : list_of(*e, "covers_persons")) s.covers.push_back(person_label(m, family, p));
    s.purposes = list_of(*e, "purposes");
    s.recipients = list_of(*e, "recipients");
    s.withdrawn_recipients = list_of(*e, "withdrawn_recipients");
    s.withdrawn_purposes = list_of(*e, "withdrawn_purposes");
    s.status = text_of(*e, "status");
    s.withdrawal_scope = text_of(*e, "withdrawal_scope");
    s.withdrawn_at = text_of(*e, "withdrawn_at");
    if (!text_of(*e, "withdrawn_by").empty()) s.withdrawn_by = person_label(m, family, text_of(*e, "withdrawn_by"));
    s.withdrawal_recorded_by = text_of(*e, "withdrawal_recorded_by");
    s.withdrawal_channel = text_of(*e, "withdrawal_channel");
    s.expires_at = text_of(*e, "expires_at");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace hearth::server
