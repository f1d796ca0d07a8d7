// What a route handler returns, and the helpers that build it. Every error
// response is built by ErrorResponse(): `{"error": {"code", "message"}}` with
// the status from HttpStatusFor() (or an explicit one, e.g. 405).
//
// Thread-safety: value types and pure functions. Errors: none.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include "common/error.h"

namespace ragpdf::http {

struct Response {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<boost::beast::http::field, std::string>> headers;
  // The server must close the connection after this response (e.g. an
  // unread request body is still on the wire).
  bool close = false;
};

Response JsonResponse(const boost::json::value& body,
                      boost::beast::http::status status = boost::beast::http::status::ok);

// The single builder of error responses. `status` overrides the table (405).
Response ErrorResponse(const common::Error& error,
                       std::optional<boost::beast::http::status> status = std::nullopt);

// `{"code": ..., "message": ...}`, as nested in error bodies and per-file results.
boost::json::object ErrorJson(const common::Error& error);

// `response`, marked to close the connection after it is sent.
Response Closing(Response response);

// Whether a Beast read error means the request is malformed (answer 400), as
// opposed to the connection failing or the client leaving (nothing to answer).
bool IsMalformedRequest(const boost::system::error_code& ec);

}  // namespace ragpdf::http
