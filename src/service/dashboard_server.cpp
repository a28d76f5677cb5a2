// The dashboard of `critmin serve` and its JSON API under /api/v1 (critmin/service/dashboard.h,
// docs/api.md).
#include "critmin/scenario/scenario.h"
#include "critmin/service/dashboard.h"

#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "core/text.h"
#include "critmin/core/files.h"
#include "critmin/metrics/assess.h"
#include "critmin/report/report.h"
#include "critmin/report/results_report.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/investability.h"
#include "critmin/sim/simulation.h"
#include "report/web_assets.h"
#include "service/http_routes.h"

namespace critmin {

using nlohmann::json;

struct DashboardServer::Impl {
  Impl(const Dataset& dataset, DashboardOptions options);
  ~Impl();
  void register_routes(HttpServer& server);
  bool wait_idle(double timeout_seconds);

  struct Job;
  void run_jobs();
  // Reads a compare job's body (scenarios, runs) into `job`: kInvalidInput / kNotFound with a
  // message naming the field.
  Status read_compare_request(const nlohmann::json& body, Job& job) const;

  const Dataset& data_;
  DashboardOptions options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::uint64_t next_id_ = 1;
  bool running_job_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

struct DashboardServer::Impl::Job {
  std::uint64_t id = 0;
  std::string kind = "simulate";
  std::string name;
  std::string scenario_text;
  sim::SimulationScenario scenario;  // kind simulate
  // kind compare: the designs in order, their file names (the fallback design names) and the
  // ensemble runs per design.
  std::vector<sim::SimulationScenario> designs;
  std::vector<std::string> design_files;
  std::size_t runs = 0;
  // Guarded by the server's mutex.
  std::string status = "queued";  // queued, running, done, failed
  int years_done = 0;
  int years_total = 0;
  std::size_t runs_done = 0;
  std::size_t runs_total = 0;
  std::string error;
  std::string summary_json;  // when done: summary.json (simulate) or compare.json (compare)
  std::vector<std::string> design_summaries;  // when done, compare: each design's summary.json
  std::optional<report::ReportModel> report;  // when done
  double seconds = 0.0;
};

namespace {

// A compare job holds at most this many designs and ensemble runs per design, so that one job
// cannot occupy the worker for hours.
constexpr std::size_t kMaxCompareDesigns = 6;
constexpr std::size_t kMaxCompareRuns = 200;

}  // namespace

namespace {

// An XLSX workbook as bytes: libxlsxwriter writes only to files, so `write` fills a private
// temporary file (named after `what`, the process and a random number), which is read back and
// removed on every path.
Result<std::string> xlsx_bytes(const std::string& what,
                               const std::function<Status(const std::filesystem::path&)>& write) {
  std::random_device random;
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() /
      fmt::format("critmin_{}_{}_{}.xlsx", what, ::getpid(), random());
  Status written = write(file);
  Result<std::string> bytes = written.is_ok() ? read_text_file(file) : Result<std::string>(written);
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
  return bytes;
}

// One region's imports of the assessed rows, for the dashboard's dependency view: per material
// and stage the figures of `critmin assess --region R --format json` (value in EUR and USD, the
// main partners with China always, the shared-basket flag), and the region's total from
// import_totals, which counts a CN8 code that several materials share once.
json dependency_json(const std::string& region, const std::vector<AssessmentRow>& rows) {
  json out;
  out["region"] = region;
  json list = json::array();
  for (const AssessmentRow& r : rows) {
    for (const ImportDependency& d : r.imports) {
      if (d.region != region) continue;
      json partners = json::array();
      for (const PartnerShare& p : d.main_partners) {
        partners.push_back({{"iso3", p.iso3},
                            {"share", p.share},
                            {"value_eur", p.value_eur},
                            {"value_usd", p.value_usd}});
      }
      list.push_back({{"material", r.material},
                      {"material_name", r.material_name},
                      {"stage", stage_name(r.stage)},
                      {"year", d.year},
                      {"value_eur", d.value_eur},
                      {"value_usd", d.value_usd},
                      {"top_partner", d.top_partner},
                      {"china_share", d.china_share},
                      {"main_partners", std::move(partners)},
                      {"shared_basket", d.shared_basket},
                      {"cn8_codes", d.cn8_codes}});
    }
  }
  out["rows"] = std::move(list);
  json total = {{"value_eur", 0.0}, {"value_usd", 0.0}, {"codes", 0}, {"shared_codes", 0}};
  for (const ImportTotal& t : import_totals(rows)) {
    if (t.region != region) continue;
    total = {{"year", t.year},
             {"value_eur", t.value_eur},
             {"value_usd", t.value_usd},
             {"codes", t.codes},
             {"shared_codes", t.shared_codes}};
  }
  out["total"] = std::move(total);
  return out;
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  // Messages may quote request bytes that are not UTF-8: replace those rather than throw.
  res.set_content(
      json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
      "application/json");
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

void send_file(httplib::Response& res, const std::string& body, const std::string& type,
               const std::string& download_name) {
  res.status = 200;
  res.set_content(body, type);
  if (!download_name.empty()) {
    res.set_header("Content-Disposition", "attachment; filename=\"" + download_name + "\"");
  }
}

// Wraps a handler: any exception becomes a 500 with a message instead of reaching the server.
HttpRoutes::Handler guarded(HttpRoutes::Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const std::exception& e) {
      send_error(res, 500, fmt::format("internal error: {}; please report it", e.what()));
    }
  };
}

// The page: web/dashboard.html's body with the stylesheet and scripts inlined.
std::string dashboard_page() {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>critmin dashboard</title>\n<style>\n";
  html += report::web_asset("report.css");
  html += "\n</style>\n</head>\n<body>\n";
  html += report::web_asset("dashboard.html");
  html += "\n<script>\n";
  html += report::web_asset("chart.js");
  html += "\n</script>\n<script>\n";
  html += report::web_asset("report.js");
  html += "\n</script>\n<script>\n";
  html += report::web_asset("dashboard.js");
  html += "\n</script>\n</body>\n</html>\n";
  return html;
}

// "a,b, c" -> {"a", "b", "c"}; empty items dropped.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// The query of /assess and /dependency: no parameter outside `known` (`listed` names them for
// the message), then `material` (a list) and `stage` (extraction, processing, both or empty) into
// `options`. False, with a 400 answer sent, when the query breaks either rule.
bool read_assess_query(const httplib::Request& req, httplib::Response& res,
                       const std::set<std::string>& known, std::string_view listed,
                       AssessOptions& options) {
  for (const auto& [key, value] : req.params) {
    if (!known.count(key)) {
      send_error(res, 400, fmt::format("unknown parameter '{}'; use {}", key, listed));
      return false;
    }
  }
  options.materials = split_list(req.get_param_value("material"));
  const std::string stage = req.get_param_value("stage");
  if (stage == "extraction") {
    options.stage = Stage::kExtraction;
  } else if (stage == "processing") {
    options.stage = Stage::kProcessing;
  } else if (!stage.empty() && stage != "both") {
    send_error(res, 400, fmt::format("stage '{}': use extraction, processing or both", stage));
    return false;
  }
  return true;
}

int http_status_of(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kInvalidInput:
      return 400;
    default:
      return 500;
  }
}

// The scenario files of the directory that read as simulation scenarios, by file name.
json list_scenarios(const std::filesystem::path& dir, const Dataset& data) {
  json out = json::array();
  std::error_code error;
  if (dir.empty() || !std::filesystem::is_directory(dir, error)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    Result<std::string> text = read_text_file(file);
    if (!text.is_ok()) continue;
    Result<sim::SimulationScenario> scenario =
        scenario::read_simulation_scenario(text.value(), file.filename().string(), data);
    if (!scenario.is_ok()) continue;  // a clearing scenario, not a simulation
    out.push_back({{"file", file.filename().string()},
                   {"name", scenario.value().name},
                   {"years", {scenario.value().first_year, scenario.value().last_year}},
                   {"materials", scenario.value().materials},
                   {"text", text.value()}});
  }
  return out;
}

}  // namespace

DashboardServer::Impl::Impl(const Dataset& dataset, DashboardOptions options)
    : data_(dataset), options_(std::move(options)) {
  worker_ = std::thread([this] { run_jobs(); });
}

DashboardServer::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool DashboardServer::Impl::wait_idle(double timeout_seconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                           [this] { return queue_.empty() && !running_job_; });
}

void DashboardServer::Impl::run_jobs() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
      job->status = "running";
      running_job_ = true;
    }
    changed_.notify_all();
    const auto start = std::chrono::steady_clock::now();
    std::string summary, error;
    std::optional<report::ReportModel> report;
    std::vector<std::string> design_summaries;
    if (job->kind == "compare") {
      sim::CompareOptions options;
      options.runs = job->runs;
      options.threads = 1;
      Result<sim::CompareRun> run = [&]() -> Result<sim::CompareRun> {
        try {
          return sim::run_compare(data_, job->designs, job->design_files, options,
                                  [this, job](int years_done, int years_total,
                                              std::size_t runs_done, std::size_t runs_total) {
                                    std::lock_guard<std::mutex> lock(mutex_);
                                    job->years_done = years_done;
                                    job->years_total = years_total;
                                    job->runs_done = runs_done;
                                    job->runs_total = runs_total;
                                  });
        } catch (const std::exception& e) {
          return Status::internal(fmt::format("the compare stopped: {}", e.what()));
        }
      }();
      if (run.is_ok()) {
        summary = sim::comparison_to_json(run.value().comparison);
        for (const sim::SimulationResult& r : run.value().results) {
          design_summaries.push_back(sim::simulation_to_json(r));
        }
        Result<report::ReportModel> model =
            report::build_compare_report_model(summary, design_summaries, data_);
        if (model.is_ok()) {
          report = std::move(model).value();
        } else {
          error = model.status().to_string();
        }
      } else {
        error = run.status().to_string();
      }
    } else {
      Result<sim::SimulationResult> result = [&]() -> Result<sim::SimulationResult> {
        try {
          Result<sim::SimulationResult> run =
              sim::run_simulation(data_, job->scenario, [this, job](int, int done, int total) {
                std::lock_guard<std::mutex> lock(mutex_);
                job->years_done = done;
                job->years_total = total;
              });
          // The scenario's [[appraisal]] projects, as critmin simulate appraises them.
          if (run.is_ok()) {
            CRITMIN_RETURN_IF_ERROR(
                sim::add_scenario_appraisals(data_, job->scenario, 1, run.value()));
          }
          return run;
        } catch (const std::exception& e) {
          return Status::internal(fmt::format("the simulation stopped: {}", e.what()));
        }
      }();
      if (result.is_ok()) {
        summary = sim::simulation_to_json(result.value());
        Result<report::ReportModel> model = report::build_report_model(summary, data_);
        if (model.is_ok()) {
          report = std::move(model).value();
        } else {
          error = model.status().to_string();
        }
      } else {
        error = result.status().to_string();
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job->seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      job->status = error.empty() ? "done" : "failed";
      job->error = error;
      job->summary_json = std::move(summary);
      job->design_summaries = std::move(design_summaries);
      job->report = std::move(report);
      running_job_ = false;
      // Keep at most max_kept_jobs: drop the oldest finished ones.
      while (jobs_.size() > options_.max_kept_jobs) {
        auto oldest = std::find_if(jobs_.begin(), jobs_.end(), [](const auto& entry) {
          return entry.second->status == "done" || entry.second->status == "failed";
        });
        if (oldest == jobs_.end()) break;
        jobs_.erase(oldest);
      }
    }
    changed_.notify_all();
  }
}

Status DashboardServer::Impl::read_compare_request(const nlohmann::json& body, Job& job) const {
  if (!body.contains("scenarios") || !body["scenarios"].is_array()) {
    return Status::invalid_input(
        "scenarios: give a list of designs, the reference first: example file names "
        "(\"baseline.toml\") or {\"name\": \"mine.toml\", \"scenario\": \"<TOML text>\"}");
  }
  const json& list = body["scenarios"];
  if (list.size() < 2 || list.size() > kMaxCompareDesigns) {
    return Status::invalid_input(fmt::format("scenarios: a compare needs 2 to {} designs, got {}",
                                             kMaxCompareDesigns, list.size()));
  }
  if (body.contains("runs")) {
    const json& runs = body["runs"];
    if (!runs.is_number_unsigned() || runs.get<std::size_t>() > kMaxCompareRuns) {
      return Status::invalid_input(fmt::format(
          "runs: a whole number from 0 (no ensemble bands) to {} ensemble runs per design",
          kMaxCompareRuns));
    }
    job.runs = runs.get<std::size_t>();
  }
  for (std::size_t d = 0; d < list.size(); ++d) {
    const json& item = list[d];
    std::string file, text;
    if (item.is_string()) {
      // An example of the scenarios directory, by its file name only.
      file = item.get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos ||
          file.find('\\') != std::string::npos || file.rfind('.', 0) == 0 ||
          std::filesystem::path(file).extension() != ".toml") {
        return Status::invalid_input(
            fmt::format("scenarios[{}]: '{}' is not an example file name such as baseline.toml; "
                        "GET /api/v1/scenarios lists them",
                        d, file));
      }
      std::error_code error;
      const std::filesystem::path path = options_.scenarios_dir / file;
      if (options_.scenarios_dir.empty() || !std::filesystem::is_regular_file(path, error)) {
        return Status::not_found(fmt::format(
            "scenarios[{}]: no example scenario {}; GET /api/v1/scenarios lists them", d, file));
      }
      Result<std::string> read = read_text_file(path);
      CRITMIN_RETURN_IF_ERROR(read);
      text = std::move(read).value();
    } else if (item.is_object()) {
      for (const auto& [key, value] : item.items()) {
        if (key != "name" && key != "scenario") {
          return Status::invalid_input(fmt::format(
              "scenarios[{}]: unknown field '{}'; a design has name and scenario", d, key));
        }
      }
      if (!item.contains("scenario") || !item["scenario"].is_string()) {
        return Status::invalid_input(
            fmt::format("scenarios[{}].scenario: give the scenario's TOML text as a string", d));
      }
      if (item.contains("name") && !item["name"].is_string()) {
        return Status::invalid_input(fmt::format("scenarios[{}].name: a string", d));
      }
      file = item.value("name", fmt::format("design-{}.toml", d + 1));
      text = item["scenario"].get<std::string>();
      if (text.size() > options_.max_scenario_bytes) {
        return Status::invalid_input(fmt::format(
            "scenarios[{}]: the scenario is larger than {} bytes", d, options_.max_scenario_bytes));
      }
    } else {
      return Status::invalid_input(
          fmt::format("scenarios[{}]: an example file name or {{\"name\", \"scenario\"}}", d));
    }
    Result<sim::SimulationScenario> scenario =
        scenario::read_simulation_scenario(text, file, data_);
    if (!scenario.is_ok()) return Status::invalid_input(scenario.status().to_string());
    if (Status fits = sim::check_scenario_against_data(scenario.value(), data_); !fits.is_ok()) {
      return Status::invalid_input(fits.to_string());
    }
    job.designs.push_back(std::move(scenario).value());
    job.design_files.push_back(std::filesystem::path(file).stem().string());
  }
  return Status::ok();
}

void DashboardServer::Impl::register_routes(HttpServer& http_server) {
  HttpRoutes server(http_server);
  const std::string page = dashboard_page();
  server.Get("/", guarded([page](const httplib::Request&, httplib::Response& res) {
               res.set_content(page, "text/html; charset=utf-8");
             }));
  server.Get("/dashboard", guarded([page](const httplib::Request&, httplib::Response& res) {
               res.set_content(page, "text/html; charset=utf-8");
             }));

  server.Get("/api/v1/materials", guarded([this](const httplib::Request&, httplib::Response& res) {
               json out = json::array();
               for (const Material& m : data_.materials) {
                 out.push_back({{"id", m.id},
                                {"name", m.name},
                                {"crma_critical", m.is_critical()},
                                {"crma_strategic", m.is_strategic()}});
               }
               send_json(res, 200, out);
             }));

  server.Get(
      "/api/v1/assess", guarded([this](const httplib::Request& req, httplib::Response& res) {
        static const std::set<std::string> kKnown = {"material", "stage",         "bloc",
                                                     "region",   "breaches_only", "format"};
        AssessOptions options;
        if (!read_assess_query(req, res, kKnown,
                               "material, stage, bloc, region, breaches_only or format", options)) {
          return;
        }
        options.bloc = req.get_param_value("bloc");
        if (req.has_param("region")) {
          options.regions = split_list(req.get_param_value("region"));
        }
        const std::string breaches = req.get_param_value("breaches_only");
        if (!breaches.empty() && breaches != "true" && breaches != "false") {
          send_error(res, 400, "breaches_only: use true or false");
          return;
        }
        options.breaches_only = breaches == "true";
        const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
        if (format != "json" && format != "csv" && format != "xlsx") {
          send_error(res, 400, fmt::format("format '{}': use json, csv or xlsx", format));
          return;
        }
        Result<std::vector<AssessmentRow>> rows = assess(data_, options);
        if (!rows.is_ok()) {
          send_error(res, http_status_of(rows.status()), rows.status().to_string());
          return;
        }
        if (format == "csv") {
          send_file(res, assess_to_csv(rows.value()), "text/csv", "assess.csv");
        } else if (format == "xlsx") {
          Result<std::string> bytes = xlsx_bytes("assess", [&](const std::filesystem::path& file) {
            return assess_to_xlsx(rows.value(), file);
          });
          if (!bytes.is_ok()) {
            send_error(res, 500, bytes.status().to_string());
            return;
          }
          send_file(res, bytes.value(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "assess.xlsx");
        } else {
          send_file(res, assess_to_json(rows.value()), "application/json", "");
        }
      }));

  // The dependency view: what one importing region (EU27 or an EU member, default NLD) buys of
  // each material, from whom, and the total with every shared basket counted once.
  server.Get("/api/v1/dependency",
             guarded([this](const httplib::Request& req, httplib::Response& res) {
               static const std::set<std::string> kKnown = {"region", "material", "stage"};
               AssessOptions options;
               if (!read_assess_query(req, res, kKnown, "region, material or stage", options))
                 return;
               const std::string region =
                   to_upper(trim(req.has_param("region") ? req.get_param_value("region") : "NLD"));
               options.regions = {region};
               Result<std::vector<AssessmentRow>> rows = assess(data_, options);
               if (!rows.is_ok()) {
                 send_error(res, http_status_of(rows.status()), rows.status().to_string());
                 return;
               }
               send_json(res, 200, dependency_json(region, rows.value()));
             }));

  server.Get("/api/v1/scenarios", guarded([this](const httplib::Request&, httplib::Response& res) {
               send_json(res, 200, list_scenarios(options_.scenarios_dir, data_));
             }));

  // The scenario schema for the editor's help: every table and key with its type, unit, default,
  // range and meaning (the table `critmin scenario reference` prints).
  server.Get("/api/v1/scenario-reference",
             guarded([](const httplib::Request&, httplib::Response& res) {
               send_file(res, scenario::scenario_reference_json(), "application/json", "");
             }));

  // Job state as the API shows it; the caller holds the mutex.
  const auto job_json = [](const Job& job) {
    json out = {{"id", job.id},
                {"kind", job.kind},
                {"name", job.name},
                {"status", job.status},
                {"progress", {{"years_done", job.years_done}, {"years_total", job.years_total}}}};
    if (job.kind == "compare") {
      out["designs"] = sim::compare_design_names(job.designs, job.design_files);
      out["runs"] = job.runs;
      out["progress"]["runs_done"] = job.runs_done;
      out["progress"]["runs_total"] = job.runs_total;
    }
    if (!job.error.empty()) out["error"] = job.error;
    if (job.status == "done") {
      const std::string base = fmt::format("/api/v1/jobs/{}/", job.id);
      out["seconds"] = job.seconds;
      const bool compare = job.kind == "compare";
      out["results"] = {{"summary", base + (compare ? "compare.json" : "summary.json")},
                        {"report", base + "report.json"},
                        {"html", base + "report.html"},
                        {"xlsx", base + "results.xlsx"},
                        {"csv", base + (compare ? "scorecards.csv" : "series.csv")}};
    }
    return out;
  };

  server.Post(
      "/api/v1/jobs",
      guarded([this, job_json](const httplib::Request& req, httplib::Response& res) {
        // A compare carries up to kMaxCompareDesigns scenarios; each is held to the limit below.
        if (req.body.size() > options_.max_scenario_bytes * kMaxCompareDesigns) {
          send_error(res, 413,
                     fmt::format("the request is larger than {} bytes; send smaller scenarios",
                                 options_.max_scenario_bytes * kMaxCompareDesigns));
          return;
        }
        const json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
          send_error(res, 400,
                     "the body must be a JSON object: {\"kind\": \"simulate\", "
                     "\"scenario\": \"<TOML text>\"} or {\"kind\": \"compare\", "
                     "\"scenarios\": [...]}");
          return;
        }
        const json kind = body.value("kind", json("simulate"));
        if (!kind.is_string() || (kind != "simulate" && kind != "compare")) {
          send_error(res, 400,
                     "kind: use \"simulate\" (one run of a scenario) or \"compare\" (several "
                     "designs side by side)");
          return;
        }
        const bool compare = kind == "compare";
        for (const auto& [key, value] : body.items()) {
          const bool known = key == "kind" || key == "name" || key == "bom_csv" ||
                             (compare ? key == "scenarios" || key == "runs" : key == "scenario");
          if (!known) {
            send_error(
                res, 400,
                fmt::format("unknown field '{}'; a {} job has {}", key, kind.get<std::string>(),
                            compare ? "kind, scenarios, runs, bom_csv and name"
                                    : "kind, scenario, bom_csv and name"));
            return;
          }
        }
        // A company's bill of materials (the CSV of `--bom`), read by the same reader.
        std::optional<scenario::Bom> bom;
        if (body.contains("bom_csv")) {
          if (!body["bom_csv"].is_string()) {
            send_error(res, 400, "bom_csv: give the bill of materials' CSV text as a string");
            return;
          }
          const std::string text = body["bom_csv"].get<std::string>();
          if (text.size() > options_.max_scenario_bytes) {
            send_error(res, 413,
                       fmt::format("bom_csv is larger than {} bytes; send a smaller bill of "
                                   "materials",
                                   options_.max_scenario_bytes));
            return;
          }
          Result<scenario::Bom> read = scenario::read_bom(text, "bom.csv", data_);
          if (!read.is_ok()) {
            send_error(res, 400, read.status().to_string());
            return;
          }
          bom = std::move(read).value();
        }
        if (body.contains("name") && !body["name"].is_string()) {
          send_error(res, 400, "name: a string naming the job");
          return;
        }
        auto job = std::make_shared<Job>();
        job->kind = kind.get<std::string>();
        if (compare) {
          if (Status s = read_compare_request(body, *job); !s.is_ok()) {
            send_error(res, s.code() == StatusCode::kNotFound ? 404 : 400, s.message());
            return;
          }
          if (body.contains("name")) job->name = body["name"].get<std::string>();
          if (job->name.empty()) {
            const std::vector<std::string> names =
                sim::compare_design_names(job->designs, job->design_files);
            for (std::size_t d = 0; d < names.size(); ++d)
              job->name += (d ? " vs " : "") + names[d];
          }
          for (sim::SimulationScenario& d : job->designs) {
            job->years_total += d.last_year - d.first_year + 1;
            d.bom = bom;
          }
          job->runs_total = job->runs * job->designs.size();
        } else {
          if (!body.contains("scenario") || !body["scenario"].is_string()) {
            send_error(res, 400, "scenario: give the scenario's TOML text as a string");
            return;
          }
          job->scenario_text = body["scenario"].get<std::string>();
          if (job->scenario_text.size() > options_.max_scenario_bytes) {
            send_error(res, 413,
                       fmt::format("the scenario is larger than {} bytes; send a smaller "
                                   "scenario",
                                   options_.max_scenario_bytes));
            return;
          }
          job->name = body.value("name", std::string("scenario.toml"));
          Result<sim::SimulationScenario> scenario =
              scenario::read_simulation_scenario(job->scenario_text, job->name, data_);
          if (!scenario.is_ok()) {
            send_error(res, 400, scenario.status().to_string());
            return;
          }
          // Everything the run would find only in a later year is checked before queueing.
          if (Status fits = sim::check_scenario_against_data(scenario.value(), data_);
              !fits.is_ok()) {
            send_error(res, 400, fits.to_string());
            return;
          }
          job->scenario = std::move(scenario).value();
          job->scenario.bom = std::move(bom);
          if (job->name == "scenario.toml" && !job->scenario.name.empty()) {
            job->name = job->scenario.name;
          }
          job->years_total = job->scenario.last_year - job->scenario.first_year + 1;
        }
        json out;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (queue_.size() >= options_.max_waiting_jobs) {
            send_error(
                res, 429,
                fmt::format("{} jobs are waiting; try again when one has finished", queue_.size()));
            return;
          }
          job->id = next_id_++;
          jobs_[job->id] = job;
          queue_.push_back(job);
          out = job_json(*job);
        }
        changed_.notify_all();
        res.set_header("Location", fmt::format("/api/v1/jobs/{}", job->id));
        send_json(res, 202, out);
      }));

  server.Get("/api/v1/jobs",
             guarded([this, job_json](const httplib::Request&, httplib::Response& res) {
               json out = json::array();
               std::lock_guard<std::mutex> lock(mutex_);
               for (const auto& [id, job] : jobs_) out.push_back(job_json(*job));
               send_json(res, 200, out);
             }));

  // Finds the job of the path's id; answers 404 itself when there is none.
  const auto find_job = [this](const httplib::Request& req,
                               httplib::Response& res) -> std::shared_ptr<Job> {
    const auto id = parse_int(req.matches[1].str());
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = id ? jobs_.find(static_cast<std::uint64_t>(*id)) : jobs_.end();
    if (it == jobs_.end()) {
      send_error(res, 404,
                 fmt::format("no job {}; GET /api/v1/jobs lists the jobs", req.matches[1].str()));
      return nullptr;
    }
    return it->second;
  };

  server.Get(
      R"(/api/v1/jobs/(\d+))",
      guarded([this, job_json, find_job](const httplib::Request& req, httplib::Response& res) {
        std::shared_ptr<Job> job = find_job(req, res);
        if (!job) return;
        std::lock_guard<std::mutex> lock(mutex_);
        send_json(res, 200, job_json(*job));
      }));

  server.Get(
      R"(/api/v1/jobs/(\d+)/(summary\.json|compare\.json|report\.json|report\.html|results\.xlsx|(\w+)\.csv))",
      guarded([this, find_job](const httplib::Request& req, httplib::Response& res) {
        std::shared_ptr<Job> job = find_job(req, res);
        if (!job) return;
        std::string summary, status;
        std::optional<report::ReportModel> report_model;
        const bool compare = job->kind == "compare";
        {
          std::lock_guard<std::mutex> lock(mutex_);
          status = job->status;
          summary = job->summary_json;
          report_model = job->report;
        }
        if (status != "done") {
          send_error(res, 409,
                     fmt::format("job {} is {}; its results exist once its status is done", job->id,
                                 status));
          return;
        }
        if (!report_model) {  // done implies a model: the job fails when its model cannot be built
          send_error(res, 500,
                     fmt::format("job {} is done but has no report; please report it", job->id));
          return;
        }
        const std::string what = req.matches[2].str();
        const std::string stem = fmt::format("critmin-job-{}", job->id);
        if (what == (compare ? "summary.json" : "compare.json")) {
          send_error(res, 404,
                     fmt::format("job {} is a {} job: its JSON is {}", job->id, job->kind,
                                 compare ? "compare.json" : "summary.json"));
          return;
        }
        if (what == "compare.json") {
          send_file(res, summary, "application/json", stem + "-compare.json");
        } else if (what == "summary.json") {
          send_file(res, summary, "application/json", stem + "-summary.json");
        } else if (what == "report.json") {
          send_file(res, report_model->to_json(), "application/json", "");
        } else if (what == "report.html") {
          send_file(res, report::report_model_to_html(*report_model), "text/html; charset=utf-8",
                    "");
        } else if (what == "results.xlsx") {
          Result<std::string> bytes =
              xlsx_bytes(fmt::format("job_{}", job->id), [&](const std::filesystem::path& file) {
                return compare ? report::report_tables_to_xlsx(*report_model, file)
                               : report::summary_to_xlsx(summary, file);
              });
          if (!bytes.is_ok()) {
            send_error(res, 500, bytes.status().to_string());
            return;
          }
          send_file(res, bytes.value(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    stem + ".xlsx");
        } else {
          const std::string table = req.matches[3].str();
          Result<std::string> csv = compare ? report::report_table_to_csv(*report_model, table)
                                            : report::summary_table_to_csv(summary, table);
          if (!csv.is_ok()) {
            send_error(res, http_status_of(csv.status()), csv.status().to_string());
            return;
          }
          send_file(res, csv.value(), "text/csv", stem + "-" + table + ".csv");
        }
      }));
}

DashboardServer::DashboardServer(const Dataset& dataset, DashboardOptions options)
    : impl_(std::make_unique<Impl>(dataset, std::move(options))) {}

DashboardServer::~DashboardServer() = default;

void DashboardServer::register_routes(HttpServer& server) { impl_->register_routes(server); }

bool DashboardServer::wait_idle(double timeout_seconds) {
  return impl_->wait_idle(timeout_seconds);
}

}  // namespace critmin
