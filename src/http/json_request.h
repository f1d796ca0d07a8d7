// JSON request bodies: parsing and typed field access with errors that name
// the offending field.
//
// Thread-safety: pure functions. Errors: kBadRequest (non-JSON content type,
// malformed JSON with the parser's message, wrong field type), kMissingField
// (a required field is absent or null).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/error.h"

namespace ragpdf::http {

// The body must be a JSON object. A missing Content-Type is accepted; any
// other must name JSON (application/json, application/*+json, text/json).
common::Result<boost::json::object> ParseJsonObject(std::string_view content_type,
                                                    std::string_view body);

// Absent or null fields give nullopt.
common::Result<std::optional<std::string>> GetString(const boost::json::object& obj,
                                                     std::string_view field);
// Integers, or floating-point numbers with an integral value.
common::Result<std::optional<std::int64_t>> GetInt(const boost::json::object& obj,
                                                   std::string_view field);

// The file ids named by `file_ids` (an array of ids, or one id as a string)
// and/or `file_id` (one id), canonical and without duplicates, in order.
// kMissingField when neither is given.
common::Result<std::vector<std::string>> GetFileIds(const boost::json::object& obj);

}  // namespace ragpdf::http
