// The route table: maps a request line to a route, or to the error response
// for an unknown path (404), a known path with another method (405 with an
// Allow header) or a malformed target (400).
//
// Thread-safety: pure function. Errors: carried in RouteMatch::error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/verb.hpp>

#include "http/response.h"

namespace ragpdf::http {

enum class Route {
  kUpload,
  kEmbeddingsCheck,
  kEmbeddingsStatus,
  kNeighbors,
  kDelete,
  kAvailableModels,
  kHealth,
  kMetrics,
  kOpenAiEmbeddings,
};

struct RouteMatch {
  std::optional<Route> route;     // nullopt: `error` is the response
  std::optional<Response> error;  // 400, 404 or 405
  // The route pattern ("/embeddings/status/{file_id}"), or "unmatched": a
  // bounded set of values for metric labels.
  std::string_view label = "unmatched";
  std::string file_id;       // the {file_id} path segment
  std::string model_choice;  // the ?model_choice= query parameter
};

RouteMatch MatchRoute(boost::beast::http::verb method, std::string_view target);

}  // namespace ragpdf::http
