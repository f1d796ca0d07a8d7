#include "http/response.h"

#include <boost/beast/http/error.hpp>
#include <boost/json/serialize.hpp>

#include "http/error_table.h"

namespace ragpdf::http {

namespace beast_http = boost::beast::http;
namespace json = boost::json;

Response JsonResponse(const json::value& body, beast_http::status status) {
  Response response;
  response.status = status;
  response.body = json::serialize(body);
  return response;
}

json::object ErrorJson(const common::Error& error) {
  return {{"code", common::ErrorCodeName(error.code)}, {"message", error.message}};
}

Response ErrorResponse(const common::Error& error, std::optional<beast_http::status> status) {
  Response response = JsonResponse(json::object{{"error", ErrorJson(error)}},
                                   status.value_or(HttpStatusFor(error.code)));
  // Back-pressure: tell well-behaved clients when to come back.
  if (error.code == common::ErrorCode::kOverloaded) {
    response.headers.emplace_back(beast_http::field::retry_after, "1");
  }
  return response;
}

Response Closing(Response response) {
  response.close = true;
  return response;
}

bool IsMalformedRequest(const boost::system::error_code& ec) {
  return ec.category() == beast_http::make_error_code(beast_http::error::bad_version).category() &&
         ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message;
}

}  // namespace ragpdf::http
