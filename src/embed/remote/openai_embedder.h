// OpenAiEmbedder: the Embedder for remote OpenAI-compatible embedding APIs,
// provider = "openai" (OpenAI and every server speaking its API: vLLM,
// Ollama, llama.cpp, text-embeddings-inference, another ragpdf) and
// provider = "azure-openai".
//
// One Embed() call (one file's chunks, or one query):
// - texts longer than max_tokens (estimated, see estimated_tokenizer.h) are
//   cut to max_tokens * 3 bytes at a character boundary;
// - the texts are split into sub-batches within max_inputs_per_request and
//   max_tokens_per_request (sub_batches.h), sent concurrently;
// - each sub-batch is retried on its own on 429, 408, 500, 502, 503, 504,
//   timeouts and connection failures, with exponential backoff and full
//   jitter, or at least as long as the server asks (retry_hints.h); a
//   server's wait also pauses every other request of the provider. Retries
//   are bounded per sub-batch (max_retries_per_batch) and per call
//   (retry_budget);
// - 400/404/422 (and other 4xx) fail at once with kEmbeddingBadRequest,
//   401/403 with kEmbeddingAuthFailed; a malformed answer, a wrong count or
//   a wrong dimension with kEmbeddingBadResponse (wire_format.h);
// - when retries run out the error names the last failure:
//   kEmbeddingRateLimited (429), kEmbeddingUnavailable (5xx),
//   kEmbeddingTimeout (timeouts, connection failures);
// - the first failure of a sub-batch ends the call: no new request starts
//   and the call returns once its requests in flight have ended (each has a
//   total timeout), so Embed() always completes.
//
// Queries (Purpose::kQuery: one short request) are not queued behind
// documents' sub-batches: they skip the concurrency limit, but honour a
// server-requested pause and the token buckets.
//
// Per provider, the requests in flight are limited by an AIMD controller
// between min_concurrency and max_concurrency (limiter.h) and paced by
// optional token buckets (requests_per_minute, tokens_per_minute; the burst
// is one second of quota). Metrics, labelled model="<name>":
// ragpdf_remote_concurrency_limit, ragpdf_remote_in_flight (gauges),
// ragpdf_remote_requests_total{status} (HTTP status, "timeout",
// "connection" or "error"), ragpdf_remote_retries_total{reason} (the same
// values).
//
// The API key is only ever put in the request header, never in a message
// or log line.
//
// Ownership: app/ creates one per configured model. The destructor shuts
// down the HTTP client (requests in flight fail with kUnavailable); calls
// still suspended keep the shared state alive until they end.
// Thread-safety: Embed() may be called concurrently from any thread; one
// call must be awaited on a single-threaded executor or a strand (its
// sub-batches run concurrently on it).
// Errors: see above; kUnavailable after shutdown.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "embed/embedder.h"

namespace ragpdf::embed::remote {

struct OpenAiOptions {
  std::string name;                 // model_choice value
  std::string provider = "openai";  // or "azure-openai"
  // openai: POST {base_url}/embeddings, `Authorization: Bearer <api_key>`.
  std::string base_url = "https://api.openai.com/v1";
  std::string model;
  // azure-openai: POST {endpoint}/openai/deployments/{deployment}/embeddings
  // ?api-version={api_version}, `api-key: <api_key>`.
  std::string endpoint;
  std::string deployment;
  std::string api_version = "2024-10-21";
  std::string api_key;  // empty: no authentication header
  // Sent as `dimensions` and required of every vector; 0: not sent.
  int dimensions = 0;
  // Required output dimension when `dimensions` is not sent; 0: learned
  // from the first response, then required.
  int dimension = 0;
  std::string encoding_format = "float";  // requested; both are accepted
  int max_tokens = 8191;                  // per input (chunk sizing)
  std::size_t max_inputs_per_request = 2048;
  std::int64_t max_tokens_per_request = 300000;
  std::chrono::milliseconds timeout{60000};  // whole request
  std::chrono::milliseconds connect_timeout{10000};
  int min_concurrency = 1;
  int max_concurrency = 64;
  // Successes slower than this never raise the concurrency limit (a request
  // of a full sub-batch can take several seconds).
  std::chrono::milliseconds latency_target{30000};
  double requests_per_minute = 0;  // 0: no limit
  double tokens_per_minute = 0;    // 0: no limit
  int retry_budget = 20;           // retries per Embed() call
  int max_retries_per_batch = 8;
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_max{10000};
  // Longest single wait, whatever the server asks for.
  std::chrono::milliseconds max_retry_delay{60000};
  std::size_t max_response_bytes = 512u << 20;
};

class OpenAiEmbedder : public Embedder {
 public:
  // kBadRequest naming the option for invalid options. `cpu` runs request
  // serialization and response parsing (never the caller's event loop).
  static common::Result<std::shared_ptr<OpenAiEmbedder>> Create(OpenAiOptions options,
                                                                boost::asio::any_io_executor cpu);
  ~OpenAiEmbedder() override;

  const ModelInfo& info() const override;
  const common::Tokenizer& tokenizer() const override;
  boost::asio::awaitable<common::Result<Embeddings>> Embed(EmbedRequest request) override;

  // The AIMD controller's current limit (also in /metrics).
  int concurrency_limit() const;

  class Core;

 private:
  explicit OpenAiEmbedder(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

// The request URL for `options` (provider openai or azure-openai).
std::string EmbeddingsUrl(const OpenAiOptions& options);

}  // namespace ragpdf::embed::remote
