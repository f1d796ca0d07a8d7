// provider = "openai" / "azure-openai": remote OpenAI-compatible APIs.
// Keys (all but name/provider optional unless noted):
//   openai:        base_url (default https://api.openai.com/v1), model (required)
//   azure-openai:  endpoint, deployment (required), api_version
//   both:          api_key_env (the environment variable holding the key;
//                  absent or "": no authentication), dimensions, dimension,
//                  encoding_format, max_tokens, max_inputs_per_request,
//                  max_tokens_per_request, timeout_s, connect_timeout_s,
//                  min_concurrency, max_concurrency, latency_target_ms,
//                  requests_per_minute, tokens_per_minute, retry_budget,
//                  max_retries_per_batch, backoff_base_ms, backoff_max_ms,
//                  max_retry_delay_s
// See embed/remote/openai_embedder.h for their meaning and defaults.
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include <spdlog/spdlog.h>

#include "app/providers.h"
#include "embed/remote/openai_embedder.h"

namespace ragpdf::app {

namespace {

using common::ErrorCode;
using common::Fail;
using std::chrono::milliseconds;

const std::set<std::string, std::less<>> kKeys = {"name",
                                                  "provider",
                                                  "base_url",
                                                  "model",
                                                  "endpoint",
                                                  "deployment",
                                                  "api_version",
                                                  "api_key_env",
                                                  "dimensions",
                                                  "dimension",
                                                  "encoding_format",
                                                  "max_tokens",
                                                  "max_inputs_per_request",
                                                  "max_tokens_per_request",
                                                  "timeout_s",
                                                  "connect_timeout_s",
                                                  "min_concurrency",
                                                  "max_concurrency",
                                                  "latency_target_ms",
                                                  "requests_per_minute",
                                                  "tokens_per_minute",
                                                  "retry_budget",
                                                  "max_retries_per_batch",
                                                  "backoff_base_ms",
                                                  "backoff_max_ms",
                                                  "max_retry_delay_s"};

// An integer or a float; toml11 throws for any other type.
double NumberOr(const toml::value& table, const std::string& key, double fallback) {
  if (!table.contains(key)) return fallback;
  const toml::value& v = toml::find(table, key);
  if (v.is_integer()) return static_cast<double>(v.as_integer());
  return toml::get<double>(v);
}

milliseconds MsOr(const toml::value& table, const std::string& key, double scale,
                  milliseconds fallback) {
  const double value = NumberOr(table, key, static_cast<double>(fallback.count()) / scale);
  return milliseconds(std::llround(value * scale));
}

}  // namespace

common::Result<std::shared_ptr<embed::Embedder>> MakeOpenAiModel(const ModelConfig& c,
                                                                 const ProviderContext& context) {
  const toml::value& t = c.table;
  for (const auto& [key, value] : t.as_table()) {
    if (!kKeys.contains(key)) spdlog::warn("config model={} unknown_key={}", c.name, key);
  }
  embed::remote::OpenAiOptions o;
  o.name = c.name;
  o.provider = c.provider;
  o.base_url = TomlOr<std::string>(t, "base_url", o.base_url);
  o.model = TomlOr<std::string>(t, "model", o.model);
  o.endpoint = TomlOr<std::string>(t, "endpoint", o.endpoint);
  o.deployment = TomlOr<std::string>(t, "deployment", o.deployment);
  o.api_version = TomlOr<std::string>(t, "api_version", o.api_version);
  const std::string key_env = TomlOr<std::string>(t, "api_key_env", "");
  if (!key_env.empty()) {
    const char* key = std::getenv(key_env.c_str());
    if (key == nullptr || *key == '\0') {
      return Fail(ErrorCode::kBadRequest, "model " + c.name + ": environment variable " + key_env +
                                              " (api_key_env) is not set or empty");
    }
    o.api_key = key;
  }
  o.dimensions = TomlOr<int>(t, "dimensions", o.dimensions);
  o.dimension = TomlOr<int>(t, "dimension", o.dimension);
  o.encoding_format = TomlOr<std::string>(t, "encoding_format", o.encoding_format);
  o.max_tokens = TomlOr<int>(t, "max_tokens", o.max_tokens);
  const auto max_inputs = TomlOr<std::int64_t>(t, "max_inputs_per_request",
                                               static_cast<std::int64_t>(o.max_inputs_per_request));
  if (max_inputs < 1) {
    return Fail(ErrorCode::kBadRequest,
                "model " + c.name + ": max_inputs_per_request must be >= 1");
  }
  o.max_inputs_per_request = static_cast<std::size_t>(max_inputs);
  o.max_tokens_per_request =
      TomlOr<std::int64_t>(t, "max_tokens_per_request", o.max_tokens_per_request);
  o.timeout = MsOr(t, "timeout_s", 1000, o.timeout);
  o.connect_timeout = MsOr(t, "connect_timeout_s", 1000, o.connect_timeout);
  o.min_concurrency = TomlOr<int>(t, "min_concurrency", o.min_concurrency);
  o.max_concurrency = TomlOr<int>(t, "max_concurrency", o.max_concurrency);
  o.latency_target = MsOr(t, "latency_target_ms", 1, o.latency_target);
  o.requests_per_minute = NumberOr(t, "requests_per_minute", o.requests_per_minute);
  o.tokens_per_minute = NumberOr(t, "tokens_per_minute", o.tokens_per_minute);
  o.retry_budget = TomlOr<int>(t, "retry_budget", o.retry_budget);
  o.max_retries_per_batch = TomlOr<int>(t, "max_retries_per_batch", o.max_retries_per_batch);
  o.backoff_base = MsOr(t, "backoff_base_ms", 1, o.backoff_base);
  o.backoff_max = MsOr(t, "backoff_max_ms", 1, o.backoff_max);
  o.max_retry_delay = MsOr(t, "max_retry_delay_s", 1000, o.max_retry_delay);
  auto embedder = embed::remote::OpenAiEmbedder::Create(std::move(o), context.cpu);
  if (!embedder) return Fail(embedder.error());
  return std::shared_ptr<embed::Embedder>(std::move(*embedder));
}

}  // namespace ragpdf::app
