// The engine with a real WordPiece tokenizer and a fake encoder at the
// test's edge: the fake's vector for a row is [length, first text id, last
// text id, sum of ids], so every output can be checked against the
// tokenizer's own encoding of the same text.
#include "embed/local/local_embedder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/metrics.h"

namespace ragpdf::embed::local {
namespace {

namespace asio = boost::asio;
using common::ErrorCode;
using common::Result;

constexpr int kDim = 4;
constexpr std::int32_t kFailId = 9;  // a row containing "boom" fails its batch

// Vocabulary: specials, prefix words, then t0..t299 at ids 10..309.
std::vector<std::string> Vocab() {
  std::vector<std::string> v = {"[PAD]", "[UNK]",   "[CLS]", "[SEP]", "query",
                                ":",     "passage", "x",     "y",     "boom"};
  for (int i = 0; i < 300; ++i) v.push_back("t" + std::to_string(i));
  return v;
}

std::int32_t WordId(int i) { return 10 + i; }

// Text of `n` words starting at word `first` (mod 300).
std::string Words(int first, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " t" : "t") + std::to_string((first + i) % 300);
  return s;
}

std::vector<float> FakeVector(std::span<const std::int32_t> ids) {
  const auto len = ids.size();
  float sum = 0;
  for (auto id : ids) sum += static_cast<float>(id);
  return {static_cast<float>(len), len > 2 ? static_cast<float>(ids[1]) : -1.0f,
          len > 2 ? static_cast<float>(ids[len - 2]) : -1.0f, sum};
}

// What the fake encoder saw, plus a gate that can hold it inside Forward().
struct Probe {
  struct Call {
    int seq_len;
    std::vector<int> lengths;
    std::vector<std::int32_t> first_ids;  // ids[1] of each row
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Call> calls;
  bool hold = false;
  int blocked = 0;
  bool bad_padding = false;

  void Hold() {
    std::lock_guard lock(mu);
    hold = true;
  }
  void Release() {
    std::lock_guard lock(mu);
    hold = false;
    cv.notify_all();
  }
  bool WaitBlocked() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return blocked > 0; });
  }
  std::vector<Call> Calls() {
    std::lock_guard lock(mu);
    return calls;
  }
};

class FakeEncoder : public BertEncoder {
 public:
  FakeEncoder(BertConfig config, std::shared_ptr<Probe> probe)
      : config_(config), probe_(std::move(probe)) {}
  const BertConfig& config() const override { return config_; }

  Result<void> Forward(const TokenBatch& batch, std::span<float> out) override {
    bool fail = false;
    {
      std::unique_lock lock(probe_->mu);
      Probe::Call call{.seq_len = batch.seq_len, .lengths = batch.lengths, .first_ids = {}};
      for (std::size_t r = 0; r < batch.rows(); ++r) {
        const auto* row = batch.ids.data() + r * batch.seq_len;
        call.first_ids.push_back(batch.lengths[r] > 2 ? row[1] : -1);
        for (int i = batch.lengths[r]; i < batch.seq_len; ++i) probe_->bad_padding |= row[i] != 0;
        fail |= std::find(row, row + batch.lengths[r], kFailId) != row + batch.lengths[r];
      }
      probe_->calls.push_back(std::move(call));
      ++probe_->blocked;
      probe_->cv.notify_all();
      probe_->cv.wait(lock, [&] { return !probe_->hold; });
      --probe_->blocked;
    }
    if (fail) return common::Fail(ErrorCode::kInternal, "boom");
    for (std::size_t r = 0; r < batch.rows(); ++r) {
      const auto v = FakeVector(
          {batch.ids.data() + r * batch.seq_len, static_cast<std::size_t>(batch.lengths[r])});
      std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>(r * kDim));
    }
    return {};
  }

 private:
  BertConfig config_;
  std::shared_ptr<Probe> probe_;
};

BertConfig FakeConfig() {
  return BertConfig{.vocab_size = 310,
                    .hidden_size = kDim,
                    .num_hidden_layers = 1,
                    .num_attention_heads = 1,
                    .intermediate_size = 8,
                    .max_position_embeddings = 64,
                    .type_vocab_size = 2};
}

class LocalEngineTest : public ::testing::Test {
 protected:
  LocalEngineTest() : work_(io_.get_executor()) {
    io_thread_ = std::thread([this] { io_.run(); });
  }
  ~LocalEngineTest() override {
    embedder_.reset();
    work_.reset();
    io_thread_.join();
    cpu_.join();
  }

  LocalEmbedderOptions Options(std::string name) {
    LocalEmbedderOptions o;
    o.name = std::move(name);
    o.path = "/nonexistent";  // no sentence_bert_config.json: max_position_embeddings
    o.cpu = cpu_.get_executor();
    o.max_batch_tokens = 256;
    o.max_batch_rows = 16;
    return o;
  }

  std::unique_ptr<WordPieceTokenizer> MakeTokenizer() {
    auto t = WordPieceTokenizer::FromVocab(Vocab(), WordPieceOptions{});
    EXPECT_TRUE(t) << t.error().message;
    return std::move(*t);
  }

  Result<std::unique_ptr<LocalEmbedder>> Make(LocalEmbedderOptions options,
                                              BertConfig config = FakeConfig()) {
    return LocalEmbedder::Create(std::move(options), MakeTokenizer(),
                                 std::make_unique<FakeEncoder>(config, probe_));
  }

  void Start(LocalEmbedderOptions options) {
    auto made = Make(std::move(options));
    ASSERT_TRUE(made) << made.error().message;
    embedder_ = std::move(*made);
  }

  // Runs Embed() on the test's I/O thread.
  std::future<Result<Embeddings>> Submit(std::vector<std::string> texts,
                                         Purpose purpose = Purpose::kDocument,
                                         std::string lane = "file") {
    return Submit(io_.get_executor(), std::move(texts), purpose, std::move(lane));
  }
  std::future<Result<Embeddings>> Submit(asio::any_io_executor ex, std::vector<std::string> texts,
                                         Purpose purpose, std::string lane) {
    auto promise = std::make_shared<std::promise<Result<Embeddings>>>();
    auto future = promise->get_future();
    EmbedRequest request{
        .texts = std::move(texts), .purpose = purpose, .lane_key = std::move(lane)};
    asio::co_spawn(
        ex,
        [](LocalEmbedder* e, EmbedRequest r,
           std::shared_ptr<std::promise<Result<Embeddings>>> p) -> asio::awaitable<void> {
          auto result = co_await e->Embed(std::move(r));
          p->set_value(std::move(result));
        }(embedder_.get(), std::move(request), promise),
        asio::detached);
    return future;
  }

  static Result<Embeddings> Get(std::future<Result<Embeddings>>& f) {
    if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "request did not complete";
      return common::Fail(ErrorCode::kInternal, "timeout");
    }
    return f.get();
  }

  std::vector<float> Expected(const std::string& text, int max_length = 64) {
    auto tok = MakeTokenizer();
    return FakeVector(tok->EncodeForModel(text, max_length));
  }

  // Polls until `pred` holds (the engine's work happens on its own threads).
  static bool WaitFor(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  static double QueueRows(const std::string& model) {
    return common::Metrics::Global().Value("ragpdf_local_queue_rows", "model=\"" + model + "\"");
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread io_thread_;
  asio::thread_pool cpu_{2};
  std::shared_ptr<Probe> probe_ = std::make_shared<Probe>();
  std::unique_ptr<LocalEmbedder> embedder_;
};

TEST_F(LocalEngineTest, InfoComesFromEncoderConfigAndPrefixes) {
  auto o = Options("m");
  o.query_prefix = "query: ";
  o.document_prefix = "passage: ";
  Start(o);
  const ModelInfo& info = embedder_->info();
  EXPECT_EQ(info.name, "m");
  EXPECT_EQ(info.provider, "local");
  EXPECT_EQ(info.dimension, kDim);
  EXPECT_EQ(info.max_tokens, 64 - 2 - 2);  // [CLS] [SEP] and "query" ":"
  EXPECT_EQ(embedder_->tokenizer().CountTokens("t1 t2, t3"), 4);
}

TEST_F(LocalEngineTest, ResultsComeBackInOrderAndMatchPerTextEncoding) {
  Start(Options("order"));
  std::vector<std::string> texts;
  for (int i = 0; i < 150; ++i) texts.push_back(Words(i, 1 + (i * 37) % 40));
  texts.push_back("");  // [CLS] [SEP] only
  auto f = Submit(texts);
  auto r = Get(f);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->dimension, kDim);
  ASSERT_EQ(r->rows(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto want = Expected(texts[i]);
    const auto got = r->Row(i);
    EXPECT_EQ(std::vector<float>(got.begin(), got.end()), want) << "row " << i;
  }
  EXPECT_FALSE(probe_->bad_padding);
  // Batching happened: far fewer encoder calls than texts, all within budget.
  const auto calls = probe_->Calls();
  EXPECT_LT(calls.size(), texts.size() / 4);
  for (const auto& c : calls) {
    EXPECT_LE(c.lengths.size(), 16u);
    EXPECT_LE(c.lengths.size() * static_cast<std::size_t>(c.seq_len), 256u);
  }
}

TEST_F(LocalEngineTest, LongTextsAreTruncatedToMaxTokens) {
  auto o = Options("trunc");
  o.max_tokens = 20;
  Start(o);
  auto f = Submit({Words(0, 100)});
  auto r = Get(f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->Row(0)[0], 20.0f);
  EXPECT_EQ(r->Row(0)[2], static_cast<float>(WordId(17)));  // 18 words fit
}

TEST_F(LocalEngineTest, PrefixesDependOnPurpose) {
  auto o = Options("prefix");
  o.query_prefix = "query: ";
  o.document_prefix = "passage: ";
  Start(o);
  auto doc = Submit({"t5 t6"}, Purpose::kDocument);
  auto query = Submit({"t5 t6"}, Purpose::kQuery, "");
  auto d = Get(doc);
  auto q = Get(query);
  ASSERT_TRUE(d && q);
  EXPECT_EQ(std::vector<float>(d->Row(0).begin(), d->Row(0).end()), Expected("passage: t5 t6"));
  EXPECT_EQ(std::vector<float>(q->Row(0).begin(), q->Row(0).end()), Expected("query: t5 t6"));
  EXPECT_EQ(d->Row(0)[1], 6.0f);  // "passage" comes right after [CLS]
  EXPECT_EQ(q->Row(0)[1], 4.0f);  // "query"
}

TEST_F(LocalEngineTest, SmallRequestIsNotStarvedByABigOne) {
  Start(Options("fair"));
  probe_->Hold();
  std::vector<std::string> big;
  for (int i = 0; i < 1000; ++i) big.push_back(Words(i % 250, 8));
  auto big_f = Submit(big, Purpose::kDocument, "big");
  ASSERT_TRUE(probe_->WaitBlocked());  // the first batch of the big file is in the encoder
  const double queued_big = 1000 - probe_->Calls().at(0).lengths.size();
  ASSERT_TRUE(WaitFor([&] { return QueueRows("fair") == queued_big; }));
  auto small_f = Submit({"t299 t298 t297 t296 t295 t294 t293 t292 t291 t290 t289 t288"},
                        Purpose::kDocument, "small");
  ASSERT_TRUE(WaitFor([&] { return QueueRows("fair") == queued_big + 1; }));
  probe_->Release();
  ASSERT_TRUE(Get(small_f));
  auto big_r = Get(big_f);
  ASSERT_TRUE(big_r);
  const auto calls = probe_->Calls();
  int small_batch = -1, last_big_batch = -1;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    for (auto id : calls[i].first_ids) {
      if (id == WordId(299))
        small_batch = static_cast<int>(i);
      else
        last_big_batch = static_cast<int>(i);
    }
  }
  ASSERT_GE(small_batch, 0);
  EXPECT_LE(small_batch, 2) << "of " << calls.size() << " batches";
  EXPECT_GE(last_big_batch, 30);  // 1000 rows of 10 tokens, 16 rows per batch
}

TEST_F(LocalEngineTest, QueriesGoFirst) {
  Start(Options("queries"));
  probe_->Hold();
  std::vector<std::string> docs;
  for (int i = 0; i < 200; ++i) docs.push_back(Words(i, 5));
  auto docs_f = Submit(docs, Purpose::kDocument, "doc");
  ASSERT_TRUE(probe_->WaitBlocked());
  const double queued_docs = 200 - probe_->Calls().at(0).lengths.size();
  ASSERT_TRUE(WaitFor([&] { return QueueRows("queries") == queued_docs; }));
  auto query_f = Submit({"t299 x"}, Purpose::kQuery, "");
  ASSERT_TRUE(WaitFor([&] { return QueueRows("queries") == queued_docs + 1; }));
  probe_->Release();
  ASSERT_TRUE(Get(query_f));
  ASSERT_TRUE(Get(docs_f));
  const auto calls = probe_->Calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[1].first_ids, std::vector<std::int32_t>{WordId(299)});
}

TEST_F(LocalEngineTest, ManyRequestsFromSeveralThreadsCompleteExactlyOnce) {
  Start(Options("many"));
  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::vector<std::future<Result<Embeddings>>>> futures(kThreads);
  std::vector<std::vector<std::vector<std::string>>> inputs(kThreads);
  std::atomic<int> completions{0};
  for (int t = 0; t < kThreads; ++t) ios.push_back(std::make_unique<asio::io_context>());
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::vector<std::string> texts;
      const int n = 1 + (t * 31 + i * 17) % 40;
      for (int k = 0; k < n; ++k) texts.push_back(Words(t * 50 + i + k, 1 + (k * 7 + i) % 30));
      inputs[t].push_back(texts);
      auto p = std::make_shared<std::promise<Result<Embeddings>>>();
      futures[t].push_back(p->get_future());
      const Purpose purpose = i % 5 == 0 ? Purpose::kQuery : Purpose::kDocument;
      asio::co_spawn(
          *ios[t],
          [](LocalEmbedder* e, EmbedRequest r, std::shared_ptr<std::promise<Result<Embeddings>>> p,
             std::atomic<int>* done) -> asio::awaitable<void> {
            auto result = co_await e->Embed(std::move(r));
            done->fetch_add(1);
            p->set_value(std::move(result));  // throws if completed twice
          }(embedder_.get(),
                                     EmbedRequest{.texts = texts,
                                                  .purpose = purpose,
                                                  .lane_key = "f" + std::to_string(t) + "-" +
                                                              std::to_string(i % 3)},
                                     p, &completions),
          asio::detached);
    }
  }
  std::vector<std::thread> threads;
  for (auto& io : ios) threads.emplace_back([&io] { io->run(); });
  for (auto& th : threads) th.join();  // each run() returns when its requests completed
  EXPECT_EQ(completions.load(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto r = futures[t][i].get();
      ASSERT_TRUE(r) << r.error().message;
      ASSERT_EQ(r->rows(), inputs[t][i].size());
      for (std::size_t k = 0; k < r->rows(); ++k) {
        EXPECT_EQ(std::vector<float>(r->Row(k).begin(), r->Row(k).end()),
                  Expected(inputs[t][i][k]));
      }
    }
  }
  EXPECT_EQ(common::Metrics::Global().Value("ragpdf_local_inflight_rows", "model=\"many\""), 0);
}

TEST_F(LocalEngineTest, ShutdownFailsPendingRequestsAndJoins) {
  Start(Options("shutdown"));
  probe_->Hold();
  std::vector<std::future<Result<Embeddings>>> pending;
  for (int i = 0; i < 5; ++i) {
    std::vector<std::string> texts(40, Words(i, 6));
    pending.push_back(Submit(texts, Purpose::kDocument, "f" + std::to_string(i)));
  }
  ASSERT_TRUE(probe_->WaitBlocked());
  std::thread destroyer([this] { embedder_.reset(); });
  for (auto& f : pending) {
    auto r = Get(f);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  }
  probe_->Release();  // the batch in the encoder finishes; then the thread exits
  destroyer.join();
  EXPECT_EQ(embedder_, nullptr);
}

TEST_F(LocalEngineTest, QueueLimitsRefuseWithOverloaded) {
  auto o = Options("limits");
  o.max_queued_texts = 100;
  o.max_queued_queries = 2;
  Start(o);
  probe_->Hold();
  auto first = Submit(std::vector<std::string>(80, "t1 t2"));
  ASSERT_TRUE(probe_->WaitBlocked());
  auto refused = Submit(std::vector<std::string>(30, "t1 t2"), Purpose::kDocument, "other");
  auto r = Get(refused);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kOverloaded);
  EXPECT_NE(r.error().message.find("limit of 100"), std::string::npos) << r.error().message;
  auto too_many_queries = Submit({"a", "b", "c"}, Purpose::kQuery, "");
  auto q = Get(too_many_queries);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, ErrorCode::kOverloaded);
  auto query = Submit({"t3"}, Purpose::kQuery, "");  // queries have their own room
  probe_->Release();
  EXPECT_TRUE(Get(query));
  EXPECT_TRUE(Get(first));
  // Room is given back once requests complete.
  auto later = Submit(std::vector<std::string>(100, "t1"));
  EXPECT_TRUE(Get(later));
}

TEST_F(LocalEngineTest, EncoderFailureFailsItsRequestsAndServingContinues) {
  Start(Options("fail"));
  auto bad = Submit({"t1 boom", "t2"});
  auto r = Get(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingFailed);
  EXPECT_NE(r.error().message.find("boom"), std::string::npos);
  auto good = Submit({"t1 t2"});
  auto g = Get(good);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(std::vector<float>(g->Row(0).begin(), g->Row(0).end()), Expected("t1 t2"));
}

TEST_F(LocalEngineTest, EmptyRequestCompletesAtOnce) {
  Start(Options("empty"));
  auto f = Submit({});
  auto r = Get(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dimension, kDim);
  EXPECT_EQ(r->rows(), 0u);
  EXPECT_TRUE(probe_->Calls().empty());
}

TEST_F(LocalEngineTest, BadModelsAndOptionsAreRefused) {
  BertConfig small_vocab = FakeConfig();
  small_vocab.vocab_size = 100;  // the tokenizer has 310 tokens
  auto a = Make(Options("a"), small_vocab);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(a.error().message.find("vocab_size"), std::string::npos) << a.error().message;

  auto o = Options("b");
  o.max_tokens = 65;
  auto b = Make(o);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("max_position_embeddings"), std::string::npos);

  auto o2 = Options("c");
  o2.max_batch_rows = 0;
  EXPECT_FALSE(Make(o2));
}

TEST_F(LocalEngineTest, MetricsCountBatchesAndPadding) {
  Start(Options("metrics"));
  auto& m = common::Metrics::Global();
  const std::string labels = "model=\"metrics\"";
  auto value = [&](const char* name) { return m.Value(name, labels); };
  const double batches = value("ragpdf_local_batches_total");
  const double rows = value("ragpdf_local_batch_rows_total");
  const double real = value("ragpdf_local_real_tokens_total");
  const double padded = value("ragpdf_local_padded_tokens_total");
  auto f = Submit({Words(0, 3), Words(0, 20), Words(0, 4)});
  ASSERT_TRUE(Get(f));
  EXPECT_GE(value("ragpdf_local_batches_total") - batches, 1);
  EXPECT_EQ(value("ragpdf_local_batch_rows_total") - rows, 3);
  EXPECT_EQ(value("ragpdf_local_real_tokens_total") - real, 5 + 22 + 6);
  EXPECT_GE(value("ragpdf_local_padded_tokens_total") - padded, 33);
  EXPECT_GT(value("ragpdf_local_batch_fill_ratio"), 0);
  EXPECT_EQ(value("ragpdf_local_queue_rows"), 0);
  EXPECT_EQ(value("ragpdf_local_inflight_rows"), 0);
}

}  // namespace
}  // namespace ragpdf::embed::local
