#include "office_command.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "usecases/authority_write.hpp"
#include "usecases/office_outbox.hpp"

namespace hearth::server {

struct OfficeCli {
  CLI::App* office = nullptr;
  CLI::App* status = nullptr;
  CLI::App* retry = nullptr;
  CLI::App* disclosures = nullptr;
  CLI::App* backfill = nullptr;
  CLI::App* map_list = nullptr;
  CLI::App* map_set = nullptr;
  CLI::App* map_unset = nullptr;
  std::string family, state, item, field, value, code, by = "admin";
  int64_t limit = 20;
  bool all = false;
};

namespace {

std::string when(int64_t ms) { return ms == 0 ? std::string("-") : datetime_of(ms); }

Result<void> audited(ServiceContext& ctx, const std::string& by, const std::string& action, const std::string& family,
                     const std::string& detail) {
  return ctx.store.audit().append(AuditEvent{ctx.now(), by, "", action, family, detail});
}

}  // namespace

std::shared_ptr<OfficeCli> add_office_cli(CLI::App& app) {
  auto cli = std::make_shared<OfficeCli>();
  cli->office = app.add_subcommand("office", "the outbound feed to the office system: status, retry, disclosures, code "
                                             "mappings (docs/office.md)");
  cli->office->require_subcommand(1);
  cli->status = cli->office->add_subcommand("status", "counts of queued, sent, dead and cancelled items, then the newest");
  cli->status->add_option("--family", cli->family, "only this family's items");
  cli->status->add_option("--state", cli->state, "only items in this state: queued, sent, dead, cancelled");
  cli->status->add_option("--limit", cli->limit, "how many items to list (default 20)")->check(CLI::Range(0, 10000));
  cli->retry = cli->office->add_subcommand("retry", "put dead-letter (or failing) items back in the queue");
  cli->retry->add_option("item", cli->item, "the item's number (seq) or key, from `office status`");
  cli->retry->add_flag("--all", cli->all, "every dead or failing item");
  cli->retry->add_option("--by", cli->by, "who asks (audited; default admin)");
  cli->disclosures = cli->office->add_subcommand("disclosures", "the disclosure log: what was sent to whom, when (audited)");
  cli->disclosures->add_option("--family", cli->family, "only this family");
  cli->disclosures->add_option("--by", cli->by, "who reads it (audited; default admin)");
  cli->backfill = cli->office->add_subcommand("backfill", "queue every record held (at its current revision) for an "
                                                        "office connected after records were made; safe to repeat");
  cli->backfill->add_option("--family", cli->family, "only this family");
  cli->backfill->add_option("--by", cli->by, "who asks (audited; default admin)");
  auto* map = cli->office->add_subcommand("map", "the council's code mappings from Hearth's values to the office's codes");
  map->require_subcommand(1);
  cli->map_list = map->add_subcommand("list", "every mapping");
  cli->map_set = map->add_subcommand("set", "map one value, e.g. `map set EarlyHelpEpisode.closure_reason "
                                            "STEPPED_UP_TO_CSC STEP_UP`");
  cli->map_unset = map->add_subcommand("unset", "remove one mapping");
  for (auto* c : {cli->map_set, cli->map_unset}) {
    c->add_option("field", cli->field, "Type.field, e.g. Referral.referral_source_code")->required();
    c->add_option("value", cli->value, "Hearth's value, e.g. 1A")->required();
    c->add_option("--by", cli->by, "who changes it (audited; default admin)");
  }
  cli->map_set->add_option("code", cli->code, "the office's code")->required();
  return cli;
}

bool office_cli_parsed(const OfficeCli& cli) { return cli.office && cli.office->parsed(); }

int run_office_cli(const OfficeCli& cli, SyncService& service, std::ostream& out, std::ostream& err) {
  auto fail = [&](const Error& e) {
    err << "hearth-server: " << e.message << "\n";
    return e.code == ErrorCode::not_found ? 3 : 1;
  };
  if (cli.status->parsed()) {
    auto done = service.with_context([&](ServiceContext& ctx) -> Result<void> {
      auto c = ctx.store.outbox().counts();
      if (!c) return c.error();
      out << "office outbox: " << c->queued << " queued (" << c->waiting_retry << " waiting to retry), " << c->sent
          << " sent by the repeater, " << c->dead << " dead (dead-letter queue), " << c->cancelled << " cancelled; "
          << c->served << " read through the pull feed, " << c->acked << " acknowledged\n";
      auto items = ctx.store.outbox().list(cli.state, cli.family, static_cast<size_t>(cli.limit));
      if (!items) return items.error();
      for (const auto& i : *items) {
        out << "  #" << i.seq << "  " << i.state << "  " << i.key << "  " << i.type << "  family " << i.family
            << (i.priority == 0 ? "  PRIORITY" : "") << "  queued " << when(i.created_at);
        if (i.sent_at) out << "  sent " << when(i.sent_at);
        if (i.served_at) out << "  read " << when(i.served_at);
        if (i.acked_at) out << "  acknowledged " << when(i.acked_at);
        if (i.attempts) out << "  attempts " << i.attempts;
        if (i.state == "queued" && i.attempts) out << "  next try " << when(i.next_attempt_at);
        if (!i.last_error.empty()) out << "  (" << i.last_error << ")";
        out << "\n";
      }
      return audited(ctx, "admin", "office-status", cli.family, std::to_string(items->size()) + " items listed");
    });
    return done ? 0 : fail(done.error());
  }
  if (cli.retry->parsed()) {
    if (cli.all == !cli.item.empty()) {
      err << "hearth-server: give one item (its number or key, see `office status`) or --all\n";
      return 1;
    }
    auto done = service.with_context([&](ServiceContext& ctx) -> Result<int64_t> {
      int64_t n = 0;
      auto r = ctx.store.transaction([&]() -> Result<void> {
        std::optional<int64_t> seq;
        std::string family;
        if (!cli.all) {
          std::optional<OutboxItem> found;
          if (!cli.item.empty() && cli.item.find_first_not_of("0123456789") == std::string::npos && cli.item.size() < 18) {
            auto got = ctx.store.outbox().get(std::stoll(cli.item));
            if (!got) return got.error();
            found = *got;
          }
          if (!found) {
            auto got = ctx.store.outbox().by_key(cli.item);
            if (!got) return got.error();
            found = *got;
          }
          if (!found) return make_error(ErrorCode::not_found, "no office outbox item '" + cli.item + "'");
          if (found->state != "dead" && !(found->state == "queued" && found->attempts > 0))
            return make_error(ErrorCode::conflict, "item #" + std::to_string(found->seq) + " (" + found->key + ") is " +
                                                       found->state + ", not dead or failing: nothing to retry");
          seq = found->seq;
          family = found->family;
        }
        auto moved = ctx.store.outbox().requeue(seq);
        if (!moved) return moved.error();
        n = *moved;
        return audited(ctx, cli.by, "office-retry", family,
                       cli.all ? std::to_string(n) + " dead or failing items requeued"
                               : "item #" + std::to_string(*seq) + " requeued");
      });
      if (!r) return r.error();
      return n;
    });
    if (!done) return fail(done.error());
    out << *done << " item" << (*done == 1 ? "" : "s") << " back in the queue; the repeater sends "
        << (*done == 1 ? "it" : "them") << " at its next round\n";
    return 0;
  }
  if (cli.disclosures->parsed()) {
    auto done = service.with_context([&](ServiceContext& ctx) -> Result<void> {
      auto list = ctx.store.outbox().disclosures(cli.family);
      if (!list) return list.error();
      for (const auto& d : *list)
        out << when(d.at) << "  " << d.kind << " " << d.record << " (" << d.type << ") revision " << d.revision
            << "  family " << d.family << "  to " << d.recipient << " by " << d.channel << "  item #" << d.item << "\n";
      if (list->empty()) out << "nothing was sent to the office" << (cli.family.empty() ? "" : " of family " + cli.family) << "\n";
      return audited(ctx, cli.by, "office-disclosures-read", cli.family,
                     std::to_string(list->size()) + " disclosures listed");
    });
    return done ? 0 : fail(done.error());
  }
  if (cli.backfill->parsed()) {
    auto done = service.with_context([&](ServiceContext& ctx) -> Result<size_t> {
      auto n = backfill_office(ctx, cli.family);
      if (!n) return n.error();
      if (auto r = audited(ctx, cli.by, "office-backfill", cli.family, std::to_string(*n) + " items queued"); !r)
        return r.error();
      return *n;
    });
    if (!done) return fail(done.error());
    out << *done << " item" << (*done == 1 ? "" : "s") << " queued for the office\n";
    return 0;
  }
  if (cli.map_list->parsed()) {
    auto done = service.with_context([&](ServiceContext& ctx) -> Result<void> {
      auto list = ctx.store.outbox().codes();
      if (!list) return list.error();
      for (const auto& m : *list)
        out << m.field << "  " << m.value << " -> " << m.code << "  (set " << when(m.set_at) << " by " << m.set_by << ")\n";
      if (list->empty()) out << "no code mappings: items carry Hearth's values only\n";
      return {};
    });
    return done ? 0 : fail(done.error());
  }
  if (cli.map_set->parsed() || cli.map_unset->parsed()) {
    if (auto ok = check_code_mapping(cli.field, cli.value); !ok) return fail(ok.error());
    if (cli.map_set->parsed() && (cli.code.empty() || cli.code.size() > 100)) {
      err << "hearth-server: CODE must be 1 to 100 bytes\n";
      return 1;
    }
    auto done = service.with_context([&](ServiceContext& ctx) -> Result<void> {
      return ctx.store.transaction([&]() -> Result<void> {
        if (cli.map_set->parsed()) {
          if (auto r = ctx.store.outbox().set_code(CodeMapping{cli.field, cli.value, cli.code, ctx.now(), cli.by}); !r) return r;
          return audited(ctx, cli.by, "office-code-map", "", cli.field + " " + cli.value + " -> " + cli.code);
        }
        auto removed = ctx.store.outbox().remove_code(cli.field, cli.value);
        if (!removed) return removed.error();
        if (!*removed) return make_error(ErrorCode::not_found, "no mapping for " + cli.field + " " + cli.value);
        return audited(ctx, cli.by, "office-code-map", "", cli.field + " " + cli.value + " unmapped");
      });
    });
    if (!done) return fail(done.error());
    out << (cli.map_set->parsed() ? "mapped " + cli.field + " " + cli.value + " -> " + cli.code
                                  : "removed the mapping of " + cli.field + " " + cli.value)
        << "; items queued from now on carry it\n";
    return 0;
  }
  return 1;
}

Result<std::optional<RepeaterConfig>> repeater_config_of(const std::string& server_config_json) {
  nlohmann::json j = nlohmann::json::parse(server_config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::optional<RepeaterConfig>();
  auto it = j.find("office_endpoint");
  if (it == j.end() || it->is_null()) return std::optional<RepeaterConfig>();
  auto c = repeater_config_from_json(it->dump());
  if (!c) return c.error();
  return std::optional<RepeaterConfig>(std::move(*c));
}

}  // namespace hearth::server
