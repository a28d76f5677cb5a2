// The query tables of both snapshot stores (contract in snapshot_store.h).
#include "service/snapshot_store.h"

namespace critmin::service {
namespace {

constexpr ColumnType I = ColumnType::kInteger;
constexpr ColumnType R = ColumnType::kReal;
constexpr ColumnType T = ColumnType::kText;

std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

QueryValue optional_real(const std::optional<double>& v) {
  return v ? QueryValue(*v) : QueryValue(std::monostate{});
}

std::string roles_text(std::uint8_t roles) {
  std::string out;
  for (const std::string& r : role_names(roles)) out += (out.empty() ? "" : ",") + r;
  return out;
}

std::string kind_text(ContractKind kind) {
  return kind == ContractKind::kOfftake ? "offtake" : "subsidy";
}

}  // namespace

const std::vector<QueryTableSpec>& query_table_specs() {
  static const std::vector<QueryTableSpec> kSpecs = {
      {"participants", {{"id", I}, {"name", T}, {"country", T}, {"roles", T}, {"club_member", I}}},
      {"certificates",
       {{"id", I},
        {"holder_id", I},
        {"certifier_id", I},
        {"facility", T},
        {"material", T},
        {"standard", T},
        {"valid_from", T},
        {"valid_to", T}}},
      {"lots",
       {{"id", I},
        {"kind", T},
        {"name", T},
        {"material", T},
        {"stage", T},
        {"reserve_price_usd_per_t", R},
        {"reference_price_usd_per_t", R},
        {"tie_rule", T},
        {"certified_only", I},
        {"club_only", I},
        {"delivery_date", T},
        {"period", I},
        {"phase", T},
        {"tendered_demand_t", R}}},
      {"book_orders",
       {{"id", I},
        {"lot_id", I},
        {"participant_id", I},
        {"side", T},
        {"price_usd_per_t", R},
        {"quantity_t", R},
        {"time", I},
        {"certificate_id", I},
        {"client_ref", T}}},
      {"calls",
       {{"lot_id", I},
        {"period", I},
        {"seq", I},
        {"time_ms", I},
        {"outcome", T},
        {"clearing_price_usd_per_t", R},
        {"executed_volume_t", R},
        {"demand_at_price_t", R},
        {"supply_at_price_t", R},
        {"reserve_binding", I},
        {"rolled_over_t", R},
        {"levy_total_usd", R}}},
      {"fills",
       {{"lot_id", I},
        {"period", I},
        {"order_id", I},
        {"participant_id", I},
        {"side", T},
        {"limit_price_usd_per_t", R},
        {"filled_t", R},
        {"levy_usd", R}}},
      {"contracts",
       {{"id", I},
        {"kind", T},
        {"material", T},
        {"stage", T},
        {"buyer_id", I},
        {"seller_id", I},
        {"volume_t_per_year", R},
        {"start_year", I},
        {"tenor_years", I}}},
      {"settlements",
       {{"material", T},
        {"stage", T},
        {"year", I},
        {"contract_id", I},
        {"kind", T},
        {"reference_price_usd_per_t", R},
        {"volume_t", R},
        {"contract_price_usd_per_t", R},
        {"take_or_pay_shortfall_t", R},
        {"claimed_usd", R},
        {"payment_usd", R}}},
  };
  return kSpecs;
}

Status write_query_tables(const MarketState& state, QueryTableSink& sink) {
  const std::vector<QueryTableSpec>& specs = query_table_specs();
  std::vector<QueryValue> row;
  auto table = [&](std::size_t index, const auto& emit_rows) -> Status {
    if (Status s = sink.begin_table(specs[index]); !s.is_ok()) return s;
    if (Status s = emit_rows(); !s.is_ok()) return s;
    return sink.end_table();
  };
  auto emit = [&](std::vector<QueryValue> values) {
    row = std::move(values);
    return sink.row(row);
  };
  Status status = table(0, [&] {
    for (const auto& [id, p] : state.participants) {
      if (Status s = emit(
              {i64(id), p.name, p.country_iso3, roles_text(p.roles), std::int64_t{p.club_member}});
          !s.is_ok()) {
        return s;
      }
    }
    return Status::ok();
  });
  CRITMIN_RETURN_IF_ERROR(status);
  status = table(1, [&] {
    for (const auto& [id, c] : state.certificates) {
      if (Status s =
              emit({i64(id), i64(c.holder_id), i64(c.certifier_id), c.facility, c.material_id,
                    c.standard, format_day(c.valid_from_day), format_day(c.valid_to_day)});
          !s.is_ok()) {
        return s;
      }
    }
    return Status::ok();
  });
  CRITMIN_RETURN_IF_ERROR(status);
  status = table(2, [&] {
    for (const auto& [id, l] : state.lots) {
      if (Status s =
              emit({i64(id), std::string(lot_kind_name(l.kind)), l.name, l.material_id,
                    std::string(stage_name(l.stage)), optional_real(l.reserve_price_usd_per_t),
                    l.reference_price_usd_per_t, std::string(auction::tie_rule_name(l.tie_rule)),
                    std::int64_t{l.certified_only}, std::int64_t{l.club_only},
                    format_day(l.delivery_day), std::int64_t{l.period},
                    std::string(round_phase_name(l.phase)), l.tendered_demand_t});
          !s.is_ok()) {
        return s;
      }
    }
    return Status::ok();
  });
  CRITMIN_RETURN_IF_ERROR(status);
  status = table(3, [&] {
    for (const auto& [id, l] : state.lots) {
      for (const BookOrder& o : l.book) {
        if (Status s = emit({i64(o.id), i64(id), i64(o.participant_id),
                             std::string(auction::side_name(o.side)), o.price_usd_per_t,
                             o.quantity_t, i64(o.time), i64(o.certificate_id), o.client_ref});
            !s.is_ok()) {
          return s;
        }
      }
    }
    return Status::ok();
  });
  CRITMIN_RETURN_IF_ERROR(status);
  status = table(4, [&] {
    for (const auto& [id, l] : state.lots) {
      for (const CallRecord& c : l.calls) {
        if (Status s = emit({i64(id), std::int64_t{c.period}, i64(c.seq), c.time_ms,
                             std::string(auction::outcome_name(c.outcome)),
                             optional_real(c.clearing_price_usd_per_t), c.executed_volume_t,
                             c.demand_at_price_t, c.supply_at_price_t,
                             std::int64_t{c.reserve_binding}, c.rolled_over_t, c.levy_total_usd});
            !s.is_ok()) {
          return s;
        }
      }
    }
    return Status::ok();
  });
  CRITMIN_RETURN_IF_ERROR(status);
  status = table(5, [&] {
    for (const auto& [id, l] : state.lots) {
      for (const CallRecord& c : l.calls) {
        for (const FillRecord& f : c.fills) {
          if (Status s = emit({i64(id), std::int64_t{c.period}, i64(f.order_id),
                               i64(f.participant_id), std::string(auction::side_name(f.side)),
                               f.limit_price_usd_per_t, f.filled_t, f.levy_usd});
              !s.is_ok()) {
            return s;
          }
        }
      }
    }
    return Status::ok();
  });
  CRITMIN_RETURN_IF_ERROR(status);
  status = table(6, [&] {
    for (const auto& [id, c] : state.contracts) {
      if (Status s =
              emit({i64(id), kind_text(c.kind), c.material_id, std::string(stage_name(c.stage)),
                    i64(c.buyer_id), i64(c.seller_id), c.volume_t_per_year,
                    std::int64_t{c.start_year}, std::int64_t{c.tenor_years}});
          !s.is_ok()) {
        return s;
      }
    }
    return Status::ok();
  });
  CRITMIN_RETURN_IF_ERROR(status);
  return table(7, [&] {
    for (const PeriodSettled& p : state.settlements) {
      for (const SettlementEntry& e : p.entries) {
        if (Status s = emit({p.material_id, std::string(stage_name(p.stage)), std::int64_t{p.year},
                             i64(e.contract_id), kind_text(e.kind), e.reference_price_usd_per_t,
                             e.volume_t, e.contract_price_usd_per_t, e.take_or_pay_shortfall_t,
                             e.claimed_usd, e.payment_usd});
            !s.is_ok()) {
          return s;
        }
      }
    }
    return Status::ok();
  });
}

}  // namespace critmin::service
