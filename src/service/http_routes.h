// The worker routes of critmin::HttpServer, written with cpp-httplib's public request and
// response types. Private to src/service (and tests): the public http_server.h names no
// third-party type.
//
// A worker route gets a complete request (the event loop read the body); its handler fills the
// response as with cpp-httplib's own server: status (200 when left unset), headers, body via
// set_content. After the handler, a status of 400 or more goes through the error handler; an
// exception goes through the exception handler (500 without one).
#pragma once

#include <httplib.h>

#include <exception>
#include <functional>
#include <string>

#include "critmin/service/http_server.h"

namespace critmin {

class HttpRoutes {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  using ExceptionHandler =
      std::function<void(const httplib::Request&, httplib::Response&, std::exception_ptr)>;

  explicit HttpRoutes(HttpServer& server) : server_(server) {}

  // `pattern` is an ECMAScript regular expression matched against the whole decoded path;
  // its groups are in Request::matches. GET routes answer HEAD too (without the body).
  HttpRoutes& Get(const std::string& pattern, Handler handler);
  HttpRoutes& Post(const std::string& pattern, Handler handler);
  HttpRoutes& Put(const std::string& pattern, Handler handler);
  HttpRoutes& Delete(const std::string& pattern, Handler handler);
  HttpRoutes& set_error_handler(Handler handler);
  HttpRoutes& set_exception_handler(ExceptionHandler handler);

 private:
  HttpRoutes& add(const char* method, const std::string& pattern, Handler handler);
  HttpServer& server_;
};

}  // namespace critmin
