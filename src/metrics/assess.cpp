#include "critmin/metrics/assess.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/suggest.h"
#include "core/text.h"

namespace critmin {
namespace {

// Latest WGI mean estimate per country up to the reference year, rescaled to 0-10.
std::map<std::string, double> governance_by_country(const Dataset& data) {
  const int reference_year = static_cast<int>(data.parameter("wgi_reference_year"));
  std::map<std::string, std::pair<int, double>> latest;
  for (const GovernanceScore& g : data.governance) {
    if (g.year > reference_year) continue;
    auto [it, inserted] = latest.try_emplace(g.iso3, g.year, g.wgi_mean_estimate);
    if (!inserted && g.year > it->second.first) it->second = {g.year, g.wgi_mean_estimate};
  }
  std::map<std::string, double> scaled;
  for (const auto& [iso3, value] : latest) scaled[iso3] = wgi_scaled(value.second);
  return scaled;
}

struct StageKey {
  std::string material;
  Stage stage;
  auto operator<=>(const StageKey&) const = default;
};

std::map<StageKey, std::vector<const SupplyShare*>> group_shares(
    const std::vector<SupplyShare>& shares) {
  std::map<StageKey, std::vector<const SupplyShare*>> groups;
  for (const SupplyShare& s : shares) groups[{s.material_id, s.stage}].push_back(&s);
  for (auto& [key, list] : groups) {
    std::stable_sort(list.begin(), list.end(), [](const SupplyShare* a, const SupplyShare* b) {
      return a->share != b->share ? a->share > b->share : a->iso3 < b->iso3;
    });
  }
  return groups;
}

struct Context {
  const Dataset& data;
  std::map<std::string, double> wgi;
  std::set<std::string> eu27;
  double wgi_missing = 5.0;
  // The trade year's import flows, indexed once per assessment so that a material-stage row
  // visits only the flows of its own codes and sums them without string look-ups. A flow's
  // partner is an index into `partners`, the partners' ISO3 codes sorted, so that index order is
  // the order of a map keyed by ISO3 and every sum adds up in the same order as before.
  struct IndexedFlow {
    const ImportFlow* flow = nullptr;
    std::size_t partner = 0;
  };
  std::map<std::string, std::vector<IndexedFlow>> imports_by_cn8;  // per code, in dataset order
  std::vector<std::string> partners;
  std::vector<char> partner_in_eu27;  // per partner
  std::vector<double> partner_wgi;    // per partner: wgi_of(partner), 0-10

  void index_imports(int trade_year) {
    std::set<std::string> codes;
    for (const ImportFlow& f : data.eu_imports) {
      if (f.year == trade_year) codes.insert(f.partner_iso3);
    }
    partners.assign(codes.begin(), codes.end());
    for (const std::string& iso3 : partners) {
      partner_in_eu27.push_back(eu27.contains(iso3) ? 1 : 0);
      partner_wgi.push_back(wgi_of(iso3, nullptr));
    }
    for (const ImportFlow& f : data.eu_imports) {
      if (f.year != trade_year) continue;
      const auto at = std::lower_bound(partners.begin(), partners.end(), f.partner_iso3);
      imports_by_cn8[f.cn8].push_back({&f, static_cast<std::size_t>(at - partners.begin())});
    }
  }

  double wgi_of(const std::string& iso3, int* missing) const {
    auto it = wgi.find(iso3);
    if (it != wgi.end()) return it->second;
    if (missing) ++*missing;
    return wgi_missing;
  }

  double hhi_wgi(const std::vector<const SupplyShare*>& shares, int* missing) const {
    std::vector<WeightedShare> weighted;
    weighted.reserve(shares.size());
    for (const SupplyShare* s : shares) {
      weighted.push_back({s->share, wgi_of(s->iso3, missing), s->trade_factor});
    }
    return governance_weighted_hhi(weighted);
  }
};

// Resolves --material arguments (ids, names, aliases, group names) to material ids. A group name
// (REE, HREE, LREE, PGM, NdPr) selects its members before any material's alias is looked at, so a
// source spelling can never turn a group into one of its members.
Result<std::set<std::string>> resolve_materials(const Dataset& data,
                                                const std::vector<std::string>& names) {
  std::set<std::string> ids;
  for (const std::string& name : names) {
    if (trim(name).empty()) {
      // An empty name would match every material without a group (the empty group label).
      return Status::invalid_input(
          "--material: empty material name; give an id or name such as gallium or "
          "natural_graphite, or a group (REE, HREE, LREE, PGM, NdPr)");
    }
    if (std::optional<std::vector<std::string>> members = data.material_group_members(name)) {
      ids.insert(members->begin(), members->end());
      continue;
    }
    const Material* material = data.find_material(name);
    if (!material || material->kind != "material") {
      return Status::not_found(fmt::format(
          "--material: unknown material '{}'{}; use an id or name from `critmin data materials` "
          "(e.g. gallium, natural_graphite) or a group (REE, HREE, LREE, PGM, NdPr)",
          name, data.did_you_mean_material(name)));
    }
    ids.insert(material->id);
  }
  return ids;
}

std::vector<ImportDependency> import_dependencies(const Context& ctx, const Material& material,
                                                  Stage stage, double global_hhi,
                                                  const std::vector<std::string>& regions) {
  const Dataset& data = ctx.data;
  const int year = static_cast<int>(data.parameter("trade_year"));
  std::set<std::string> codes;
  bool shared = false;
  for (const Cn8Mapping& m : data.cn8_materials) {
    if (m.stage != stage) continue;
    if (std::find(m.material_ids.begin(), m.material_ids.end(), material.id) ==
        m.material_ids.end()) {
      continue;
    }
    codes.insert(m.cn8);
    shared = shared || m.material_ids.size() > 1;
  }
  std::vector<ImportDependency> out;
  if (codes.empty()) return out;
  double usd_per_eur = 0.0;
  for (const FxRate& fx : data.fx_rates) {
    if (fx.year == year) usd_per_eur = fx.usd_per_eur;
  }
  // The material's flows in dataset order, so that sums add up in the same order as a full scan;
  // each with the index of its code in `codes` (set order, the order of a map keyed by code).
  struct CodedFlow {
    Context::IndexedFlow indexed;
    std::size_t code = 0;
  };
  std::vector<CodedFlow> flows;
  std::size_t code_index = 0;
  for (const std::string& code : codes) {
    if (auto it = ctx.imports_by_cn8.find(code); it != ctx.imports_by_cn8.end()) {
      for (const Context::IndexedFlow& f : it->second) flows.push_back({f, code_index});
    }
    ++code_index;
  }
  // Pointers into one vector: address order is row order.
  std::sort(flows.begin(), flows.end(),
            [](const CodedFlow& a, const CodedFlow& b) { return a.indexed.flow < b.indexed.flow; });
  const std::vector<std::string> code_list(codes.begin(), codes.end());
  const std::size_t partner_count = ctx.partners.size();
  const std::size_t china = static_cast<std::size_t>(
      std::lower_bound(ctx.partners.begin(), ctx.partners.end(), "CHN") - ctx.partners.begin());
  for (const std::string& region : regions) {
    // Sums per partner and per code, in flow order; `touched` lists the partners with a flow.
    std::vector<double> by_partner(partner_count, 0.0), by_code(code_list.size(), 0.0);
    std::vector<char> partner_seen(partner_count, 0), code_seen(code_list.size(), 0);
    std::vector<std::size_t> touched;
    double total = 0.0;
    const bool extra_eu = region == "EU27";
    for (const CodedFlow& coded : flows) {
      const ImportFlow& f = *coded.indexed.flow;
      const std::size_t p = coded.indexed.partner;
      if (extra_eu) {
        if (ctx.partner_in_eu27[p]) continue;  // intra-EU arrivals are not imports
      } else if (f.declarant_iso3 != region) {
        continue;
      }
      if (!partner_seen[p]) {
        partner_seen[p] = 1;
        touched.push_back(p);
      }
      by_partner[p] += f.value_eur;
      by_code[coded.code] += f.value_eur;
      code_seen[coded.code] = 1;
      total += f.value_eur;
    }
    if (total <= 0.0) continue;
    std::sort(touched.begin(), touched.end());  // ISO3 order
    ImportDependency dep;
    dep.region = region;
    dep.year = year;
    dep.value_eur = total;
    dep.value_usd = total * usd_per_eur;
    dep.cn8_codes = code_list;
    dep.shared_basket = shared;
    std::vector<double> shares;
    shares.reserve(touched.size());
    double weighted_governance = 0.0;
    double extra_eu_value = 0.0;
    for (const std::size_t p : touched) {
      const double value = by_partner[p];
      const double share = value / total;
      shares.push_back(share);
      if (share > dep.top_partner_share) {
        dep.top_partner_share = share;
        dep.top_partner = ctx.partners[p];
      }
      if (!ctx.partner_in_eu27[p]) extra_eu_value += value;
      weighted_governance += share * ctx.partner_wgi[p] / 10.0;
    }
    std::vector<PartnerShare> partners;
    partners.reserve(touched.size());
    for (const std::size_t p : touched) {
      const double value = by_partner[p];
      partners.push_back({ctx.partners[p], value / total, value, value * usd_per_eur});
    }
    std::stable_sort(partners.begin(), partners.end(),
                     [](const auto& a, const auto& b) { return a.value_eur > b.value_eur; });
    for (const PartnerShare& p : partners) {
      if (dep.main_partners.size() == kMainPartners) break;
      dep.main_partners.push_back(p);
    }
    const bool from_china =
        china < partner_count && ctx.partners[china] == "CHN" && partner_seen[china];
    const double china_eur = from_china ? by_partner[china] : 0.0;
    dep.china_share = from_china ? china_eur / total : 0.0;
    if (std::none_of(dep.main_partners.begin(), dep.main_partners.end(),
                     [](const PartnerShare& p) { return p.iso3 == "CHN"; })) {
      dep.main_partners.push_back({"CHN", dep.china_share, china_eur, china_eur * usd_per_eur});
    }
    for (std::size_t c = 0; c < code_list.size(); ++c) {
      if (code_seen[c]) dep.value_eur_by_cn8.emplace_back(code_list[c], by_code[c]);
    }
    dep.extra_eu_share = std::min(1.0, extra_eu_value / total);  // rounding of two sums
    dep.partner_hhi = herfindahl_index(shares);
    dep.import_weighted_risk = global_hhi / 10000.0 * weighted_governance;
    out.push_back(std::move(dep));
  }
  return out;
}

}  // namespace

std::vector<ImportTotal> import_totals(const std::vector<AssessmentRow>& rows) {
  std::vector<ImportTotal> totals;
  std::map<std::string, std::map<std::string, std::pair<double, int>>> codes;  // region -> code
  std::map<std::string, double> usd_per_eur;
  for (const AssessmentRow& r : rows) {
    for (const ImportDependency& d : r.imports) {
      if (std::none_of(totals.begin(), totals.end(),
                       [&](const ImportTotal& t) { return t.region == d.region; })) {
        totals.push_back({d.region, d.year, 0.0, 0.0, 0, 0});
      }
      if (d.value_eur > 0.0) usd_per_eur[d.region] = d.value_usd / d.value_eur;
      for (const auto& [code, value] : d.value_eur_by_cn8) {
        auto& [code_value, materials] = codes[d.region][code];
        code_value = value;  // the same code's value in every row that carries it
        ++materials;
      }
    }
  }
  for (ImportTotal& t : totals) {
    for (const auto& [code, value_and_count] : codes[t.region]) {
      t.value_eur += value_and_count.first;
      ++t.codes;
      if (value_and_count.second > 1) ++t.shared_codes;
    }
    t.value_usd = t.value_eur * usd_per_eur[t.region];
  }
  return totals;
}

Result<std::vector<AssessmentRow>> assess(const Dataset& data, const AssessOptions& options) {
  Context ctx{
      data, governance_by_country(data), {}, data.parameter("wgi_missing_scaled"), {}, {}, {}, {}};
  if (auto it = data.blocs.find("EU27"); it != data.blocs.end()) {
    ctx.eu27.insert(it->second.begin(), it->second.end());
  }
  ctx.index_imports(static_cast<int>(data.parameter("trade_year")));
  // Regions are codes (EU27, ISO3): accept any case and surrounding blanks (nld -> NLD).
  std::vector<std::string> regions;
  for (const std::string& given : options.regions) {
    const std::string region = to_upper(trim(given));
    if (region != "EU27" && region != "NLD" && !ctx.eu27.contains(region)) {
      std::vector<std::string> importers(ctx.eu27.begin(), ctx.eu27.end());
      importers.push_back("EU27");
      return Status::invalid_input(fmt::format(
          "--region: '{}'{} has no import data; use EU27 (extra-EU imports) or the ISO3 code of "
          "an EU member state such as NLD",
          given, did_you_mean(region, importers)));
    }
    regions.push_back(std::move(region));
  }
  std::set<std::string> wanted;
  if (!options.materials.empty()) {
    Result<std::set<std::string>> ids = resolve_materials(data, options.materials);
    CRITMIN_RETURN_IF_ERROR(ids);
    wanted = std::move(ids).value();
  }
  std::optional<std::set<std::string>> bloc;
  if (!options.bloc.empty()) {
    Result<std::set<std::string>> members = data.resolve_bloc(options.bloc);
    CRITMIN_RETURN_IF_ERROR(members);
    bloc = std::move(members).value();
  }
  for (const auto& [id, o] : options.overrides) {
    for (const auto& value : {o.eol_rir, o.substitution_index}) {
      if (value && !(*value >= 0.0 && *value <= 1.0)) {  // also rejects nan
        return Status::invalid_input(
            fmt::format("assumption for {}: {} is outside [0,1]", id, *value));
      }
    }
  }

  const double limit = data.parameter("crma_single_country_limit");
  const auto global = group_shares(data.global_supply_shares);
  const auto sourcing = group_shares(data.eu_sourcing_shares);

  const SupplyRiskInputs* default_inputs = nullptr;
  std::map<std::string, const SupplyRiskInputs*> inputs_by_material;
  for (const SupplyRiskInputs& s : data.supply_risk_inputs) {
    if (s.material_id == "*") {
      default_inputs = &s;
    } else {
      inputs_by_material[s.material_id] = &s;
    }
  }
  std::map<std::string, double> published_2023;
  for (const SupplyRiskHistory& h : data.supply_risk_history) {
    if (h.year == 2023 && h.supply_risk) published_2023[h.material_id] = *h.supply_risk;
  }
  struct Production {
    int year = 0;
    double world_t = 0.0;
    double country_sum_t = 0.0;
    bool has_world = false;
    std::string basis;
  };
  std::map<StageKey, Production> production;
  {
    std::map<StageKey, int> latest_year;
    for (const ProductionRecord& p : data.production) {
      int& y = latest_year[{p.material_id, p.stage}];
      y = std::max(y, p.year);
    }
    for (const ProductionRecord& p : data.production) {
      const StageKey key{p.material_id, p.stage};
      if (p.year != latest_year[key]) continue;
      Production& prod = production[key];
      prod.year = p.year;
      prod.basis = p.basis;
      if (p.iso3 == "WLD") {
        prod.world_t = p.quantity_t;
        prod.has_world = true;
      } else {
        prod.country_sum_t += p.quantity_t;
      }
    }
  }

  // Rows name materials by id: look ids up once instead of find_material's case-folding scan
  // per row (which stays the fallback).
  std::map<std::string, const Material*, std::less<>> material_by_id;
  for (const Material& m : data.materials) material_by_id.try_emplace(m.id, &m);

  std::vector<AssessmentRow> rows;
  for (const auto& [key, shares] : global) {
    if (!wanted.empty() && !wanted.contains(key.material)) continue;
    if (options.stage && *options.stage != key.stage) continue;
    const auto by_id = material_by_id.find(key.material);
    const Material* material =
        by_id != material_by_id.end() ? by_id->second : data.find_material(key.material);
    if (!material) continue;  // the dataset check guarantees known ids

    AssessmentRow row;
    row.material = material->id;
    row.material_name = material->name;
    row.stage = key.stage;
    row.crma_critical = material->is_critical();
    row.crma_strategic = material->is_strategic();
    row.group = material->group;
    row.supplier_count = static_cast<int>(shares.size());

    std::vector<double> values;
    values.reserve(shares.size());
    for (const SupplyShare* s : shares) values.push_back(s->share);
    row.hhi = herfindahl_index(values);
    row.top_country = shares.front()->iso3;
    row.top_share = shares.front()->share;
    for (std::size_t i = 0; i < shares.size() && i < 3; ++i) row.top3_share += shares[i]->share;
    row.hhi_wgi = ctx.hhi_wgi(shares, &row.suppliers_without_wgi);

    for (const SupplyShare* s : shares) {  // sorted by share, so the first non-EU is the largest
      if (ctx.eu27.contains(s->iso3)) continue;
      row.largest_third_country = s->iso3;
      row.largest_third_country_share = s->share;
      break;
    }
    row.crma_single_country_breach = row.largest_third_country_share > limit;

    if (bloc) {
      row.bloc = options.bloc;
      double share = 0.0;
      for (const SupplyShare* s : shares) {
        if (bloc->contains(s->iso3)) share += s->share;
      }
      row.bloc_share = std::min(share, 1.0);
    }

    if (auto it = sourcing.find(key); it != sourcing.end()) {
      const auto& eu = it->second;
      std::vector<double> eu_values;
      double eu_internal = 0.0;
      for (const SupplyShare* s : eu) {
        eu_values.push_back(s->share);
        if (ctx.eu27.contains(s->iso3)) eu_internal += s->share;
      }
      row.eu_sourcing_hhi = herfindahl_index(eu_values);
      row.eu_sourcing_top_country = eu.front()->iso3;
      row.eu_sourcing_top_share = eu.front()->share;
      row.hhi_wgi_eu_sourcing = ctx.hhi_wgi(eu, nullptr);
      row.import_reliance = std::clamp(1.0 - eu_internal, 0.0, 1.0);
    } else {
      row.import_reliance = 1.0;
      row.import_reliance_estimated = true;
      row.estimated_inputs.push_back("import_reliance");
    }

    const SupplyRiskInputs* inputs = default_inputs;
    if (auto it = inputs_by_material.find(row.material); it != inputs_by_material.end()) {
      inputs = it->second;
    }
    bool eol_estimated = inputs ? inputs->is_estimate : true;
    bool si_estimated = eol_estimated;
    row.eol_rir = inputs ? inputs->eol_recycling_input_rate : 0.0;
    row.substitution_index = inputs ? inputs->substitution_index : 1.0;
    if (auto it = options.overrides.find(row.material); it != options.overrides.end()) {
      if (it->second.eol_rir) {
        row.eol_rir = *it->second.eol_rir;
        eol_estimated = false;
      }
      if (it->second.substitution_index) {
        row.substitution_index = *it->second.substitution_index;
        si_estimated = false;
      }
    }
    if (eol_estimated) row.estimated_inputs.push_back("eol_rir");
    if (si_estimated) row.estimated_inputs.push_back("substitution_index");
    // Without EU sourcing data both terms of the formula use the global concentration.
    row.supply_risk = eu_supply_risk(row.hhi_wgi, row.hhi_wgi_eu_sourcing.value_or(row.hhi_wgi),
                                     row.import_reliance, row.eol_rir, row.substitution_index);
    if (auto it = published_2023.find(row.material); it != published_2023.end()) {
      row.published_supply_risk_2023 = it->second;
    }
    if (auto it = production.find(key); it != production.end()) {
      const Production& p = it->second;
      row.world_production_t = p.has_world ? p.world_t : p.country_sum_t;
      row.world_production_year = p.year;
      row.world_production_basis = p.basis;
    }
    row.imports = import_dependencies(ctx, *material, key.stage, row.hhi, regions);
    if (options.breaches_only && !row.crma_single_country_breach) continue;
    rows.push_back(std::move(row));
  }
  if (rows.empty() && !wanted.empty() && !options.breaches_only) {
    return Status::not_found(
        "no supply-share data for the selected material(s) and stage; `critmin data info` lists "
        "the materials with data");
  }
  return rows;
}

}  // namespace critmin
