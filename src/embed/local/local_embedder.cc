#include "embed/local/local_embedder.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/metrics.h"
#include "embed/local/batch_queue.h"

namespace ragpdf::embed::local {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

// Texts tokenized per task on the CPU pool: small enough that the encoder
// gets its first rows quickly, large enough to amortize the hand-off.
constexpr std::size_t kTokenizeSlice = 64;
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;

// sentence-transformers' max_seq_length, when the directory has one.
Result<std::optional<int>> SbertMaxSeqLength(const fs::path& dir) {
  const fs::path file = dir / "sentence_bert_config.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<int>();
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kBadRequest, file.string() + ": " + why);
  };
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxConfigBytes) return bad("unreadable or larger than 1 MiB");
  std::ifstream in(file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code jec;
  const boost::json::value root = boost::json::parse(text, jec);
  if (jec || !root.is_object()) return bad("not a JSON object");
  const auto* value = root.as_object().if_contains("max_seq_length");
  if (!value || value->is_null()) return std::optional<int>();
  if (!value->is_int64() || value->as_int64() < 3 || value->as_int64() > 1 << 20) {
    return bad("max_seq_length must be an integer >= 3");
  }
  return std::optional<int>(static_cast<int>(value->as_int64()));
}

// What the tokenizing tasks need; shared so a task that runs after the
// engine is gone still finds it (and a closed queue).
struct Front {
  std::unique_ptr<WordPieceTokenizer> tokenizer;
  std::string query_prefix;
  std::string document_prefix;
  int max_length = 0;
  asio::any_io_executor cpu;
  std::shared_ptr<BatchQueue> queue;
};

// Tokenizes one slice of the request's texts, queues them, and chains the
// next slice, so one request occupies at most one pool thread at a time.
void TokenizeSlice(const std::shared_ptr<const Front>& front,
                   const std::shared_ptr<PendingRequest>& request, std::size_t begin) {
  if (request->finished.load()) return;  // failed or shut down meanwhile
  const std::size_t end = std::min(begin + kTokenizeSlice, request->texts.size());
  const std::string& prefix =
      request->purpose == Purpose::kQuery ? front->query_prefix : front->document_prefix;
  std::vector<Sequence> sequences;
  sequences.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    std::string& text = request->texts[i];
    if (!prefix.empty()) text.insert(0, prefix);
    sequences.push_back(Sequence{.request = request,
                                 .row = i,
                                 .ids = front->tokenizer->EncodeForModel(text, front->max_length)});
    std::string().swap(text);  // the ids are all the engine needs now
  }
  front->queue->Push(request, std::move(sequences));
  if (end < request->texts.size()) {
    asio::post(front->cpu, [front, request, end] { TokenizeSlice(front, request, end); });
  }
}

std::string PoolingName(Pooling p) { return p == Pooling::kCls ? "CLS" : "mean"; }

}  // namespace

class LocalEmbedder::Engine {
 public:
  Engine(const LocalEmbedderOptions& options, std::shared_ptr<Front> front,
         std::unique_ptr<BertEncoder> encoder, ModelInfo info)
      : front_(std::move(front)),
        encoder_(std::move(encoder)),
        info_(std::move(info)),
        labels_("model=\"" + info_.name + "\""),
        max_batch_tokens_(options.max_batch_tokens) {
    auto& m = common::Metrics::Global();
    m.Describe("ragpdf_local_batches_total", "counter", "Local encoder calls");
    m.Describe("ragpdf_local_batch_rows_total", "counter", "Sequences encoded by local models");
    m.Describe("ragpdf_local_real_tokens_total", "counter",
               "Tokens of the sequences encoded by local models");
    m.Describe("ragpdf_local_padded_tokens_total", "counter",
               "Padded tokens (rows x longest row) computed by local models");
    m.Describe("ragpdf_local_batch_fill_ratio", "gauge",
               "Padded tokens of the last local batch over the batch token budget");
    m.Describe("ragpdf_local_batch_seconds", "histogram", "Time of one local encoder call");
    thread_ = std::thread([this] { Run(); });
  }

  ~Engine() {
    front_->queue->Close();  // fails what is pending, wakes the thread
    thread_.join();
  }

  const ModelInfo& info() const { return info_; }
  const WordPieceTokenizer& tokenizer() const { return *front_->tokenizer; }

  // Not a coroutine: asio's use_awaitable turns the initiation into the
  // awaitable, which owns `request` until it starts.
  asio::awaitable<Result<Embeddings>> Embed(EmbedRequest request) {
    auto initiate = [this](auto handler, EmbedRequest request) {
      auto caller = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
      // std::function needs a copyable callable; the handler is move-only.
      auto shared = std::make_shared<decltype(handler)>(std::move(handler));
      auto complete = [shared, caller](Result<Embeddings> result) {
        asio::post(caller, [shared, result = std::move(result)]() mutable {
          auto handler = std::move(*shared);
          std::move(handler)(std::move(result));
        });
      };
      if (request.texts.empty()) {
        complete(Embeddings{.dimension = info_.dimension, .data = {}});
        return;
      }
      auto pending = front_->queue->Admit(std::move(request), std::move(complete));
      if (!pending) return;  // refused: already completed with the error
      std::shared_ptr<const Front> front = front_;
      asio::post(front_->cpu, [front, pending] { TokenizeSlice(front, pending, 0); });
    };
    return asio::async_initiate<const asio::use_awaitable_t<>, void(Result<Embeddings>)>(
        std::move(initiate), asio::use_awaitable, std::move(request));
  }

 private:
  // The encoder thread: one batch at a time, as the planner picks them.
  void Run() {
    const auto dim = static_cast<std::size_t>(info_.dimension);
    const std::int32_t pad = front_->tokenizer->pad_id();
    TokenBatch batch;
    std::vector<float> out;
    while (auto sequences = front_->queue->NextBatch()) {
      batch.seq_len = 0;
      batch.lengths.clear();
      std::size_t real = 0;
      for (const auto& s : *sequences) {
        batch.seq_len = std::max(batch.seq_len, static_cast<int>(s.ids.size()));
        batch.lengths.push_back(static_cast<int>(s.ids.size()));
        real += s.ids.size();
      }
      const std::size_t width = static_cast<std::size_t>(batch.seq_len);
      batch.ids.assign(sequences->size() * width, pad);
      for (std::size_t r = 0; r < sequences->size(); ++r) {
        const auto& ids = (*sequences)[r].ids;
        std::copy(ids.begin(), ids.end(),
                  batch.ids.begin() + static_cast<std::ptrdiff_t>(r * width));
      }
      out.resize(sequences->size() * dim);

      const auto start = std::chrono::steady_clock::now();
      Result<void> done = Forward(batch, out);
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      Record(batch, real, took.count());
      if (done) {
        front_->queue->Deliver(*sequences, out);
      } else {
        front_->queue->FailBatch(
            *sequences, common::Error{ErrorCode::kEmbeddingFailed,
                                      "model " + info_.name + ": " + done.error().message});
      }
    }
  }

  Result<void> Forward(const TokenBatch& batch, std::span<float> out) {
    try {
      return encoder_->Forward(batch, out);
    } catch (const std::exception& e) {  // e.g. bad_alloc: fail the batch, keep serving
      return Fail(ErrorCode::kEmbeddingFailed, e.what());
    }
  }

  void Record(const TokenBatch& batch, std::size_t real, double seconds) {
    const double padded =
        static_cast<double>(batch.rows() * static_cast<std::size_t>(batch.seq_len));
    auto& m = common::Metrics::Global();
    m.Inc("ragpdf_local_batches_total", labels_);
    m.Inc("ragpdf_local_batch_rows_total", labels_, static_cast<double>(batch.rows()));
    m.Inc("ragpdf_local_real_tokens_total", labels_, static_cast<double>(real));
    m.Inc("ragpdf_local_padded_tokens_total", labels_, padded);
    m.Set("ragpdf_local_batch_fill_ratio", labels_,
          padded / static_cast<double>(max_batch_tokens_));
    m.Observe("ragpdf_local_batch_seconds", labels_, seconds);
  }

  std::shared_ptr<Front> front_;
  std::unique_ptr<BertEncoder> encoder_;
  ModelInfo info_;
  std::string labels_;
  std::size_t max_batch_tokens_;
  std::thread thread_;  // last: starts once everything above exists
};

Result<std::unique_ptr<LocalEmbedder>> LocalEmbedder::Load(LocalEmbedderOptions options) {
  auto tokenizer = WordPieceTokenizer::LoadFromDirectory(options.path);
  if (!tokenizer) {
    return Fail(tokenizer.error().code, "model " + options.name + ": " + tokenizer.error().message);
  }
  auto encoder = BertEncoder::Load(options.path, EncoderOptions{.threads = options.threads});
  if (!encoder) {
    return Fail(encoder.error().code, "model " + options.name + ": " + encoder.error().message);
  }
  return Create(std::move(options), std::move(*tokenizer), std::move(*encoder));
}

Result<std::unique_ptr<LocalEmbedder>> LocalEmbedder::Create(
    LocalEmbedderOptions options, std::unique_ptr<WordPieceTokenizer> tokenizer,
    std::unique_ptr<BertEncoder> encoder) {
  assert(options.cpu && tokenizer && encoder);
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kBadRequest, "model " + options.name + ": " + why);
  };
  if (options.max_batch_tokens == 0 || options.max_batch_rows == 0 ||
      options.max_queued_texts == 0 || options.max_queued_queries == 0 || options.threads < 0 ||
      options.max_tokens < 0) {
    return bad("batch sizes and queue limits must be >= 1, threads and max_tokens >= 0");
  }
  const BertConfig& config = encoder->config();
  if (tokenizer->vocab_size() > static_cast<std::size_t>(config.vocab_size)) {
    return bad(fmt::format("the tokenizer has {} tokens but config.json's vocab_size is {}",
                           tokenizer->vocab_size(), config.vocab_size));
  }
  int max_length = options.max_tokens;
  if (max_length == 0) {
    auto sbert = SbertMaxSeqLength(options.path);
    if (!sbert) return bad(sbert.error().message);
    max_length = sbert->value_or(config.max_position_embeddings);
  }
  if (max_length > config.max_position_embeddings) {
    return bad(fmt::format("max_tokens {} exceeds the model's max_position_embeddings {}",
                           max_length, config.max_position_embeddings));
  }
  const int prefix_tokens = std::max(tokenizer->CountTokens(options.query_prefix),
                                     tokenizer->CountTokens(options.document_prefix));
  const int text_tokens = max_length - 2 - prefix_tokens;
  if (text_tokens < 1) {
    return bad(
        fmt::format("max_tokens {} leaves no room for text after [CLS], [SEP] and the "
                    "{}-token prefix",
                    max_length, prefix_tokens));
  }

  ModelInfo info{
      .name = options.name,
      .provider = "local",
      .dimension = config.hidden_size,
      .max_tokens = text_tokens,
      .description = fmt::format("Local BERT model {} ({} layers, hidden {}, {} pooling)",
                                 options.path.string(), config.num_hidden_layers,
                                 config.hidden_size, PoolingName(config.pooling))};
  BatchQueueOptions queue{
      .model = options.name,
      .dimension = config.hidden_size,
      .planner = BatchPlannerOptions{.max_batch_tokens = options.max_batch_tokens,
                                     .max_batch_rows = options.max_batch_rows},
      .max_queued_rows = options.max_queued_texts,
      .max_queued_queries = options.max_queued_queries};
  auto front = std::make_shared<Front>(Front{.tokenizer = std::move(tokenizer),
                                             .query_prefix = options.query_prefix,
                                             .document_prefix = options.document_prefix,
                                             .max_length = max_length,
                                             .cpu = options.cpu,
                                             .queue = std::make_shared<BatchQueue>(queue)});
  auto engine =
      std::make_unique<Engine>(options, std::move(front), std::move(encoder), std::move(info));
  return std::unique_ptr<LocalEmbedder>(new LocalEmbedder(std::move(engine)));
}

LocalEmbedder::LocalEmbedder(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}
LocalEmbedder::~LocalEmbedder() = default;

const ModelInfo& LocalEmbedder::info() const { return engine_->info(); }
const common::Tokenizer& LocalEmbedder::tokenizer() const { return engine_->tokenizer(); }

asio::awaitable<Result<Embeddings>> LocalEmbedder::Embed(EmbedRequest request) {
  return engine_->Embed(std::move(request));
}

}  // namespace ragpdf::embed::local
