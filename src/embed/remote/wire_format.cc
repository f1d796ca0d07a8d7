#include "embed/remote/wire_format.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ragpdf::embed::remote {

namespace json = boost::json;
using common::ErrorCode;
using common::Fail;
using common::Result;

static_assert(std::endian::native == std::endian::little, "base64 vectors are little-endian");

namespace {

constexpr std::size_t kMaxErrorChars = 300;
constexpr double kNormTolerance = 1e-5;

tl::unexpected<common::Error> Bad(std::string message) {
  return Fail(ErrorCode::kEmbeddingBadResponse, "embedding response: " + std::move(message));
}

// Reads one `embedding` value into `out` (appending); returns its dimension.
Result<std::size_t> ReadVector(const json::value& v, std::vector<float>& out) {
  if (v.is_string()) {
    auto floats = DecodeFloatsBase64(v.get_string());
    if (!floats) return Bad("embedding is not valid base64 float32");
    for (float f : *floats) {
      if (!std::isfinite(f)) return Bad("embedding has a non-finite value");
    }
    out.insert(out.end(), floats->begin(), floats->end());
    return floats->size();
  }
  if (!v.is_array()) return Bad("embedding is neither an array nor a base64 string");
  const json::array& values = v.get_array();
  for (const json::value& x : values) {
    if (!x.is_number()) return Bad("embedding has a non-numeric value");
    const double d = x.to_number<double>();
    const float f = static_cast<float>(d);
    if (!std::isfinite(f)) return Bad("embedding has a non-finite value");
    out.push_back(f);
  }
  return values.size();
}

void Normalize(std::span<float> row) {
  double sum = 0;
  for (float x : row) sum += static_cast<double>(x) * x;
  const double norm = std::sqrt(sum);
  if (norm == 0 || std::abs(norm - 1) <= kNormTolerance) return;
  for (float& x : row) x = static_cast<float>(x / norm);
}

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxErrorChars)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  }
  return out;
}

}  // namespace

std::string BuildEmbeddingsRequest(const RequestBodyOptions& options,
                                   std::span<const std::string> inputs) {
  json::array input;
  input.reserve(inputs.size());
  for (const std::string& text : inputs) input.emplace_back(json::string_view(text));
  json::object body;
  if (!options.model.empty()) body["model"] = options.model;
  body["input"] = std::move(input);
  if (options.dimensions > 0) body["dimensions"] = options.dimensions;
  body["encoding_format"] = options.encoding_format;
  return json::serialize(body);
}

Result<Embeddings> ParseEmbeddingsResponse(std::string_view body, std::size_t count,
                                           int expected_dimension) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return Bad("malformed JSON (" + ec.message() + ")");
  if (!root.is_object()) return Bad("not a JSON object");
  const json::object& obj = root.get_object();
  const json::value* data = obj.if_contains("data");
  if (data == nullptr || !data->is_array()) {
    if (obj.contains("error")) {
      return Bad("error object in a success response: " + DescribeErrorBody(body));
    }
    return Bad("no data array");
  }
  const json::array& items = data->get_array();
  if (items.size() != count) {
    return Bad("expected " + std::to_string(count) + " embeddings, got " +
               std::to_string(items.size()));
  }
  std::vector<float> rows;  // in response order
  std::vector<std::size_t> target(count);
  std::vector<bool> seen(count, false);
  std::size_t dimension = 0;
  std::size_t indexed = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) return Bad("data entry is not an object");
    const json::object& item = items[i].get_object();
    target[i] = i;
    if (const json::value* index = item.if_contains("index")) {
      if (!index->is_int64() && !index->is_uint64()) return Bad("index is not an integer");
      const auto at = index->to_number<std::int64_t>();
      if (at < 0 || static_cast<std::size_t>(at) >= count) {
        return Bad("index " + std::to_string(at) + " out of range");
      }
      if (seen[at]) return Bad("index " + std::to_string(at) + " appears twice");
      seen[at] = true;
      target[i] = static_cast<std::size_t>(at);
      ++indexed;
    }
    const json::value* embedding = item.if_contains("embedding");
    if (embedding == nullptr) return Bad("data entry without embedding");
    auto size = ReadVector(*embedding, rows);
    if (!size) return Fail(size.error());
    if (*size == 0) return Bad("empty embedding");
    if (i == 0) dimension = *size;
    if (*size != dimension) return Bad("embeddings of different dimensions");
  }
  if (indexed != 0 && indexed != count) return Bad("index on some data entries only");
  if (expected_dimension > 0 && count > 0 &&
      dimension != static_cast<std::size_t>(expected_dimension)) {
    return Bad("dimension " + std::to_string(dimension) + ", expected " +
               std::to_string(expected_dimension));
  }
  Embeddings result;
  result.dimension = count > 0 ? static_cast<int>(dimension) : expected_dimension;
  result.data.resize(rows.size());
  for (std::size_t i = 0; i < count; ++i) {
    std::copy_n(rows.begin() + i * dimension, dimension,
                result.data.begin() + target[i] * dimension);
    Normalize(std::span<float>(result.data).subspan(target[i] * dimension, dimension));
  }
  return result;
}

std::string DescribeErrorBody(std::string_view body) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (!ec && root.is_object()) {
    const json::object& obj = root.get_object();
    const json::value* error = obj.if_contains("error");
    if (error && error->is_object()) {
      if (const json::value* m = error->get_object().if_contains("message"); m && m->is_string()) {
        return Printable(m->get_string());
      }
    }
    if (error && error->is_string()) return Printable(error->get_string());
    if (const json::value* m = obj.if_contains("message"); m && m->is_string()) {
      return Printable(m->get_string());
    }
  }
  return Printable(body);
}

}  // namespace ragpdf::embed::remote
