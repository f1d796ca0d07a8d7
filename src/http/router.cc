#include "http/router.h"

#include <algorithm>
#include <vector>

#include <boost/url/parse.hpp>

namespace ragpdf::http {

namespace beast_http = boost::beast::http;
using beast_http::verb;
using common::ErrorCode;

namespace {

constexpr std::string_view kParam = "{file_id}";

struct RouteSpec {
  std::string_view pattern;  // may end with kParam: one path segment
  Route route;
  std::vector<verb> methods;
};

const std::vector<RouteSpec>& Routes() {
  static const std::vector<RouteSpec> routes = {
      {"/file/upload", Route::kUpload, {verb::post}},
      {"/embeddings/check", Route::kEmbeddingsCheck, {verb::post}},
      {"/embeddings/status/{file_id}", Route::kEmbeddingsStatus, {verb::get}},
      {"/file/neighbors", Route::kNeighbors, {verb::post}},
      {"/delete", Route::kDelete, {verb::delete_, verb::post}},
      {"/available-models", Route::kAvailableModels, {verb::get}},
      {"/health", Route::kHealth, {verb::get}},
      {"/metrics", Route::kMetrics, {verb::get}},
      {"/v1/embeddings", Route::kOpenAiEmbeddings, {verb::post}},
  };
  return routes;
}

// Whether `path` matches `pattern`; fills `param` for a {file_id} pattern.
bool PathMatches(std::string_view pattern, std::string_view path, std::string& param) {
  if (!pattern.ends_with(kParam)) return pattern == path;
  std::string_view prefix = pattern.substr(0, pattern.size() - kParam.size());
  if (!path.starts_with(prefix)) return false;
  std::string_view rest = path.substr(prefix.size());
  if (rest.empty() || rest.find('/') != std::string_view::npos) return false;
  param = std::string(rest);
  return true;
}

}  // namespace

RouteMatch MatchRoute(verb method, std::string_view target) {
  RouteMatch match;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    match.error = ErrorResponse({ErrorCode::kBadRequest, "malformed request target"});
    return match;
  }
  std::string path = url->path();
  // Clients written against the old server sometimes add a trailing slash.
  if (path.size() > 1 && path.back() == '/') path.pop_back();

  for (const RouteSpec& spec : Routes()) {
    std::string param;
    if (!PathMatches(spec.pattern, path, param)) continue;
    match.label = spec.pattern;
    if (std::find(spec.methods.begin(), spec.methods.end(), method) == spec.methods.end()) {
      std::string allow;
      for (verb v : spec.methods) {
        if (!allow.empty()) allow += ", ";
        allow += std::string(beast_http::to_string(v));
      }
      Response error = ErrorResponse({ErrorCode::kBadRequest, "method not allowed; use " + allow},
                                     beast_http::status::method_not_allowed);
      error.headers.emplace_back(beast_http::field::allow, allow);
      match.error = std::move(error);
      return match;
    }
    match.route = spec.route;
    match.file_id = std::move(param);
    for (auto p : url->params()) {
      if (p.key == "model_choice") match.model_choice = p.value;
    }
    return match;
  }
  match.error = ErrorResponse({ErrorCode::kNotFound, "no route for " + path});
  return match;
}

}  // namespace ragpdf::http
