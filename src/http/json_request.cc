#include "http/json_request.h"

#include <algorithm>

#include <boost/json/parse.hpp>

#include "http/params.h"

namespace ragpdf::http {

namespace json = boost::json;
using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

bool IsJsonContentType(std::string_view content_type) {
  std::string_view media = TrimWhitespace(content_type.substr(0, content_type.find(';')));
  if (media.empty()) return true;
  std::string lower(media);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "application/json" || lower == "text/json" ||
         (lower.starts_with("application/") && lower.ends_with("+json"));
}

tl::unexpected<common::Error> WrongType(std::string_view field, std::string_view expected) {
  return Fail(ErrorCode::kBadRequest, std::string(field) + ": expected " + std::string(expected));
}

const json::value* Find(const json::object& obj, std::string_view field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

}  // namespace

Result<json::object> ParseJsonObject(std::string_view content_type, std::string_view body) {
  if (!IsJsonContentType(content_type)) {
    return Fail(ErrorCode::kBadRequest, "Content-Type must be application/json");
  }
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return Fail(ErrorCode::kBadRequest, "malformed JSON body: " + ec.message());
  if (!value.is_object()) return Fail(ErrorCode::kBadRequest, "JSON body must be an object");
  return std::move(value.as_object());
}

Result<std::optional<std::string>> GetString(const json::object& obj, std::string_view field) {
  const json::value* v = Find(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_string()) return WrongType(field, "a string");
  return std::string(v->as_string());
}

Result<std::optional<std::int64_t>> GetInt(const json::object& obj, std::string_view field) {
  const json::value* v = Find(obj, field);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= INT64_MAX) {
    return static_cast<std::int64_t>(v->as_uint64());
  }
  if (v->is_double()) {
    double d = v->as_double();
    if (d == static_cast<double>(static_cast<std::int64_t>(d)) && d > -1e15 && d < 1e15) {
      return static_cast<std::int64_t>(d);
    }
  }
  return WrongType(field, "an integer");
}

Result<std::vector<std::string>> GetFileIds(const json::object& obj) {
  std::vector<std::string> ids;
  auto add = [&](const json::value& v, std::string_view field) -> Result<void> {
    if (!v.is_string()) return WrongType(field, "file ids as strings");
    auto id = NormalizeFileId(v.as_string(), field);
    if (!id) return Fail(id.error());
    if (std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(std::move(*id));
    return {};
  };
  const json::value* single = Find(obj, "file_id");
  const json::value* many = Find(obj, "file_ids");
  if (!single && !many) return Fail(ErrorCode::kMissingField, "file_ids is required");
  if (single) {
    if (auto r = add(*single, "file_id"); !r) return Fail(r.error());
  }
  if (many && many->is_array()) {
    for (const json::value& v : many->as_array()) {
      if (auto r = add(v, "file_ids"); !r) return Fail(r.error());
    }
  } else if (many) {
    if (auto r = add(*many, "file_ids"); !r) return Fail(r.error());
  }
  return ids;
}

}  // namespace ragpdf::http
