#include "embed/remote/openai_embedder.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/async.h"
#include "common/metrics.h"
#include "common/retry.h"
#include "embed/remote/curl_client.h"
#include "embed/remote/estimated_tokenizer.h"
#include "embed/remote/limiter.h"
#include "embed/remote/retry_hints.h"
#include "embed/remote/sub_batches.h"
#include "embed/remote/wire_format.h"

namespace ragpdf::embed::remote {

namespace asio = boost::asio;
using common::Error;
using common::ErrorCode;
using common::Fail;
using common::Result;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kConcurrencyLimit = "ragpdf_remote_concurrency_limit";
constexpr std::string_view kInFlight = "ragpdf_remote_in_flight";
constexpr std::string_view kRequests = "ragpdf_remote_requests_total";
constexpr std::string_view kRetries = "ragpdf_remote_retries_total";
// Connections beyond max_concurrency, for queries (they skip the limit).
constexpr int kQueryConnections = 4;
// Jitter added to a server-requested wait: up to a tenth of it, at most this.
constexpr milliseconds kMaxHintJitter{1000};

void DescribeMetrics() {
  auto& m = common::Metrics::Global();
  m.Describe(kConcurrencyLimit, "gauge", "Requests a remote embedding model may have in flight");
  m.Describe(kInFlight, "gauge", "Requests in flight to a remote embedding model");
  m.Describe(kRequests, "counter", "Requests to remote embedding models by outcome");
  m.Describe(kRetries, "counter", "Retried requests to remote embedding models by reason");
}

std::string EscapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out;
}

// Cuts `text` to at most `max_bytes`, not inside a UTF-8 sequence.
void TruncateUtf8(std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool IsHttpUrl(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

// The outcome of one request.
struct Attempt {
  std::optional<Embeddings> rows;  // success
  Error error;                     // otherwise
  bool aborted = false;            // not sent: the call had already failed
  bool retryable = false;
  bool overload = false;  // 429 or timeout: lowers the concurrency limit
  ErrorCode exhausted_code = ErrorCode::kEmbeddingUnavailable;
  std::string reason;  // metric label
  std::optional<milliseconds> server_delay;
};

Attempt Retryable(ErrorCode exhausted, std::string reason, std::string message, bool overload) {
  Attempt a;
  a.retryable = true;
  a.overload = overload;
  a.exhausted_code = exhausted;
  a.reason = std::move(reason);
  a.error = Error{exhausted, std::move(message)};
  return a;
}

Attempt Fatal(ErrorCode code, std::string reason, std::string message) {
  Attempt a;
  a.reason = std::move(reason);
  a.error = Error{code, std::move(message)};
  return a;
}

}  // namespace

std::string EmbeddingsUrl(const OpenAiOptions& o) {
  if (o.provider == "azure-openai") {
    return TrimSlash(o.endpoint) + "/openai/deployments/" + o.deployment +
           "/embeddings?api-version=" + o.api_version;
  }
  return TrimSlash(o.base_url) + "/embeddings";
}

class OpenAiEmbedder::Core {
 public:
  Core(OpenAiOptions options, asio::any_io_executor cpu)
      : options_(std::move(options)),
        cpu_(std::move(cpu)),
        labels_(fmt::format("model=\"{}\"", EscapeLabel(options_.name))),
        url_(EmbeddingsUrl(options_)),
        client_(CurlClientOptions{.max_connections = options_.max_concurrency + kQueryConnections,
                                  .max_response_bytes = options_.max_response_bytes}),
        semaphore_(static_cast<std::size_t>(options_.min_concurrency)),
        aimd_(AimdOptions{.min_limit = options_.min_concurrency,
                          .max_limit = options_.max_concurrency,
                          .latency_target = options_.latency_target}),
        backoff_{.max_attempts = options_.max_retries_per_batch + 1,
                 .base_delay = options_.backoff_base,
                 .max_delay = options_.backoff_max} {
    const bool azure = options_.provider == "azure-openai";
    info_.name = options_.name;
    info_.provider = options_.provider;
    info_.dimension = options_.dimensions > 0 ? options_.dimensions : options_.dimension;
    info_.max_tokens = options_.max_tokens;
    info_.description = azure ? fmt::format("Azure OpenAI deployment {} at {}", options_.deployment,
                                            TrimSlash(options_.endpoint))
                              : fmt::format("OpenAI-compatible API, model {} at {}", options_.model,
                                            TrimSlash(options_.base_url));
    body_options_ = RequestBodyOptions{.model = azure ? "" : options_.model,
                                       .dimensions = options_.dimensions,
                                       .encoding_format = options_.encoding_format};
    headers_ = {"Content-Type: application/json", "Accept: application/json",
                "User-Agent: ragpdf/0.1"};
    if (!options_.api_key.empty()) {
      headers_.push_back(azure ? "api-key: " + options_.api_key
                               : "Authorization: Bearer " + options_.api_key);
    }
    const auto now = Clock::now();
    if (options_.requests_per_minute > 0) {
      rpm_.emplace(options_.requests_per_minute, std::max(1.0, options_.requests_per_minute / 60),
                   now);
    }
    if (options_.tokens_per_minute > 0) {
      tpm_.emplace(options_.tokens_per_minute, std::max(1.0, options_.tokens_per_minute / 60), now);
    }
    DescribeMetrics();
    auto& m = common::Metrics::Global();
    m.Set(kConcurrencyLimit, labels_, aimd_.limit());
    m.Set(kInFlight, labels_, 0);
  }

  const ModelInfo& info() const { return info_; }
  const common::Tokenizer& tokenizer() const { return tokenizer_; }
  void Shutdown() { client_.Shutdown(); }
  int limit() const {
    std::lock_guard lock(mu_);
    return aimd_.limit();
  }

  // `self` keeps the state alive while the call is suspended.
  static asio::awaitable<Result<Embeddings>> Embed(std::shared_ptr<Core> self,
                                                   EmbedRequest request);

 private:
  struct Call {
    std::vector<std::string> texts;
    Purpose purpose = Purpose::kDocument;
    int dimension = 0;
    std::vector<float> data;  // texts.size() x dimension, once dimension is known
    int retries_left = 0;
    std::optional<Error> error;

    void Fail(Error e) {
      if (!error) error = std::move(e);
    }
  };

  static asio::awaitable<bool> RunBatch(std::shared_ptr<Core> self, std::shared_ptr<Call> call,
                                        SubBatch batch);
  asio::awaitable<Attempt> SendOnce(const std::string& body, const SubBatch& batch,
                                    const Call& call);
  Attempt Classify(const HttpResult& result, std::int64_t tokens) const;
  asio::awaitable<void> WaitForQuota(std::int64_t tokens);
  void Store(Call& call, const SubBatch& batch, const Embeddings& rows) const;
  void AdjustLimit(bool success, milliseconds latency, Clock::time_point started);
  void AddInFlight(int delta);
  milliseconds RetryDelay(int retry, std::optional<milliseconds> hint) const;
  int ExpectedDimension() const {
    return info_.dimension > 0 ? info_.dimension : learned_dimension_.load();
  }
  std::string Redact(std::string message) const;

  const OpenAiOptions options_;
  const asio::any_io_executor cpu_;
  const std::string labels_;
  const std::string url_;
  ModelInfo info_;
  EstimatedTokenizer tokenizer_;
  RequestBodyOptions body_options_;
  std::vector<std::string> headers_;
  CurlClient client_;
  common::AsyncSemaphore semaphore_;
  std::atomic<int> learned_dimension_{0};
  std::atomic<int> in_flight_{0};

  mutable std::mutex mu_;  // guards the fields below
  AimdController aimd_;
  std::optional<TokenBucket> rpm_;
  std::optional<TokenBucket> tpm_;
  Clock::time_point not_before_{};  // a server asked for a pause until then
  const common::RetryPolicy backoff_;
};

asio::awaitable<Result<Embeddings>> OpenAiEmbedder::Core::Embed(std::shared_ptr<Core> self,
                                                                EmbedRequest request) {
  const OpenAiOptions& o = self->options_;
  auto call = std::make_shared<Call>();
  call->texts = std::move(request.texts);
  call->purpose = request.purpose;
  call->retries_left = o.retry_budget;
  call->dimension = self->ExpectedDimension();
  const std::size_t count = call->texts.size();
  if (count == 0) co_return Embeddings{.dimension = call->dimension, .data = {}};

  const std::size_t max_bytes =
      static_cast<std::size_t>(o.max_tokens) * static_cast<std::size_t>(kBytesPerEstimatedToken);
  std::vector<int> tokens(count);
  for (std::size_t i = 0; i < count; ++i) {
    TruncateUtf8(call->texts[i], max_bytes);
    tokens[i] = self->tokenizer_.CountTokens(call->texts[i]);
  }
  std::vector<asio::awaitable<bool>> tasks;
  for (const SubBatch& batch :
       SplitIntoSubBatches(tokens, o.max_inputs_per_request, o.max_tokens_per_request)) {
    tasks.push_back(RunBatch(self, call, batch));
  }
  co_await common::WhenAll(std::move(tasks));
  if (call->error) co_return Fail(*call->error);
  co_return Embeddings{.dimension = call->dimension, .data = std::move(call->data)};
}

asio::awaitable<bool> OpenAiEmbedder::Core::RunBatch(std::shared_ptr<Core> self,
                                                     std::shared_ptr<Call> call, SubBatch batch) {
  Core& core = *self;
  const RequestBodyOptions* body_options = &core.body_options_;
  const std::span<const std::string> texts =
      std::span<const std::string>(call->texts).subspan(batch.begin, batch.size());
  auto build = [body_options, texts] { return BuildEmbeddingsRequest(*body_options, texts); };
  const std::string body = co_await common::Offload(core.cpu_, build);

  std::string retry_reason;  // set while the next attempt is a retry
  for (int retry = 0;; ++retry) {
    if (call->error) co_return false;
    Attempt attempt = co_await core.SendOnce(body, batch, *call);
    if (attempt.aborted) co_return false;
    // Counted once the retry really went out (not while it waited for a slot).
    if (!retry_reason.empty()) {
      common::Metrics::Global().Inc(kRetries,
                                    fmt::format("{},reason=\"{}\"", core.labels_, retry_reason));
      retry_reason.clear();
    }
    if (attempt.rows) {
      core.Store(*call, batch, *attempt.rows);
      co_return !call->error;
    }
    if (!attempt.retryable) {
      call->Fail(std::move(attempt.error));
      co_return false;
    }
    const bool batch_exhausted = retry >= core.options_.max_retries_per_batch;
    if (!batch_exhausted && call->retries_left > 0) {
      const milliseconds delay = core.RetryDelay(retry + 1, attempt.server_delay);
      spdlog::debug("remote model={} retry={} reason={} delay_ms={}", core.options_.name, retry + 1,
                    attempt.reason, delay.count());
      co_await common::SleepFor(delay);
      if (call->error) co_return false;
      // The budget is charged after the backoff: other sub-batches may have
      // used it up meanwhile.
      if (call->retries_left > 0) {
        --call->retries_left;
        retry_reason = attempt.reason;
        continue;
      }
    }
    spdlog::warn("remote model={} give_up=true attempts={} reason={} message=\"{}\"",
                 core.options_.name, retry + 1, attempt.reason, attempt.error.message);
    call->Fail(Error{attempt.exhausted_code,
                     fmt::format("{}: gave up after {} attempt(s) ({} exhausted); last error: {}",
                                 core.options_.name, retry + 1,
                                 batch_exhausted ? "max_retries_per_batch" : "retry_budget",
                                 attempt.error.message)});
    co_return false;
  }
}

asio::awaitable<Attempt> OpenAiEmbedder::Core::SendOnce(const std::string& body,
                                                        const SubBatch& batch, const Call& call) {
  std::optional<common::SemaphorePermit> permit;
  if (call.purpose == Purpose::kDocument) {
    co_await semaphore_.Acquire();
    permit.emplace(semaphore_);
  }
  co_await WaitForQuota(batch.tokens);
  if (call.error) {
    Attempt aborted;
    aborted.aborted = true;
    co_return aborted;
  }

  HttpRequest request{.url = url_,
                      .headers = headers_,
                      .body = body,
                      .timeout = options_.timeout,
                      .connect_timeout = options_.connect_timeout};
  AddInFlight(1);
  const auto started = Clock::now();
  HttpResult result = co_await client_.Send(std::move(request));
  const auto latency = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  AddInFlight(-1);
  Attempt attempt = Classify(result, batch.tokens);
  // Lower the limit before the permit goes back, or a waiter would take it
  // under the old limit.
  if (attempt.overload) AdjustLimit(false, latency, started);
  permit.reset();

  const std::string status =
      result ? std::to_string(result->status)
             : (result.error().kind == TransportError::Kind::kTimeout      ? "timeout"
                : result.error().kind == TransportError::Kind::kConnection ? "connection"
                                                                           : "error");
  common::Metrics::Global().Inc(kRequests, fmt::format("{},status=\"{}\"", labels_, status));

  if (result && result->status / 100 == 2) {
    const std::string* response_body = &result->body;
    const std::size_t count = batch.size();
    const int expected = ExpectedDimension();
    auto parse = [response_body, count, expected] {
      return ParseEmbeddingsResponse(*response_body, count, expected);
    };
    Result<Embeddings> rows = co_await common::Offload(cpu_, parse);
    if (!rows) {
      co_return Fatal(ErrorCode::kEmbeddingBadResponse, status,
                      options_.name + ": " + Redact(rows.error().message));
    }
    int unknown = 0;
    learned_dimension_.compare_exchange_strong(unknown, rows->dimension);
    AdjustLimit(true, latency, started);
    attempt.rows = std::move(*rows);
    co_return attempt;
  }
  if (attempt.server_delay) {
    std::lock_guard lock(mu_);
    not_before_ = std::max(
        not_before_, Clock::now() + std::min(*attempt.server_delay, options_.max_retry_delay));
  }
  co_return attempt;
}

Attempt OpenAiEmbedder::Core::Classify(const HttpResult& result, std::int64_t tokens) const {
  const std::string& name = options_.name;
  if (!result) {
    const TransportError& e = result.error();
    using Kind = TransportError::Kind;
    switch (e.kind) {
      case Kind::kTimeout:
        return Retryable(ErrorCode::kEmbeddingTimeout, "timeout",
                         name + ": request timed out: " + e.message, /*overload=*/true);
      case Kind::kConnection:
        return Retryable(ErrorCode::kEmbeddingTimeout, "connection",
                         name + ": connection failed: " + e.message, /*overload=*/false);
      case Kind::kTooLarge:
        return Fatal(ErrorCode::kEmbeddingBadResponse, "error", name + ": " + e.message);
      case Kind::kShutdown:
        return Fatal(ErrorCode::kUnavailable, "error", name + ": " + e.message);
      case Kind::kOther:
        return Fatal(ErrorCode::kEmbeddingFailed, "error", name + ": " + e.message);
    }
  }
  const int status = result->status;
  const std::string reason = std::to_string(status);
  if (status / 100 == 2) return Attempt{.reason = reason};
  const std::string message = fmt::format("{}: HTTP {} from the embedding API: {}", name, status,
                                          Redact(DescribeErrorBody(result->body)));
  Attempt attempt;
  switch (status) {
    case 429:
      attempt = Retryable(ErrorCode::kEmbeddingRateLimited, reason, message, /*overload=*/true);
      break;
    case 408:
      attempt = Retryable(ErrorCode::kEmbeddingTimeout, reason, message, /*overload=*/false);
      break;
    case 500:
    case 502:
    case 503:
    case 504:
      attempt = Retryable(ErrorCode::kEmbeddingUnavailable, reason, message, /*overload=*/false);
      break;
    case 401:
    case 403:
      return Fatal(ErrorCode::kEmbeddingAuthFailed, reason, message);
    default:
      if (status / 100 == 4) return Fatal(ErrorCode::kEmbeddingBadRequest, reason, message);
      if (status / 100 == 5) return Fatal(ErrorCode::kEmbeddingUnavailable, reason, message);
      return Fatal(ErrorCode::kEmbeddingBadResponse, reason, message);
  }
  attempt.server_delay =
      ServerRetryDelay(result->headers, tokens, std::chrono::system_clock::now());
  return attempt;
}

asio::awaitable<void> OpenAiEmbedder::Core::WaitForQuota(std::int64_t tokens) {
  auto ex = co_await asio::this_coro::executor;
  // A pause a server asked for may be extended while we wait: check again.
  for (;;) {
    Clock::duration pause{0};
    {
      std::lock_guard lock(mu_);
      pause = not_before_ - Clock::now();
    }
    if (pause <= Clock::duration::zero()) break;
    asio::steady_timer timer(ex, pause);
    co_await timer.async_wait(asio::use_awaitable);
  }
  Clock::duration wait{0};
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (rpm_) wait = std::max(wait, rpm_->Reserve(1, now));
    if (tpm_) wait = std::max(wait, tpm_->Reserve(static_cast<double>(tokens), now));
  }
  if (wait > Clock::duration::zero()) {
    asio::steady_timer timer(ex, wait);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

void OpenAiEmbedder::Core::Store(Call& call, const SubBatch& batch, const Embeddings& rows) const {
  if (call.dimension == 0) call.dimension = rows.dimension;
  if (rows.dimension != call.dimension) {
    call.Fail(Error{ErrorCode::kEmbeddingBadResponse,
                    fmt::format("{}: embedding response: dimension {}, expected {}", options_.name,
                                rows.dimension, call.dimension)});
    return;
  }
  const auto dim = static_cast<std::size_t>(call.dimension);
  if (call.data.empty()) call.data.resize(call.texts.size() * dim);
  std::copy(rows.data.begin(), rows.data.end(), call.data.begin() + batch.begin * dim);
}

void OpenAiEmbedder::Core::AdjustLimit(bool success, milliseconds latency,
                                       Clock::time_point started) {
  int limit = 0;
  {
    std::lock_guard lock(mu_);
    const int before = aimd_.limit();
    if (success) {
      aimd_.OnSuccess(latency);
    } else {
      aimd_.OnOverload(started, Clock::now());
    }
    limit = aimd_.limit();
    if (limit == before) return;
    semaphore_.SetLimit(static_cast<std::size_t>(limit));
  }
  common::Metrics::Global().Set(kConcurrencyLimit, labels_, limit);
}

void OpenAiEmbedder::Core::AddInFlight(int delta) {
  const int now = in_flight_.fetch_add(delta) + delta;
  common::Metrics::Global().Set(kInFlight, labels_, now);
}

milliseconds OpenAiEmbedder::Core::RetryDelay(int retry, std::optional<milliseconds> hint) const {
  if (!hint) return std::min(common::BackoffDelay(backoff_, retry), options_.max_retry_delay);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto spread = std::min(*hint / 10, kMaxHintJitter);
  std::uniform_int_distribution<long long> jitter(0, spread.count());
  return std::min(*hint + milliseconds(jitter(rng)), options_.max_retry_delay);
}

std::string OpenAiEmbedder::Core::Redact(std::string message) const {
  const std::string& key = options_.api_key;
  if (key.empty()) return message;
  for (auto pos = message.find(key); pos != std::string::npos; pos = message.find(key, pos)) {
    message.replace(pos, key.size(), "***");
  }
  return message;
}

// ---- OpenAiEmbedder --------------------------------------------------------

Result<std::shared_ptr<OpenAiEmbedder>> OpenAiEmbedder::Create(OpenAiOptions o,
                                                               asio::any_io_executor cpu) {
  auto bad = [&o](std::string what) {
    return Fail(ErrorCode::kBadRequest, "model " + o.name + ": " + what);
  };
  if (o.name.empty()) return Fail(ErrorCode::kBadRequest, "a remote model needs a name");
  if (o.provider == "azure-openai") {
    if (!IsHttpUrl(o.endpoint)) return bad("endpoint must be an http(s):// URL");
    if (o.deployment.empty()) return bad("deployment is required");
    if (o.api_version.empty()) return bad("api_version is required");
  } else if (o.provider == "openai") {
    if (!IsHttpUrl(o.base_url)) return bad("base_url must be an http(s):// URL");
    if (o.model.empty()) return bad("model is required");
  } else {
    return bad("unknown remote provider \"" + o.provider + "\"");
  }
  if (o.api_key.find_first_of("\r\n") != std::string::npos) {
    return bad("the API key contains a line break");
  }
  if (o.dimensions < 0 || o.dimension < 0) return bad("dimensions must be positive");
  if (o.dimensions > 0 && o.dimension > 0 && o.dimensions != o.dimension) {
    return bad("dimensions and dimension disagree");
  }
  if (o.encoding_format != "float" && o.encoding_format != "base64") {
    return bad("encoding_format must be \"float\" or \"base64\"");
  }
  if (o.max_tokens < 1 || o.max_inputs_per_request < 1 || o.max_tokens_per_request < 1) {
    return bad("max_tokens, max_inputs_per_request and max_tokens_per_request must be >= 1");
  }
  if (o.timeout.count() <= 0 || o.connect_timeout.count() <= 0) {
    return bad("timeout_s and connect_timeout_s must be positive");
  }
  if (o.min_concurrency < 1 || o.max_concurrency < o.min_concurrency || o.max_concurrency > 4096) {
    return bad("need 1 <= min_concurrency <= max_concurrency <= 4096");
  }
  if (o.latency_target.count() <= 0) return bad("latency_target_ms must be positive");
  if (o.requests_per_minute < 0 || o.tokens_per_minute < 0) {
    return bad("requests_per_minute and tokens_per_minute must be >= 0");
  }
  if (o.retry_budget < 0 || o.max_retries_per_batch < 0) {
    return bad("retry_budget and max_retries_per_batch must be >= 0");
  }
  if (o.backoff_base.count() <= 0 || o.backoff_max < o.backoff_base ||
      o.max_retry_delay.count() <= 0) {
    return bad("need 0 < backoff_base_ms <= backoff_max_ms and max_retry_delay_s > 0");
  }
  auto core = std::make_shared<Core>(std::move(o), std::move(cpu));
  return std::shared_ptr<OpenAiEmbedder>(new OpenAiEmbedder(std::move(core)));
}

OpenAiEmbedder::OpenAiEmbedder(std::shared_ptr<Core> core) : core_(std::move(core)) {}

OpenAiEmbedder::~OpenAiEmbedder() { core_->Shutdown(); }

const ModelInfo& OpenAiEmbedder::info() const { return core_->info(); }
const common::Tokenizer& OpenAiEmbedder::tokenizer() const { return core_->tokenizer(); }
int OpenAiEmbedder::concurrency_limit() const { return core_->limit(); }

asio::awaitable<Result<Embeddings>> OpenAiEmbedder::Embed(EmbedRequest request) {
  return Core::Embed(core_, std::move(request));
}

}  // namespace ragpdf::embed::remote
