// The dashboard of `critmin serve`: a page (web/dashboard.html, dashboard.js, with the report's
// script and Chart.js inlined) and the JSON API behind it under /api/v1 (docs/api.md): browse the
// dataset (assess with filters), read and edit example scenarios, run simulations as background
// jobs with progress, compare several designs as background jobs, and fetch their results as
// JSON, CSV, XLSX and HTML reports.
//
// Requests are checked before anything runs: a malformed request gets a 4xx status with a JSON
// body {"error": "..."} saying what to change; no input stops the server.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin {

class HttpServer;

struct DashboardOptions {
  std::filesystem::path scenarios_dir;         // example scenarios offered by GET /api/v1/scenarios
  std::size_t max_scenario_bytes = 64 * 1024;  // larger scenario texts get 413
  std::size_t max_waiting_jobs = 8;            // more queued jobs get 429
  std::size_t max_kept_jobs = 64;              // the oldest finished jobs are dropped beyond this
};

class DashboardServer {
 public:
  // `dataset` must outlive the server. Starts the job worker thread.
  DashboardServer(const Dataset& dataset, DashboardOptions options);
  // Waits for the running job (a simulation is not interrupted) and drops the queued ones.
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // Adds GET / (the dashboard page) and every /api/v1/... route to `server`. Global settings of
  // the server (error handler, body limit) are left to the caller.
  void register_routes(HttpServer& server);

  // Blocks until no job is queued or running, or `timeout_seconds` passed; true when idle.
  bool wait_idle(double timeout_seconds);

 private:
  struct Impl;  // the jobs, their queue and the worker thread
  std::unique_ptr<Impl> impl_;
};

}  // namespace critmin
