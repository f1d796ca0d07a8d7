// The OpenAI embeddings wire format (also spoken by Azure OpenAI, vLLM,
// Ollama, llama.cpp's server, text-embeddings-inference and ragpdf's own
// POST /v1/embeddings): building request bodies and validating responses.
//
// A response is accepted only if it is a JSON object whose `data` array has
// exactly one entry per input, placed by `index` (a permutation of 0..n-1 on
// every entry; in order when no entry has one), each `embedding` an array of
// finite numbers or a base64 string
// of little-endian float32 (encoding_format "base64"), all of one dimension
// (the expected one when known). Anything else is kEmbeddingBadResponse,
// never a partial result. Vectors are L2-normalized on receipt (OpenAI's
// already are and are kept bit for bit: only a norm off 1 by more than 1e-5
// is corrected); an all-zero vector stays zero.
//
// Thread-safety: pure functions. Errors: kEmbeddingBadResponse.
#pragma once

#include "common/base64.h"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "embed/embedder.h"

namespace ragpdf::embed::remote {

using common::DecodeFloatsBase64;
using common::EncodeFloatsBase64;

struct RequestBodyOptions {
  std::string model;                      // omitted when empty (Azure)
  int dimensions = 0;                     // omitted when 0
  std::string encoding_format = "float";  // "float" or "base64"
};

std::string BuildEmbeddingsRequest(const RequestBodyOptions& options,
                                   std::span<const std::string> inputs);

// `expected_dimension` 0: any, but one for all rows.
common::Result<Embeddings> ParseEmbeddingsResponse(std::string_view body, std::size_t count,
                                                   int expected_dimension);

// A short description of an error response for messages: the API's
// `error.message` (or `error`, or `message`) when the body is JSON, else the
// start of the body. At most ~300 characters, printable ASCII.
std::string DescribeErrorBody(std::string_view body);

}  // namespace ragpdf::embed::remote
