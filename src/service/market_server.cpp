// The market's HTTP JSON API (docs/market-api.md) over MarketService.
//
// Every route runs through handle(): authenticate the bearer token (401), check the caller's
// roles (403), parse and shape-check the JSON body (400), call the service and map its Status to
// an HTTP code. Any rejection answers {"error": "..."} and changes nothing.
#include "critmin/service/market_server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "critmin/service/http_server.h"
#include "service/http_routes.h"
#include "service/market_service.h"

namespace critmin {

using json = nlohmann::json;
using service::MarketService;
using service::MarketState;
using service::Participant;

Result<MarketStorage> market_storage_from_flags(const std::string& db, const std::string& log_dir) {
  if (db.empty()) {
    return Status::invalid_input("--db is empty; give the market's directory, e.g. --db market");
  }
  MarketStorage storage;
  if (db.rfind("postgres://", 0) == 0 || db.rfind("postgresql://", 0) == 0) {
    if (log_dir.empty()) {
      return Status::invalid_input(
          "--db postgresql://... keeps snapshots and query tables in PostgreSQL; give --log-dir "
          "DIR for the write-ahead log, a local directory of the one server that writes");
    }
    storage.postgres_url = db;
    storage.directory = log_dir;
    return storage;
  }
  if (!log_dir.empty()) {
    return Status::invalid_input(
        "--log-dir is only for --db postgresql://...; with a directory --db the log lives there");
  }
  if (db.rfind("file:", 0) == 0) {
    if (db.size() == 5) return Status::invalid_input("--db file: needs a path after 'file:'");
    storage.directory = db.substr(5);
    return storage;
  }
  if (db.find("://") != std::string::npos) {
    return Status::invalid_input(fmt::format(
        "--db '{}' is neither a directory nor a postgresql:// URL; give one of them", db));
  }
  storage.directory = db;
  return storage;
}

namespace {

// ---- errors -----------------------------------------------------------------------------------

struct HttpError {
  int status = 400;
  std::string message;
};

HttpError from_status(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidInput:
      return {400, status.to_string()};
    case StatusCode::kNotFound:
      return {404, status.to_string()};
    case StatusCode::kIoError:
      return {503, status.to_string()};
    default:
      return {500, status.to_string()};
  }
}

// Replaces invalid UTF-8 (a query parameter or path echoed in a message) instead of throwing.
std::string dump(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump(json{{"error", message}}), "application/json");
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

EventResponse event_error(int status, const std::string& message) {
  EventResponse answer;
  answer.status = status;
  answer.body = dump(json{{"error", message}});
  return answer;
}

EventResponse event_status(const Status& status) {
  const HttpError error = from_status(status);
  return event_error(error.status, error.message);
}

// ---- body fields ------------------------------------------------------------------------------
// Each getter checks presence and type and says what to send instead.

class Body {
 public:
  explicit Body(const json& object) : object_(object) {}

  // Fails on any key not in `known`, so that a misspelt optional field is not silently ignored.
  std::optional<HttpError> only(std::initializer_list<const char*> known) const {
    for (const auto& [key, value] : object_.items()) {
      // A handful of names: a linear scan, no set built on every request.
      const bool allowed =
          std::any_of(known.begin(), known.end(), [&key = key](const char* k) { return key == k; });
      if (!allowed) {
        std::string list;
        for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
        return HttpError{400, fmt::format("unknown field '{}'; the fields are: {}", key, list)};
      }
    }
    return std::nullopt;
  }

  bool has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

  std::optional<HttpError> text(const char* key, std::string& out, bool required) const {
    if (!has(key)) return missing(key, required, "a string");
    if (!object_[key].is_string()) return wrong(key, "a string");
    out = object_[key].get<std::string>();
    return std::nullopt;
  }
  std::optional<HttpError> number(const char* key, double& out, bool required) const {
    if (!has(key)) return missing(key, required, "a number");
    if (!object_[key].is_number()) return wrong(key, "a number");
    out = object_[key].get<double>();
    return std::nullopt;
  }
  std::optional<HttpError> number(const char* key, std::optional<double>& out) const {
    if (!has(key)) return std::nullopt;
    double value = 0.0;
    if (auto e = number(key, value, true)) return e;
    out = value;
    return std::nullopt;
  }
  std::optional<HttpError> id(const char* key, std::uint64_t& out, bool required) const {
    if (!has(key)) return missing(key, required, "a positive integer id");
    const json& v = object_[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      return wrong(key, "a positive integer id");
    }
    out = v.get<std::uint64_t>();
    return std::nullopt;
  }
  std::optional<HttpError> integer(const char* key, std::int32_t& out, bool required) const {
    if (!has(key)) return missing(key, required, "an integer");
    const json& v = object_[key];
    if (!v.is_number_integer() || v.get<std::int64_t>() < -1'000'000 ||
        v.get<std::int64_t>() > 1'000'000) {
      return wrong(key, "an integer");
    }
    out = static_cast<std::int32_t>(v.get<std::int64_t>());
    return std::nullopt;
  }
  std::optional<HttpError> boolean(const char* key, bool& out) const {
    if (!has(key)) return std::nullopt;
    if (!object_[key].is_boolean()) return wrong(key, "true or false");
    out = object_[key].get<bool>();
    return std::nullopt;
  }
  const json& raw(const char* key) const { return object_[key]; }

 private:
  static std::optional<HttpError> missing(const char* key, bool required, const char* what) {
    if (!required) return std::nullopt;
    return HttpError{400, fmt::format("field '{}' is missing; give {}", key, what)};
  }
  static std::optional<HttpError> wrong(const char* key, const char* what) {
    return HttpError{400, fmt::format("field '{}' must be {}", key, what)};
  }
  const json& object_;
};

// ---- rendering --------------------------------------------------------------------------------

json optional_number(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

json participant_json(const Participant& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"country", p.country_iso3},
          {"roles", service::role_names(p.roles)},
          {"club_member", p.club_member}};
}

json certificate_json(const service::Certificate& c) {
  return {{"id", c.id},
          {"holder_id", c.holder_id},
          {"certifier_id", c.certifier_id},
          {"facility", c.facility},
          {"material", c.material_id},
          {"standard", c.standard},
          {"valid_from", service::format_day(c.valid_from_day)},
          {"valid_to", service::format_day(c.valid_to_day)}};
}

json lot_json(const service::LotSummary& l) {
  json j = {{"id", l.id},
            {"kind", service::lot_kind_name(l.kind)},
            {"name", l.name},
            {"material", l.material_id},
            {"stage", stage_name(l.stage)},
            {"reserve_price_usd_per_t", optional_number(l.reserve_price_usd_per_t)},
            {"reference_price_usd_per_t", l.reference_price_usd_per_t},
            {"tie_rule", auction::tie_rule_name(l.tie_rule)},
            {"certified_only", l.certified_only},
            {"club_only", l.club_only},
            {"delivery_date", service::format_day(l.delivery_day)},
            {"period", l.period},
            {"orders_in_book", l.orders_in_book},
            {"calls", l.calls}};
  if (l.kind == service::LotKind::kJointPurchase) {
    j["phase"] = service::round_phase_name(l.phase);
    j["tendered_demand_t"] = l.tendered_demand_t;
  }
  return j;
}

json order_json(const service::BookOrder& o) {
  json j = {{"id", o.id},
            {"participant_id", o.participant_id},
            {"side", auction::side_name(o.side)},
            {"price_usd_per_t", o.price_usd_per_t},
            {"quantity_t", o.quantity_t},
            {"time", o.time},
            {"club_member", o.club_member}};
  if (o.certificate_id) j["certificate_id"] = o.certificate_id;
  if (!o.client_ref.empty()) j["client_ref"] = o.client_ref;
  return j;
}

// `viewer` 0 shows every fill; otherwise only the viewer's own.
json call_json(const service::CallRecord& c, std::uint64_t viewer) {
  json fills = json::array();
  for (const service::FillRecord& f : c.fills) {
    if (viewer != 0 && f.participant_id != viewer) continue;
    fills.push_back({{"order_id", f.order_id},
                     {"participant_id", f.participant_id},
                     {"side", auction::side_name(f.side)},
                     {"limit_price_usd_per_t", f.limit_price_usd_per_t},
                     {"filled_t", f.filled_t},
                     {"levy_usd", f.levy_usd}});
  }
  return {{"period", c.period},
          {"seq", c.seq},
          {"time_ms", c.time_ms},
          {"outcome", auction::outcome_name(c.outcome)},
          {"clearing_price_usd_per_t", optional_number(c.clearing_price_usd_per_t)},
          {"executed_volume_t", c.executed_volume_t},
          {"demand_at_price_t", c.demand_at_price_t},
          {"supply_at_price_t", c.supply_at_price_t},
          {"reserve_binding", c.reserve_binding},
          {"orders", c.orders},
          {"rolled_over_asks", c.rolled_over_asks},
          {"rolled_over_t", c.rolled_over_t},
          {"levy_total_usd", c.levy_total_usd},
          {"fills", fills}};
}

json contract_json(const service::Contract& c) {
  json j = {{"id", c.id},
            {"kind", c.kind == service::ContractKind::kOfftake ? "offtake" : "subsidy"},
            {"material", c.material_id},
            {"stage", stage_name(c.stage)},
            {"seller_id", c.seller_id},
            {"volume_t_per_year", c.volume_t_per_year},
            {"start_year", c.start_year},
            {"tenor_years", c.tenor_years}};
  if (c.kind == service::ContractKind::kOfftake) {
    const settlement::OfftakePrice& p = c.offtake.price;
    j["buyer_id"] = c.buyer_id;
    j["take_or_pay_share"] = c.offtake.take_or_pay_share;
    if (p.kind == settlement::OfftakePrice::Kind::kFixed) {
      j["price"] = {{"kind", "fixed"}, {"fixed_usd_per_t", p.fixed_usd_per_t}};
    } else {
      j["price"] = {{"kind", "indexed"},
                    {"index_factor", p.index_factor},
                    {"adder_usd_per_t", p.adder_usd_per_t},
                    {"floor_usd_per_t", optional_number(p.floor_usd_per_t)},
                    {"cap_usd_per_t", optional_number(p.cap_usd_per_t)}};
    }
  } else {
    const settlement::SubsidyTerms& s = c.subsidy;
    j["subsidy"] = {{"kind", settlement::subsidy_kind_name(s.kind)},
                    {"strike_usd_per_t", s.strike_usd_per_t},
                    {"upside_share", s.upside_share},
                    {"upside_threshold_usd_per_t", optional_number(s.upside_threshold_usd_per_t)},
                    {"premium_usd_per_t", s.premium_usd_per_t}};
  }
  return j;
}

json settlement_json(const service::PeriodSettled& s) {
  json entries = json::array();
  for (const service::SettlementEntry& e : s.entries) {
    json j = {{"contract_id", e.contract_id},
              {"kind", e.kind == service::ContractKind::kOfftake ? "offtake" : "subsidy"},
              {"volume_t", e.volume_t},
              {"payment_usd", e.payment_usd}};
    if (e.kind == service::ContractKind::kOfftake) {
      j["contract_price_usd_per_t"] = e.contract_price_usd_per_t;
      j["take_or_pay_shortfall_t"] = e.take_or_pay_shortfall_t;
      j["buyer_gain_vs_market_usd"] = e.buyer_gain_vs_market_usd;
    } else {
      j["payment_usd_per_t"] = e.contract_price_usd_per_t;
      j["claimed_usd"] = e.claimed_usd;
    }
    entries.push_back(j);
  }
  return {{"material", s.material_id},
          {"stage", stage_name(s.stage)},
          {"year", s.year},
          {"reference_price_usd_per_t", s.reference_price_usd_per_t},
          {"subsidy_budget_usd", optional_number(s.subsidy_budget_usd)},
          {"budget_rule", settlement::budget_rule_name(s.budget_rule)},
          {"budget_binding", s.budget_binding},
          {"entries", entries}};
}

json event_json(const service::Event& e) {
  json details;
  struct Render {
    json operator()(const service::ParticipantRegistered& x) const {
      return participant_json(x.participant);  // the token hash stays out of the audit view
    }
    json operator()(const service::CertificateIssued& x) const {
      return certificate_json(x.certificate);
    }
    json operator()(const service::LotOpened& x) const {
      return lot_json(service::summarize(x.lot));
    }
    json operator()(const service::OrderSubmitted& x) const {
      json j = order_json(x.order);
      j["lot_id"] = x.lot_id;
      return j;
    }
    json operator()(const service::LotCleared& x) const { return {{"lot_id", x.lot_id}}; }
    json operator()(const service::ContractRegistered& x) const {
      return contract_json(x.contract);
    }
    json operator()(const service::PeriodSettled& x) const { return settlement_json(x); }
    json operator()(const service::RoundTendered& x) const {
      return {{"lot_id", x.lot_id}, {"aggregated_demand_t", x.aggregated_demand_t}};
    }
    json operator()(const service::ContractTerminated& x) const {
      return {{"contract_id", x.contract_id}, {"last_year", x.last_year}, {"reason", x.reason}};
    }
  };
  return {{"seq", e.seq},
          {"time_ms", e.time_ms},
          {"actor_id", e.actor_id},
          {"type", service::event_type_name(e.body)},
          {"details", std::visit(Render{}, e.body)}};
}

// ---- request plumbing -------------------------------------------------------------------------

constexpr std::uint8_t kAnyRole = service::kAllRoles;

// Page sizes of the list endpoints (query parameter `limit`; larger values are cut to the max).
constexpr std::uint64_t kOrderPage = 1000;
constexpr std::uint64_t kMaxOrderPage = 10'000;
constexpr std::uint64_t kCallPage = 100;
constexpr std::uint64_t kMaxCallPage = 1000;

using JsonHandler = std::function<Result<json>(const Participant& caller, const Body& body,
                                               const httplib::Request& req, int& created)>;

// ---- the checks every route makes, on both server paths -------------------------------------

// The caller named by an "Authorization: Bearer <token>" header value, if it holds one of
// `roles`. Fails with kNotFound for a missing or unknown token (401) and kInvalidInput for a
// missing role (403); caller_error() turns either into the HTTP answer.
Result<Participant> check_caller(MarketService& service, std::string_view authorization,
                                 std::uint8_t roles) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return Status::not_found("missing API token; send the header 'Authorization: Bearer <token>'");
  }
  // A token is "cm_" and hex digits: anything else (a NUL byte, spaces, a second token) is not
  // a token, whatever the rest of the header holds.
  const std::string_view token = authorization.substr(kBearer.size());
  const bool well_formed =
      !token.empty() && token.size() <= 128 && std::all_of(token.begin(), token.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
  std::optional<Participant> caller =
      well_formed ? service.authenticate(token) : std::optional<Participant>();
  if (!caller) {
    return Status::not_found("the API token is not valid; ask the operator for a token");
  }
  if ((caller->roles & roles) == 0) {
    std::string needed;
    for (const std::string& r : service::role_names(roles)) {
      needed += (needed.empty() ? "" : " or ") + r;
    }
    return Status::invalid_input(fmt::format(
        "participant {} lacks the role for this request; it needs {}", caller->id, needed));
  }
  return *caller;
}

HttpError caller_error(const Status& status) {
  return {status.code() == StatusCode::kNotFound ? 401 : 403, status.message()};
}

EventResponse event_caller_error(const Status& status) {
  const HttpError error = caller_error(status);
  EventResponse answer = event_error(error.status, error.message);
  if (error.status == 401) answer.headers.emplace_back("WWW-Authenticate", "Bearer");
  return answer;
}

// A request body that must be a JSON object (parsed without exceptions).
Result<json> parse_body(std::string_view text) {
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    return Status::invalid_input("the body is not valid JSON; send a JSON object");
  }
  if (!parsed.is_object()) return Status::invalid_input("the body must be a JSON object");
  return parsed;
}

// The whole Authorization header. Not Request::get_header_value, which returns the value as a C
// string: it stops at a NUL byte, so "<token>\0junk" would read as the bare token.
std::string_view authorization_of(const httplib::Request& req) {
  auto it = req.headers.find("Authorization");
  return it == req.headers.end() ? std::string_view() : std::string_view(it->second);
}

class Routes {
 public:
  explicit Routes(MarketService& service) : service_(service) {}

  // Wraps a handler: token, role, JSON body (for POST), Status mapping.
  HttpRoutes::Handler handle(std::uint8_t roles, bool has_body, JsonHandler handler) {
    MarketService* service = &service_;  // outlives the routes (see register_routes)
    return
        [service, roles, has_body, handler](const httplib::Request& req, httplib::Response& res) {
          Result<Participant> caller = check_caller(*service, authorization_of(req), roles);
          if (!caller.is_ok()) {
            const HttpError error = caller_error(caller.status());
            if (error.status == 401) res.set_header("WWW-Authenticate", "Bearer");
            send_error(res, error.status, error.message);
            return;
          }
          json parsed = json::object();
          if (has_body) {
            Result<json> body = parse_body(req.body);
            if (!body.is_ok()) {
              send_error(res, 400, body.status().message());
              return;
            }
            parsed = std::move(body).value();
          }
          int created = 200;
          Result<json> reply = handler(caller.value(), Body(parsed), req, created);
          if (!reply.is_ok()) {
            const HttpError error = from_status(reply.status());
            send_error(res, error.status, error.message);
            return;
          }
          send_json(res, created, reply.value());
        };
  }

  MarketService& service() { return service_; }

 private:
  MarketService& service_;
};

Status bad(const HttpError& error) { return Status::invalid_input(error.message); }

Result<std::uint64_t> path_id(const httplib::Request& req) {
  if (req.matches.size() < 2) return Status::invalid_input("the path has no id");
  const std::string text = req.matches[1];
  if (text.empty() || text.size() > 18) return Status::not_found("no such id: " + text);
  return std::stoull(text);  // the route's pattern admits digits only
}

// Query parameter as an unsigned integer, `fallback` when absent.
Result<std::uint64_t> query_number(const httplib::Request& req, const char* key,
                                   std::uint64_t fallback) {
  if (!req.has_param(key)) return fallback;
  const std::string text = req.get_param_value(key);
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::invalid_input(
        fmt::format("query parameter '{}' is '{}'; give a non-negative integer", key, text));
  }
  return std::stoull(text);
}

// A page of a lot's history as a request asks for it: the lot (the path's id), the first
// sequence number after `after`, and at most `limit` entries, clamped to [1, max_limit].
struct LotPage {
  std::uint64_t lot = 0;
  std::uint64_t after = 0;
  std::size_t count = 0;
};
Result<LotPage> lot_page(const httplib::Request& req, std::uint64_t default_limit,
                         std::uint64_t max_limit) {
  Result<std::uint64_t> id = path_id(req);
  CRITMIN_RETURN_IF_ERROR(id);
  Result<std::uint64_t> after = query_number(req, "after", 0);
  CRITMIN_RETURN_IF_ERROR(after);
  Result<std::uint64_t> limit = query_number(req, "limit", default_limit);
  CRITMIN_RETURN_IF_ERROR(limit);
  return LotPage{id.value(), after.value(),
                 static_cast<std::size_t>(std::clamp<std::uint64_t>(limit.value(), 1, max_limit))};
}

bool sees_everything(const Participant& p) {
  return (p.roles & (service::kOperator | service::kAuditor)) != 0;
}

Result<auction::Side> parse_side(const std::string& text) {
  if (text == "buy") return auction::Side::kBuy;
  if (text == "sell") return auction::Side::kSell;
  return Status::invalid_input(fmt::format("side: '{}' is not a side; use buy or sell", text));
}

Result<settlement::OfftakePrice> parse_offtake_price(const json& value) {
  if (!value.is_object()) {
    return Status::invalid_input(
        "price must be an object: {\"kind\":\"fixed\",\"fixed_usd_per_t\":...} or "
        "{\"kind\":\"indexed\",\"index_factor\":...,\"adder_usd_per_t\":...}");
  }
  Body body(value);
  settlement::OfftakePrice price;
  std::string kind;
  if (auto e = body.text("kind", kind, true)) return bad(*e);
  if (kind == "fixed") {
    if (auto e = body.only({"kind", "fixed_usd_per_t"})) return bad(*e);
    price.kind = settlement::OfftakePrice::Kind::kFixed;
    if (auto e = body.number("fixed_usd_per_t", price.fixed_usd_per_t, true)) return bad(*e);
  } else if (kind == "indexed") {
    if (auto e = body.only(
            {"kind", "index_factor", "adder_usd_per_t", "floor_usd_per_t", "cap_usd_per_t"})) {
      return bad(*e);
    }
    price.kind = settlement::OfftakePrice::Kind::kIndexed;
    if (auto e = body.number("index_factor", price.index_factor, false)) return bad(*e);
    if (auto e = body.number("adder_usd_per_t", price.adder_usd_per_t, false)) return bad(*e);
    if (auto e = body.number("floor_usd_per_t", price.floor_usd_per_t)) return bad(*e);
    if (auto e = body.number("cap_usd_per_t", price.cap_usd_per_t)) return bad(*e);
  } else {
    return Status::invalid_input(
        fmt::format("price.kind: '{}' is not a price kind; use fixed or indexed", kind));
  }
  return price;
}

Result<settlement::SubsidyTerms> parse_subsidy(const json& value) {
  if (!value.is_object()) {
    return Status::invalid_input(
        "subsidy must be an object: {\"kind\":\"two_way_cfd\",\"strike_usd_per_t\":...}");
  }
  Body body(value);
  if (auto e = body.only({"kind", "strike_usd_per_t", "upside_share", "upside_threshold_usd_per_t",
                          "premium_usd_per_t"})) {
    return bad(*e);
  }
  settlement::SubsidyTerms terms;
  std::string kind;
  if (auto e = body.text("kind", kind, true)) return bad(*e);
  // The API's name of the two-way CfD is "two_way_cfd" (docs/market-api.md); "cfd", the
  // scenario files' name, is accepted too.
  bool known = false;
  if (kind == "two_way_cfd") {
    terms.kind = settlement::SubsidyKind::kTwoWayCfd;
    known = true;
  }
  for (settlement::SubsidyKind k :
       {settlement::SubsidyKind::kTwoWayCfd, settlement::SubsidyKind::kFloorWithUpsideShare,
        settlement::SubsidyKind::kFixedPremium}) {
    if (kind == settlement::subsidy_kind_name(k)) {
      terms.kind = k;
      known = true;
    }
  }
  if (!known) {
    return Status::invalid_input(
        fmt::format("subsidy.kind: '{}' is not a subsidy kind; use two_way_cfd, {} or {}", kind,
                    settlement::subsidy_kind_name(settlement::SubsidyKind::kFloorWithUpsideShare),
                    settlement::subsidy_kind_name(settlement::SubsidyKind::kFixedPremium)));
  }
  if (auto e = body.number("strike_usd_per_t", terms.strike_usd_per_t, false)) return bad(*e);
  if (auto e = body.number("upside_share", terms.upside_share, false)) return bad(*e);
  if (auto e = body.number("upside_threshold_usd_per_t", terms.upside_threshold_usd_per_t)) {
    return bad(*e);
  }
  if (auto e = body.number("premium_usd_per_t", terms.premium_usd_per_t, false)) return bad(*e);
  return terms;
}

// One order of a request body (POST /lots/{id}/orders or one item of .../orders/batch).
Result<service::NewOrder> parse_order(const Body& body, std::uint64_t lot_id) {
  if (auto e =
          body.only({"side", "price_usd_per_t", "quantity_t", "certificate_id", "client_ref"})) {
    return bad(*e);
  }
  service::NewOrder request;
  request.lot_id = lot_id;
  std::string side;
  if (auto e = body.text("side", side, true)) return bad(*e);
  Result<auction::Side> parsed = parse_side(side);
  CRITMIN_RETURN_IF_ERROR(parsed);
  request.side = parsed.value();
  if (auto e = body.number("price_usd_per_t", request.price_usd_per_t, true)) return bad(*e);
  if (auto e = body.number("quantity_t", request.quantity_t, true)) return bad(*e);
  if (auto e = body.id("certificate_id", request.certificate_id, false)) return bad(*e);
  if (auto e = body.text("client_ref", request.client_ref, false)) return bad(*e);
  return request;
}

void add_routes(HttpServer& server, Routes& routes) {
  HttpRoutes http(server);
  using service::kAuditor;
  using service::kBuyer;
  using service::kCertifier;
  using service::kOperator;
  using service::kSeller;
  MarketService& svc = routes.service();
  const std::string base = "/market/v1";

  // The two routes on the event loop (include/critmin/service/http_server.h). Orders: checked,
  // applied and queued for the log at once; the 201 is sent from the log writer's completion after
  // the fdatasync, so no thread waits per order. GET /me answers at once; it is the benchmark's
  // baseline, the cost of a request on this path without the log.
  server.event_route(
      "GET", base + "/me", [&svc](const EventRequest& req, EventResponder responder) {
        Result<Participant> caller = check_caller(svc, req.header("Authorization"), kAnyRole);
        if (!caller.is_ok()) {
          responder.respond(event_caller_error(caller.status()));
          return;
        }
        EventResponse answer;
        answer.body = dump(participant_json(caller.value()));
        responder.respond(std::move(answer));
      });

  server.event_route(
      "POST", base + "/lots/{id}/orders",
      [&svc](const EventRequest& req, EventResponder responder) {
        Result<Participant> caller =
            check_caller(svc, req.header("Authorization"), kBuyer | kSeller);
        if (!caller.is_ok()) {
          responder.respond(event_caller_error(caller.status()));
          return;
        }
        Result<json> parsed = parse_body(req.body);
        if (!parsed.is_ok()) {
          responder.respond(event_error(400, parsed.status().message()));
          return;
        }
        const std::uint64_t lot = req.ids[0];
        Result<service::NewOrder> request = parse_order(Body(parsed.value()), lot);
        if (!request.is_ok()) {
          responder.respond(event_status(request.status()));
          return;
        }
        Result<MarketService::QueuedOrder> queued =
            svc.submit_order_queued(caller.value().id, request.value());
        if (!queued.is_ok()) {
          responder.respond(event_status(queued.status()));
          return;
        }
        json reply = {{"id", queued.value().id}, {"lot_id", lot}};
        if (!request.value().client_ref.empty()) reply["client_ref"] = request.value().client_ref;
        EventResponse created;
        created.status = 201;
        created.body = dump(reply);
        // Acknowledged only once durable: on the writer thread, right after the fdatasync.
        svc.when_durable(queued.value().seq,
                         [responder, created = std::move(created)](const Status& durable) mutable {
                           if (!durable.is_ok()) {
                             responder.respond(event_status(durable));
                             return;
                           }
                           responder.respond(std::move(created));
                         });
      });

  http.Post(
      base + R"(/lots/(\d+)/orders/batch)",
      routes.handle(
          kBuyer | kSeller, true,
          [&svc](const Participant& caller, const Body& body, const httplib::Request& req,
                 int& created) -> Result<json> {
            if (auto e = body.only({"orders"})) return bad(*e);
            Result<std::uint64_t> lot = path_id(req);
            CRITMIN_RETURN_IF_ERROR(lot);
            if (!body.has("orders") || !body.raw("orders").is_array()) {
              return Status::invalid_input("field 'orders' must be an array of orders (1 to 1000)");
            }
            std::vector<service::NewOrder> requests;
            for (const json& item : body.raw("orders")) {
              if (!item.is_object()) {
                return Status::invalid_input(
                    fmt::format("orders[{}] must be an object", requests.size()));
              }
              Result<service::NewOrder> request = parse_order(Body(item), lot.value());
              if (!request.is_ok()) {
                return Status::invalid_input(
                    fmt::format("orders[{}]: {}", requests.size(), request.status().message()));
              }
              requests.push_back(std::move(request).value());
            }
            Result<std::vector<std::uint64_t>> ids = svc.submit_orders(caller.id, requests);
            CRITMIN_RETURN_IF_ERROR(ids);
            created = 201;
            return json{{"lot_id", lot.value()}, {"ids", ids.value()}};
          }));

  http.Get(base + "/status", routes.handle(kAnyRole, false,
                                           [&svc](const Participant&, const Body&,
                                                  const httplib::Request&, int&) -> Result<json> {
                                             Result<service::MarketCounts> counts = svc.counts();
                                             CRITMIN_RETURN_IF_ERROR(counts);
                                             const service::MarketCounts& c = counts.value();
                                             return json{{"contracts", c.contracts},
                                                         {"fsyncs", svc.fsync_count()},
                                                         {"last_seq", c.last_seq},
                                                         {"lots", c.lots},
                                                         {"participants", c.participants}};
                                           }));

  http.Post(
      base + "/participants",
      routes.handle(
          kOperator, true,
          [&svc](const Participant& caller, const Body& body, const httplib::Request&,
                 int& created) -> Result<json> {
            if (auto e = body.only({"name", "country", "roles"})) return bad(*e);
            service::NewParticipant request;
            if (auto e = body.text("name", request.name, true)) return bad(*e);
            if (auto e = body.text("country", request.country_iso3, true)) {
              return bad(*e);
            }
            if (!body.has("roles") || !body.raw("roles").is_array() || body.raw("roles").empty()) {
              return Status::invalid_input(
                  "field 'roles' must be a non-empty array of role names (operator, "
                  "buyer, seller, certifier, auditor)");
            }
            for (const json& role : body.raw("roles")) {
              const std::optional<service::Role> parsed =
                  role.is_string() ? service::parse_role(role.get<std::string>()) : std::nullopt;
              if (!parsed) {
                return Status::invalid_input(
                    fmt::format("roles: {} is not a role; use operator, buyer, seller, "
                                "certifier or auditor",
                                role.dump()));
              }
              request.roles |= *parsed;
            }
            Result<service::Registered> r = svc.register_participant(caller.id, request);
            CRITMIN_RETURN_IF_ERROR(r);
            created = 201;
            return json{{"id", r.value().id}, {"token", r.value().token}};
          }));

  http.Get(base + "/participants",
           routes.handle(kOperator | kAuditor, false,
                         [&svc](const Participant&, const Body&, const httplib::Request&,
                                int&) -> Result<json> {
                           Result<std::vector<Participant>> all = svc.participants();
                           CRITMIN_RETURN_IF_ERROR(all);
                           json list = json::array();
                           for (const Participant& p : all.value()) {
                             list.push_back(participant_json(p));
                           }
                           return list;
                         }));

  http.Post(base + "/certificates",
            routes.handle(kCertifier, true,
                          [&svc](const Participant& caller, const Body& body,
                                 const httplib::Request&, int& created) -> Result<json> {
                            if (auto e = body.only({"holder_id", "facility", "material", "standard",
                                                    "valid_from", "valid_to"})) {
                              return bad(*e);
                            }
                            service::NewCertificate request;
                            if (auto e = body.id("holder_id", request.holder_id, true))
                              return bad(*e);
                            if (auto e = body.text("facility", request.facility, true))
                              return bad(*e);
                            if (auto e = body.text("material", request.material, true))
                              return bad(*e);
                            if (auto e = body.text("standard", request.standard, true))
                              return bad(*e);
                            if (auto e = body.text("valid_from", request.valid_from, true)) {
                              return bad(*e);
                            }
                            if (auto e = body.text("valid_to", request.valid_to, true))
                              return bad(*e);
                            Result<std::uint64_t> id = svc.issue_certificate(caller.id, request);
                            CRITMIN_RETURN_IF_ERROR(id);
                            created = 201;
                            return json{{"id", id.value()}};
                          }));

  http.Get(base + "/certificates",
           routes.handle(kAnyRole, false,
                         [&svc](const Participant&, const Body&, const httplib::Request&,
                                int&) -> Result<json> {
                           Result<std::vector<service::Certificate>> all = svc.certificates();
                           CRITMIN_RETURN_IF_ERROR(all);
                           json list = json::array();
                           for (const service::Certificate& c : all.value()) {
                             list.push_back(certificate_json(c));
                           }
                           return list;
                         }));

  http.Post(
      base + "/lots",
      routes.handle(
          kOperator, true,
          [&svc](const Participant& caller, const Body& body, const httplib::Request&,
                 int& created) -> Result<json> {
            if (auto e = body.only({"name", "material", "stage", "reserve_price_usd_per_t",
                                    "reference_price_usd_per_t", "tie_rule", "certified_only",
                                    "club_only", "joint_purchase", "delivery_date"})) {
              return bad(*e);
            }
            service::NewLot request;
            if (auto e = body.text("name", request.name, false)) return bad(*e);
            if (auto e = body.text("material", request.material, true)) return bad(*e);
            if (auto e = body.text("stage", request.stage, true)) return bad(*e);
            if (auto e = body.number("reserve_price_usd_per_t", request.reserve_price_usd_per_t)) {
              return bad(*e);
            }
            if (auto e =
                    body.number("reference_price_usd_per_t", request.reference_price_usd_per_t)) {
              return bad(*e);
            }
            if (auto e = body.text("tie_rule", request.tie_rule, false)) return bad(*e);
            if (auto e = body.boolean("certified_only", request.certified_only)) return bad(*e);
            if (auto e = body.boolean("club_only", request.club_only)) return bad(*e);
            if (auto e = body.boolean("joint_purchase", request.joint_purchase)) return bad(*e);
            if (auto e = body.text("delivery_date", request.delivery_date, true)) return bad(*e);
            Result<std::uint64_t> id = svc.open_lot(caller.id, request);
            CRITMIN_RETURN_IF_ERROR(id);
            created = 201;
            return json{{"id", id.value()}};
          }));

  http.Get(base + "/lots", routes.handle(kAnyRole, false,
                                         [&svc](const Participant&, const Body&,
                                                const httplib::Request&, int&) -> Result<json> {
                                           Result<std::vector<service::LotSummary>> all =
                                               svc.lots();
                                           CRITMIN_RETURN_IF_ERROR(all);
                                           json list = json::array();
                                           for (const service::LotSummary& l : all.value()) {
                                             list.push_back(lot_json(l));
                                           }
                                           return list;
                                         }));

  http.Get(base + R"(/lots/(\d+))",
           routes.handle(kAnyRole, false,
                         [&svc](const Participant&, const Body&, const httplib::Request& req,
                                int&) -> Result<json> {
                           Result<std::uint64_t> id = path_id(req);
                           CRITMIN_RETURN_IF_ERROR(id);
                           Result<service::LotSummary> lot = svc.lot(id.value());
                           CRITMIN_RETURN_IF_ERROR(lot);
                           return lot_json(lot.value());
                         }));

  // The book of the current call: everything for the operator and auditors, a participant's own
  // orders for everyone else (the auction is sealed).
  http.Get(base + R"(/lots/(\d+)/orders)",
           routes.handle(kAnyRole, false,
                         [&svc](const Participant& caller, const Body&, const httplib::Request& req,
                                int&) -> Result<json> {
                           Result<LotPage> asked = lot_page(req, kOrderPage, kMaxOrderPage);
                           CRITMIN_RETURN_IF_ERROR(asked);
                           const std::uint64_t viewer = sees_everything(caller) ? 0 : caller.id;
                           Result<service::OrderPage> page = svc.orders(
                               asked.value().lot, viewer, asked.value().after, asked.value().count);
                           CRITMIN_RETURN_IF_ERROR(page);
                           json list = json::array();
                           for (const service::BookOrder& o : page.value().orders)
                             list.push_back(order_json(o));
                           json next_after = nullptr;
                           if (page.value().next_after) next_after = *page.value().next_after;
                           return json{{"lot_id", page.value().lot_id},
                                       {"next_after", next_after},
                                       {"orders", list},
                                       {"period", page.value().period}};
                         }));

  http.Post(base + R"(/lots/(\d+)/clear)",
            routes.handle(kOperator, true,
                          [&svc](const Participant& caller, const Body& body,
                                 const httplib::Request& req, int&) -> Result<json> {
                            if (auto e = body.only({})) return bad(*e);
                            Result<std::uint64_t> id = path_id(req);
                            CRITMIN_RETURN_IF_ERROR(id);
                            Result<service::CallRecord> call = svc.clear_lot(caller.id, id.value());
                            CRITMIN_RETURN_IF_ERROR(call);
                            json reply = call_json(call.value(), 0);
                            reply.erase("fills");
                            reply["fill_count"] = call.value().fill_count;
                            return reply;
                          }));

  http.Post(
      base + R"(/lots/(\d+)/tender)",
      routes.handle(kOperator, true,
                    [&svc](const Participant& caller, const Body& body, const httplib::Request& req,
                           int&) -> Result<json> {
                      if (auto e = body.only({})) return bad(*e);
                      Result<std::uint64_t> id = path_id(req);
                      CRITMIN_RETURN_IF_ERROR(id);
                      Result<double> demand = svc.tender_round(caller.id, id.value());
                      CRITMIN_RETURN_IF_ERROR(demand);
                      return json{{"lot_id", id.value()}, {"aggregated_demand_t", demand.value()}};
                    }));

  http.Get(base + R"(/lots/(\d+)/calls)",
           routes.handle(kAnyRole, false,
                         [&svc](const Participant& caller, const Body&, const httplib::Request& req,
                                int&) -> Result<json> {
                           Result<LotPage> asked = lot_page(req, kCallPage, kMaxCallPage);
                           CRITMIN_RETURN_IF_ERROR(asked);
                           const std::uint64_t viewer = sees_everything(caller) ? 0 : caller.id;
                           Result<std::vector<service::CallRecord>> calls = svc.calls(
                               asked.value().lot, viewer, asked.value().after, asked.value().count);
                           CRITMIN_RETURN_IF_ERROR(calls);
                           json list = json::array();
                           for (const service::CallRecord& c : calls.value()) {
                             list.push_back(call_json(c, viewer));
                           }
                           return list;
                         }));

  http.Post(
      base + "/contracts",
      routes.handle(
          kOperator, true,
          [&svc](const Participant& caller, const Body& body, const httplib::Request&,
                 int& created) -> Result<json> {
            if (auto e = body.only({"kind", "material", "stage", "buyer_id", "seller_id", "price",
                                    "subsidy", "volume_t_per_year", "start_year", "tenor_years",
                                    "take_or_pay_share"})) {
              return bad(*e);
            }
            service::NewContract request;
            std::string kind;
            if (auto e = body.text("kind", kind, true)) return bad(*e);
            if (auto e = body.text("material", request.material, true)) return bad(*e);
            if (auto e = body.text("stage", request.stage, true)) return bad(*e);
            if (auto e = body.id("seller_id", request.seller_id, true)) return bad(*e);
            if (auto e = body.number("volume_t_per_year", request.volume_t_per_year, true)) {
              return bad(*e);
            }
            if (auto e = body.integer("start_year", request.start_year, true)) return bad(*e);
            if (auto e = body.integer("tenor_years", request.tenor_years, true)) return bad(*e);
            if (kind == "offtake") {
              request.kind = service::ContractKind::kOfftake;
              if (auto e = body.id("buyer_id", request.buyer_id, true)) return bad(*e);
              if (!body.has("price")) {
                return Status::invalid_input("field 'price' is missing; give the price formula");
              }
              if (body.has("subsidy")) {
                return Status::invalid_input("an offtake contract has no 'subsidy'; remove it");
              }
              Result<settlement::OfftakePrice> price = parse_offtake_price(body.raw("price"));
              CRITMIN_RETURN_IF_ERROR(price);
              request.offtake.price = price.value();
              request.offtake.volume_t_per_year = request.volume_t_per_year;
              request.offtake.start_year = request.start_year;
              request.offtake.tenor_years = request.tenor_years;
              if (auto e =
                      body.number("take_or_pay_share", request.offtake.take_or_pay_share, false)) {
                return bad(*e);
              }
            } else if (kind == "subsidy") {
              request.kind = service::ContractKind::kSubsidy;
              if (body.has("buyer_id") || body.has("price") || body.has("take_or_pay_share")) {
                return Status::invalid_input(
                    "a subsidy contract has no buyer_id, price or take_or_pay_share; the "
                    "scheme pays the producer (seller_id)");
              }
              if (!body.has("subsidy")) {
                return Status::invalid_input("field 'subsidy' is missing; give the subsidy terms");
              }
              Result<settlement::SubsidyTerms> terms = parse_subsidy(body.raw("subsidy"));
              CRITMIN_RETURN_IF_ERROR(terms);
              request.subsidy = terms.value();
            } else {
              return Status::invalid_input(
                  fmt::format("kind: '{}' is not a contract kind; use offtake or subsidy", kind));
            }
            Result<std::uint64_t> id = svc.register_contract(caller.id, request);
            CRITMIN_RETURN_IF_ERROR(id);
            created = 201;
            return json{{"id", id.value()}};
          }));

  http.Get(base + "/contracts",
           routes.handle(kAnyRole, false,
                         [&svc](const Participant& caller, const Body&, const httplib::Request&,
                                int&) -> Result<json> {
                           const std::uint64_t viewer = sees_everything(caller) ? 0 : caller.id;
                           Result<std::vector<service::Contract>> all = svc.contracts(viewer);
                           CRITMIN_RETURN_IF_ERROR(all);
                           json list = json::array();
                           for (const service::Contract& c : all.value()) {
                             list.push_back(contract_json(c));
                           }
                           return list;
                         }));

  http.Post(base + R"(/contracts/(\d+)/terminate)",
            routes.handle(kOperator, true,
                          [&svc](const Participant& caller, const Body& body,
                                 const httplib::Request& req, int&) -> Result<json> {
                            if (auto e = body.only({"last_year", "reason"})) return bad(*e);
                            Result<std::uint64_t> id = path_id(req);
                            CRITMIN_RETURN_IF_ERROR(id);
                            std::int32_t last_year = 0;
                            if (auto e = body.integer("last_year", last_year, true)) {
                              return bad(*e);
                            }
                            std::string reason;
                            if (auto e = body.text("reason", reason, false)) return bad(*e);
                            Result<service::Contract> contract =
                                svc.terminate_contract(caller.id, id.value(), last_year, reason);
                            CRITMIN_RETURN_IF_ERROR(contract);
                            return contract_json(contract.value());
                          }));

  http.Post(base + "/settlements",
            routes.handle(
                kOperator, true,
                [&svc](const Participant& caller, const Body& body, const httplib::Request&,
                       int& created) -> Result<json> {
                  if (auto e = body.only({"material", "stage", "year", "reference_price_usd_per_t",
                                          "deliveries", "subsidy_budget_usd", "budget_rule"})) {
                    return bad(*e);
                  }
                  service::SettleRequest request;
                  if (auto e = body.text("material", request.material, true)) return bad(*e);
                  if (auto e = body.text("stage", request.stage, true)) return bad(*e);
                  if (auto e = body.integer("year", request.year, true)) return bad(*e);
                  if (auto e = body.number("reference_price_usd_per_t",
                                           request.reference_price_usd_per_t)) {
                    return bad(*e);
                  }
                  if (auto e = body.number("subsidy_budget_usd", request.subsidy_budget_usd)) {
                    return bad(*e);
                  }
                  std::string rule = "pro_rata";
                  if (auto e = body.text("budget_rule", rule, false)) return bad(*e);
                  if (rule == "first_come") {
                    request.budget_rule = settlement::BudgetRule::kFirstCome;
                  } else if (rule != "pro_rata") {
                    return Status::invalid_input(
                        fmt::format("budget_rule: '{}' is not a budget rule; use pro_rata or "
                                    "first_come",
                                    rule));
                  }
                  if (body.has("deliveries")) {
                    if (!body.raw("deliveries").is_array()) {
                      return Status::invalid_input(
                          "field 'deliveries' must be an array of {\"contract_id\", "
                          "\"volume_t\"}");
                    }
                    for (const json& item : body.raw("deliveries")) {
                      if (!item.is_object()) {
                        return Status::invalid_input("each delivery must be an object");
                      }
                      Body d(item);
                      if (auto e = d.only({"contract_id", "volume_t"})) return bad(*e);
                      service::Delivery delivery;
                      if (auto e = d.id("contract_id", delivery.contract_id, true)) {
                        return bad(*e);
                      }
                      if (auto e = d.number("volume_t", delivery.volume_t, true)) {
                        return bad(*e);
                      }
                      request.deliveries.push_back(delivery);
                    }
                  }
                  Result<service::PeriodSettled> settled = svc.settle_period(caller.id, request);
                  CRITMIN_RETURN_IF_ERROR(settled);
                  created = 201;
                  return settlement_json(settled.value());
                }));

  http.Get(base + "/settlements",
           routes.handle(kOperator | kAuditor, false,
                         [&svc](const Participant&, const Body&, const httplib::Request&,
                                int&) -> Result<json> {
                           Result<std::vector<service::PeriodSettled>> all = svc.settlements();
                           CRITMIN_RETURN_IF_ERROR(all);
                           json list = json::array();
                           for (const service::PeriodSettled& p : all.value()) {
                             list.push_back(settlement_json(p));
                           }
                           return list;
                         }));

  http.Get(base + "/audit",
           routes.handle(kAuditor, false,
                         [&svc](const Participant&, const Body&, const httplib::Request& req,
                                int&) -> Result<json> {
                           Result<std::uint64_t> after = query_number(req, "after", 0);
                           CRITMIN_RETURN_IF_ERROR(after);
                           Result<std::uint64_t> limit = query_number(req, "limit", 100);
                           CRITMIN_RETURN_IF_ERROR(limit);
                           const std::uint64_t count = std::min<std::uint64_t>(limit.value(), 1000);
                           Result<std::vector<service::AuditRecord>> records =
                               svc.read_audit(after.value(), count);
                           CRITMIN_RETURN_IF_ERROR(records);
                           json list = json::array();
                           for (const service::AuditRecord& record : records.value()) {
                             Result<service::Event> event = service::decode_event(record.event);
                             if (!event.is_ok()) return Status::internal(event.status().message());
                             list.push_back(event_json(event.value()));
                           }
                           return json{{"events", list}};
                         }));

  http.Post(base + "/snapshot",
            routes.handle(kOperator, true,
                          [&svc](const Participant&, const Body& body, const httplib::Request&,
                                 int&) -> Result<json> {
                            if (auto e = body.only({})) return bad(*e);
                            Status status = svc.snapshot();
                            CRITMIN_RETURN_IF_ERROR(status);
                            return json{{"snapshot_seq", svc.last_seq()}};
                          }));
}

}  // namespace

Result<std::unique_ptr<MarketServer>> MarketServer::open(const MarketServerOptions& options,
                                                         const Dataset& dataset) {
  service::ServiceConfig config;
  config.directory = options.directory;
  config.postgres_url = options.postgres_url;
  config.snapshot_every_events = options.snapshot_every_events;
  config.repair = options.repair;
  Result<std::unique_ptr<MarketService>> opened =
      MarketService::open(config, std::make_shared<const Dataset>(dataset));
  CRITMIN_RETURN_IF_ERROR(opened);
  std::unique_ptr<MarketServer> server(new MarketServer());
  server->options_ = options;
  server->service_ = std::move(opened).value();
  return server;
}

MarketServer::~MarketServer() = default;

std::string MarketServer::recovery_summary() const {
  const service::RecoveryReport& r = service_->recovery();
  return fmt::format(
      "recovered {} events ({}; {} replayed from the log{}{}) in {:.3f} s; last event {}",
      r.last_seq, r.from_snapshot ? fmt::format("snapshot at {}", r.snapshot_seq) : "no snapshot",
      r.replayed_events,
      r.torn_bytes_truncated ? fmt::format(", {} torn bytes cut", r.torn_bytes_truncated) : "",
      r.lost_events_skipped
          ? fmt::format(", {} events lost to an earlier repair skipped", r.lost_events_skipped)
          : "",
      r.seconds, r.last_seq);
}

std::vector<std::string> MarketServer::repair_report() const { return service_->recovery().repair; }

Result<std::string> MarketServer::create_operator(const std::string& name,
                                                  const std::string& country_iso3) {
  service::NewParticipant request;
  request.name = name;
  request.country_iso3 = country_iso3;
  request.roles = service::kOperator;
  Result<service::Registered> registered = service_->register_participant(0, request);
  CRITMIN_RETURN_IF_ERROR(registered);
  return registered.value().token;
}

void MarketServer::register_routes(HttpServer& server) {
  // Every handler captures the service by reference; Routes itself is only needed while adding.
  Routes routes(*service_);
  add_routes(server, routes);
  server.set_payload_max_length(options_.max_body_bytes);
  // Every market route needs a token: a request without a valid one is refused from its header
  // block, before its body is read, so an unauthenticated client cannot make the server wait
  // for a body (the route itself checks roles, as before).
  MarketService* service = service_.get();
  server.set_header_check([service](const EventRequest& request) -> std::optional<EventResponse> {
    if (request.path.rfind("/market/v1/", 0) != 0) return std::nullopt;
    Result<Participant> caller = check_caller(*service, request.header("Authorization"), kAnyRole);
    if (caller.is_ok()) return std::nullopt;
    return event_caller_error(caller.status());
  });
  HttpRoutes http(server);
  const std::size_t limit = options_.max_body_bytes;
  http.set_error_handler([limit](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route already explained the error
    std::string message;
    switch (res.status) {
      case 404:
        message = "no such endpoint; see docs/market-api.md for the routes under /market/v1";
        break;
      case 413:
        message = fmt::format("the request body is larger than {} bytes; send less", limit);
        break;
      case 400:
        message = "the request is malformed";
        break;
      case 431:
        message = "the request's header block is larger than 16 KiB; send fewer or shorter headers";
        break;
      default:
        message = fmt::format("HTTP {}", res.status);
    }
    send_error(res, res.status, message);
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, 500, "internal error while handling the request; please report it");
      });
}

}  // namespace critmin
