// OpenAiEmbedder against a scripted loopback server (fake_api_server.h):
// the real HTTP client, retries, limits and parsing.
#include "embed/remote/openai_embedder.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include "common/metrics.h"
#include "fake_api_server.h"

namespace ragpdf::embed::remote {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using common::ErrorCode;
using common::Result;
using std::chrono::milliseconds;
using testing::ExpectedVector;
using testing::FakeApiServer;
using testing::Received;
using testing::Reply;
using SteadyClock = std::chrono::steady_clock;

std::vector<std::string> Texts(int n, const std::string& prefix = "chunk") {
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) texts.push_back(prefix + " number " + std::to_string(i));
  return texts;
}

double Metric(std::string_view name, const std::string& labels) {
  return common::Metrics::Global().Value(name, labels);
}

class OpenAiEmbedderTest : public ::testing::Test {
 protected:
  // Model names are unique per test run: metrics are process-wide and the
  // tests may be repeated.
  std::string TestName() const { return name_; }

  OpenAiOptions Options(const FakeApiServer& server) {
    OpenAiOptions o;
    o.name = TestName();
    o.base_url = server.base_url();
    o.model = "fake-model";
    o.api_key = "sk-test-key";
    o.backoff_base = milliseconds(5);
    o.backoff_max = milliseconds(40);
    o.timeout = milliseconds(5000);
    o.connect_timeout = milliseconds(2000);
    o.max_concurrency = 8;
    return o;
  }

  std::shared_ptr<OpenAiEmbedder> Make(OpenAiOptions o) {
    auto e = OpenAiEmbedder::Create(std::move(o), cpu_.get_executor());
    EXPECT_TRUE(e) << e.error().message;
    return e ? *e : nullptr;
  }

  Result<Embeddings> Run(Embedder& e, std::vector<std::string> texts) {
    auto f =
        asio::co_spawn(io_, e.Embed(EmbedRequest{.texts = std::move(texts)}), asio::use_future);
    io_.restart();
    io_.run();
    return f.get();
  }

  // Every row is the server's vector for its text, in order.
  static void ExpectVectors(const Result<Embeddings>& r, const std::vector<std::string>& texts,
                            int dimension = 8) {
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->dimension, dimension);
    ASSERT_EQ(r->rows(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto row = r->Row(i);
      EXPECT_EQ(std::vector<float>(row.begin(), row.end()), ExpectedVector(texts[i], dimension))
          << "row " << i;
    }
  }

  // How many times each text was answered with vectors (status 200).
  static std::map<std::string, int> EmbeddedCounts(const std::vector<Received>& requests,
                                                   const std::set<int>& failed) {
    std::map<std::string, int> counts;
    for (std::size_t n = 0; n < requests.size(); ++n) {
      if (failed.count(static_cast<int>(n))) continue;
      for (const auto& t : requests[n].inputs) ++counts[t];
    }
    return counts;
  }

  asio::thread_pool cpu_{1};
  asio::io_context io_;

 private:
  static inline int runs_ = 0;
  const std::string name_ =
      std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
      std::to_string(++runs_);
};

TEST_F(OpenAiEmbedderTest, SubBatchesKeepOrderAndReuseOneConnection) {
  FakeApiServer server;
  auto o = Options(server);
  o.max_inputs_per_request = 4;
  o.min_concurrency = o.max_concurrency = 1;
  auto e = Make(o);
  const auto texts = Texts(25);
  ExpectVectors(Run(*e, texts), texts);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 7u);  // 6 x 4 + 1
  for (const auto& r : requests) {
    EXPECT_EQ(r.target, "/v1/embeddings");
    EXPECT_EQ(r.headers.at("authorization"), "Bearer sk-test-key");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_LE(r.inputs.size(), 4u);
    auto body = json::parse(r.body).as_object();
    EXPECT_EQ(body.at("model").as_string(), "fake-model");
    EXPECT_EQ(body.at("encoding_format").as_string(), "float");
    EXPECT_FALSE(body.contains("dimensions"));
  }
  EXPECT_EQ(server.connections(), 1);  // keep-alive
  EXPECT_EQ(Metric("ragpdf_remote_requests_total", "model=\"" + TestName() + "\",status=\"200\""),
            7);
  EXPECT_EQ(e->info().provider, "openai");
  EXPECT_EQ(e->info().max_tokens, 8191);
}

TEST_F(OpenAiEmbedderTest, SubBatchesByTokensAndDimensionsSent) {
  FakeApiServer server({}, /*dimension=*/16);
  auto o = Options(server);
  o.dimensions = 16;
  o.max_tokens_per_request = 30;  // texts are ~16 bytes: 6 tokens each
  auto e = Make(o);
  EXPECT_EQ(e->info().dimension, 16);
  const auto texts = Texts(20);
  ExpectVectors(Run(*e, texts), texts, 16);
  for (const auto& r : server.requests()) {
    int tokens = 0;
    for (const auto& t : r.inputs) tokens += e->tokenizer().CountTokens(t);
    EXPECT_LE(tokens, 30);
    EXPECT_EQ(json::parse(r.body).at("dimensions").as_int64(), 16);
  }
  EXPECT_GE(server.request_count(), 4);
}

TEST_F(OpenAiEmbedderTest, EmptyRequestSendsNothing) {
  FakeApiServer server;
  auto e = Make(Options(server));
  auto r = Run(*e, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows(), 0u);
  EXPECT_EQ(server.request_count(), 0);
}

TEST_F(OpenAiEmbedderTest, OverlongInputIsCutAtACharacterBoundary) {
  FakeApiServer server;
  auto o = Options(server);
  o.max_tokens = 10;  // 30 bytes
  auto e = Make(o);
  const std::string text = "ab" + std::string(20, 'x') + "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
  ASSERT_EQ(text.size(), 30u);
  auto r = Run(*e, {text + "tail that goes"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(server.requests().at(0).inputs.at(0), text);
  auto long_mb = Run(*e, {"ab" + std::string(21, 'x') + "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"});
  ASSERT_TRUE(long_mb);
  // Byte 30 is inside a two-byte character: cut before it.
  EXPECT_EQ(server.requests().at(1).inputs.at(0),
            "ab" + std::string(21, 'x') + "\xC3\xA9\xC3\xA9\xC3\xA9");
}

TEST_F(OpenAiEmbedderTest, A429IsRetriedWithoutResendingEmbeddedTexts) {
  FakeApiServer server([](const Received&, int n) {
    Reply r;
    if (n == 1 || n == 2) r.status = 429;
    return r;
  });
  auto o = Options(server);
  o.max_inputs_per_request = 5;
  o.min_concurrency = o.max_concurrency = 1;
  auto e = Make(o);
  const auto texts = Texts(20);
  ExpectVectors(Run(*e, texts), texts);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);  // 4 sub-batches + 2 retries
  // Each refused sub-batch was sent again; every text was embedded once.
  for (int refused : {1, 2}) {
    int resent = 0;
    for (std::size_t n = refused + 1; n < requests.size(); ++n) {
      resent += requests[n].inputs == requests[refused].inputs ? 1 : 0;
    }
    EXPECT_GE(resent, 1) << refused;
  }
  const auto counts = EmbeddedCounts(requests, {1, 2});
  ASSERT_EQ(counts.size(), texts.size());
  for (const auto& [text, n] : counts) EXPECT_EQ(n, 1) << text;
  EXPECT_EQ(Metric("ragpdf_remote_retries_total", "model=\"" + TestName() + "\",reason=\"429\""),
            2);
}

TEST_F(OpenAiEmbedderTest, RetryAfterIsHonoured) {
  FakeApiServer server([](const Received&, int n) {
    Reply r;
    if (n == 0) {
      r.status = 429;
      r.headers = {{"Retry-After", "1"}};
    }
    return r;
  });
  auto e = Make(Options(server));
  const auto texts = Texts(3);
  ExpectVectors(Run(*e, texts), texts);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto waited = requests[1].at - requests[0].at;
  EXPECT_GE(waited, milliseconds(1000));
  EXPECT_LT(waited, milliseconds(1500));
}

TEST_F(OpenAiEmbedderTest, RateLimitResetHeadersPauseTheWholeProvider) {
  // The first request is refused with a reset hint; requests of other
  // sub-batches started during the pause wait for it too.
  FakeApiServer server([](const Received&, int n) {
    Reply r;
    if (n == 0) {
      r.status = 429;
      r.headers = {{"x-ratelimit-reset-requests", "400ms"},
                   {"x-ratelimit-remaining-requests", "0"}};
    }
    return r;
  });
  auto o = Options(server);
  o.max_inputs_per_request = 1;
  o.min_concurrency = o.max_concurrency = 1;
  auto e = Make(o);
  const auto texts = Texts(3);
  ExpectVectors(Run(*e, texts), texts);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  for (std::size_t i = 1; i < requests.size(); ++i) {
    EXPECT_GE(requests[i].at - requests[0].at, milliseconds(400)) << i;
  }
}

TEST_F(OpenAiEmbedderTest, ServerErrorBurstIsRetried) {
  FakeApiServer server([](const Received&, int n) {
    static constexpr int kStatuses[] = {500, 502, 503, 504, 408};
    Reply r;
    if (n < 5) r.status = kStatuses[n];
    return r;
  });
  auto e = Make(Options(server));
  const auto texts = Texts(2);
  ExpectVectors(Run(*e, texts), texts);
  EXPECT_EQ(server.request_count(), 6);
}

TEST_F(OpenAiEmbedderTest, AuthAndBadRequestFailAtOnce) {
  const std::pair<int, ErrorCode> cases[] = {{401, ErrorCode::kEmbeddingAuthFailed},
                                             {403, ErrorCode::kEmbeddingAuthFailed},
                                             {400, ErrorCode::kEmbeddingBadRequest},
                                             {404, ErrorCode::kEmbeddingBadRequest},
                                             {422, ErrorCode::kEmbeddingBadRequest}};
  for (const auto& [status, code] : cases) {
    FakeApiServer server([status = status](const Received&, int) {
      return Reply{.status = status,
                   .body = R"({"error":{"message":"Incorrect API key provided: sk-test-key"}})"};
    });
    auto o = Options(server);
    o.max_inputs_per_request = 2;
    o.min_concurrency = o.max_concurrency = 1;
    auto e = Make(o);
    auto r = Run(*e, Texts(10));
    ASSERT_FALSE(r) << status;
    EXPECT_EQ(r.error().code, code) << status;
    EXPECT_EQ(server.request_count(), 1) << status;  // no retry, no further sub-batch
    EXPECT_NE(r.error().message.find("HTTP " + std::to_string(status)), std::string::npos);
    EXPECT_NE(r.error().message.find("Incorrect API key"), std::string::npos);
    EXPECT_EQ(r.error().message.find("sk-test-key"), std::string::npos) << "key leaked";
  }
}

TEST_F(OpenAiEmbedderTest, RetryBudgetIsPerCall) {
  FakeApiServer server([](const Received&, int) { return Reply{.status = 429}; });
  auto o = Options(server);
  o.retry_budget = 3;
  auto e = Make(o);
  auto r = Run(*e, Texts(2));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingRateLimited);
  EXPECT_NE(r.error().message.find("retry_budget"), std::string::npos);
  EXPECT_EQ(server.request_count(), 4);  // 1 + 3 retries

  // Several sub-batches share it: never more than one first attempt each
  // plus the budget.
  FakeApiServer many([](const Received&, int) { return Reply{.status = 503}; });
  o = Options(many);
  o.name += "-many";
  o.retry_budget = 5;
  o.max_inputs_per_request = 1;
  auto e2 = Make(o);
  auto r2 = Run(*e2, Texts(6));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::kEmbeddingUnavailable);
  EXPECT_LE(many.request_count(), 6 + 5);
  EXPECT_GE(many.request_count(), 6);
}

TEST_F(OpenAiEmbedderTest, MaxRetriesPerBatch) {
  FakeApiServer server([](const Received&, int) { return Reply{.status = 502}; });
  auto o = Options(server);
  o.max_retries_per_batch = 2;
  auto e = Make(o);
  auto r = Run(*e, Texts(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingUnavailable);
  EXPECT_NE(r.error().message.find("max_retries_per_batch"), std::string::npos);
  EXPECT_EQ(server.request_count(), 3);
}

TEST_F(OpenAiEmbedderTest, TimeoutsAreRetriedThenReported) {
  FakeApiServer server(
      [](const Received&, int n) { return Reply{.delay = milliseconds(n < 2 ? 3000 : 0)}; });
  auto o = Options(server);
  o.timeout = milliseconds(200);
  const auto texts = Texts(2);
  auto e = Make(o);
  ExpectVectors(Run(*e, texts), texts);  // two timeouts, then an answer
  EXPECT_EQ(server.request_count(), 3);
  EXPECT_EQ(
      Metric("ragpdf_remote_retries_total", "model=\"" + TestName() + "\",reason=\"timeout\""), 2);

  FakeApiServer slow([](const Received&, int) { return Reply{.delay = milliseconds(3000)}; });
  o = Options(slow);
  o.name += "-slow";
  o.timeout = milliseconds(150);
  o.retry_budget = 2;
  auto e2 = Make(o);
  const auto start = SteadyClock::now();
  auto r = Run(*e2, texts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingTimeout);
  EXPECT_LT(SteadyClock::now() - start, milliseconds(2000));
}

TEST_F(OpenAiEmbedderTest, DroppedConnectionsAreRetried) {
  FakeApiServer server([](const Received&, int n) { return Reply{.drop = n < 2}; });
  auto o = Options(server);
  o.max_inputs_per_request = 3;
  o.min_concurrency = o.max_concurrency = 1;
  auto e = Make(o);
  const auto texts = Texts(6);
  ExpectVectors(Run(*e, texts), texts);
  EXPECT_EQ(server.request_count(), 4);
  EXPECT_EQ(server.connections(), 3);  // each drop forces a new connection
}

TEST_F(OpenAiEmbedderTest, ConnectionRefusedEndsWithTimeoutCode) {
  std::uint16_t port = 0;
  {
    FakeApiServer gone;
    port = gone.port();
  }
  OpenAiOptions o;
  o.name = TestName();
  o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  o.model = "m";
  o.retry_budget = 2;
  o.backoff_base = milliseconds(5);
  o.backoff_max = milliseconds(10);
  auto e = Make(o);
  auto r = Run(*e, Texts(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingTimeout);
  EXPECT_NE(r.error().message.find("connection failed"), std::string::npos);
  EXPECT_EQ(
      Metric("ragpdf_remote_retries_total", "model=\"" + TestName() + "\",reason=\"connection\""),
      2);
}

TEST_F(OpenAiEmbedderTest, MalformedAnswersFailWithoutRetry) {
  const std::vector<Reply> bad = {
      {.body = "not json"},
      {.body = R"({"data": []})"},
      {.body = R"({"object":"list"})"},
      {.body = R"({"data":[{"index":1,"embedding":[1,0]},{"index":1,"embedding":[0,1]}]})"},
      {.dimension = 4},  // configured 8
      {.status = 302, .body = ""},
  };
  int i = 0;
  for (const Reply& reply : bad) {
    FakeApiServer server([reply](const Received&, int) { return reply; });
    auto o = Options(server);
    o.name += std::to_string(i++);
    o.dimensions = 8;
    auto e = Make(o);
    auto r = Run(*e, Texts(2));
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingBadResponse) << i << r.error().message;
    EXPECT_EQ(server.request_count(), 1) << i;
  }
}

TEST_F(OpenAiEmbedderTest, LearnsTheDimensionThenRequiresIt) {
  int dimension = 8;
  FakeApiServer server(
      [&dimension](const Received&, int) { return Reply{.dimension = dimension}; });
  auto e = Make(Options(server));
  EXPECT_EQ(e->info().dimension, 0);  // not configured
  const auto texts = Texts(2);
  ExpectVectors(Run(*e, texts), texts);
  dimension = 4;
  auto r = Run(*e, texts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingBadResponse);
  EXPECT_NE(r.error().message.find("expected 8"), std::string::npos);
}

TEST_F(OpenAiEmbedderTest, AcceptsBase64Vectors) {
  FakeApiServer server([](const Received&, int) { return Reply{.base64 = true}; });
  auto o = Options(server);
  o.encoding_format = "base64";
  auto e = Make(o);
  const auto texts = Texts(5);
  ExpectVectors(Run(*e, texts), texts);
  EXPECT_EQ(json::parse(server.requests()[0].body).at("encoding_format").as_string(), "base64");
}

TEST_F(OpenAiEmbedderTest, ReorderedDataIsPlacedByIndex) {
  FakeApiServer server([](const Received&, int) { return Reply{.reverse = true}; });
  auto e = Make(Options(server));
  const auto texts = Texts(7);
  ExpectVectors(Run(*e, texts), texts);
}

TEST_F(OpenAiEmbedderTest, AzureUrlAndKeyHeader) {
  FakeApiServer server;
  OpenAiOptions o = Options(server);
  o.provider = "azure-openai";
  o.endpoint = server.root_url() + "/";
  o.deployment = "my-embeddings";
  o.api_version = "2024-06-01";
  auto e = Make(o);
  const auto texts = Texts(2);
  ExpectVectors(Run(*e, texts), texts);
  const auto r = server.requests().at(0);
  EXPECT_EQ(r.target, "/openai/deployments/my-embeddings/embeddings?api-version=2024-06-01");
  EXPECT_EQ(r.headers.at("api-key"), "sk-test-key");
  EXPECT_FALSE(r.headers.contains("authorization"));
  EXPECT_FALSE(json::parse(r.body).as_object().contains("model"));
  EXPECT_EQ(e->info().provider, "azure-openai");
}

TEST_F(OpenAiEmbedderTest, NoAuthHeaderWithoutKey) {
  FakeApiServer server;
  auto o = Options(server);
  o.api_key.clear();
  auto e = Make(o);
  ASSERT_TRUE(Run(*e, Texts(1)));
  EXPECT_FALSE(server.requests().at(0).headers.contains("authorization"));
}

TEST_F(OpenAiEmbedderTest, AdaptiveConcurrencySettlesAtTheServerCapacity) {
  constexpr int kCapacity = 4;
  auto run = [&](int min, int max, const std::string& name) {
    FakeApiServer server([](const Received&, int) { return Reply{.delay = milliseconds(20)}; }, 8,
                         kCapacity);
    auto o = Options(server);
    o.name = name;
    o.min_concurrency = min;
    o.max_concurrency = max;
    o.max_inputs_per_request = 1;
    o.retry_budget = 10000;
    o.max_retries_per_batch = 1000;
    auto e = Make(o);
    const auto texts = Texts(150, name);
    ExpectVectors(Run(*e, texts), texts);
    return std::make_pair(server.refused_over_capacity(), e->concurrency_limit());
  };
  const auto [adaptive_429s, adaptive_limit] = run(1, 32, TestName() + "-adaptive");
  const auto [fixed_429s, fixed_limit] = run(32, 32, TestName() + "-fixed");
  EXPECT_EQ(fixed_limit, 32);
  EXPECT_LE(adaptive_limit, 2 * kCapacity);
  EXPECT_GE(adaptive_limit, kCapacity / 2);
  EXPECT_GT(fixed_429s, 100);
  EXPECT_LE(adaptive_429s * 10, fixed_429s)
      << "adaptive " << adaptive_429s << " fixed " << fixed_429s;
  EXPECT_EQ(Metric("ragpdf_remote_concurrency_limit", "model=\"" + TestName() + "-adaptive\""),
            adaptive_limit);
  EXPECT_EQ(Metric("ragpdf_remote_in_flight", "model=\"" + TestName() + "-adaptive\""), 0);
}

TEST_F(OpenAiEmbedderTest, RequestsPerMinutePacesRequests) {
  FakeApiServer server;
  auto o = Options(server);
  o.requests_per_minute = 600;  // 10/s, burst of 10
  o.max_inputs_per_request = 1;
  auto e = Make(o);
  const auto texts = Texts(15);
  ExpectVectors(Run(*e, texts), texts);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 15u);
  // 10 at once, then one per 100 ms.
  EXPECT_GE(requests.back().at - requests.front().at, milliseconds(450));
}

TEST_F(OpenAiEmbedderTest, TokensPerMinutePacesRequests) {
  FakeApiServer server;
  auto o = Options(server);
  o.tokens_per_minute = 6000;  // 100 tokens/s, burst of 100
  o.max_inputs_per_request = 1;
  auto e = Make(o);
  // 60 bytes = 20 tokens each: 5 at once, then one per 200 ms.
  std::vector<std::string> texts;
  for (int i = 0; i < 8; ++i) texts.push_back(std::string(58, 'a') + std::to_string(i) + "z");
  ExpectVectors(Run(*e, texts), texts);
  const auto requests = server.requests();
  EXPECT_GE(requests.back().at - requests.front().at, milliseconds(550));
}

TEST_F(OpenAiEmbedderTest, QueriesDoNotQueueBehindDocuments) {
  FakeApiServer server([](const Received&, int) { return Reply{.delay = milliseconds(100)}; });
  auto o = Options(server);
  o.max_inputs_per_request = 1;
  o.min_concurrency = o.max_concurrency = 1;
  auto e = Make(o);
  const auto documents = Texts(6, "document");
  auto document = asio::co_spawn(io_, e->Embed(EmbedRequest{.texts = documents}), asio::use_future);
  auto query = asio::co_spawn(
      io_, e->Embed(EmbedRequest{.texts = {"the query"}, .purpose = Purpose::kQuery}),
      asio::use_future);
  io_.run();
  ExpectVectors(document.get(), documents);
  ExpectVectors(query.get(), {"the query"});
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 7u);
  // The query went out while the first sub-batch was in flight.
  EXPECT_TRUE(requests[0].inputs[0] == "the query" || requests[1].inputs[0] == "the query");
  EXPECT_EQ(server.max_in_flight(), 2);
}

TEST_F(OpenAiEmbedderTest, ShutdownEndsCallsInFlight) {
  FakeApiServer server([](const Received&, int) { return Reply{.delay = milliseconds(5000)}; });
  auto e = Make(Options(server));
  auto f = asio::co_spawn(io_, e->Embed(EmbedRequest{.texts = Texts(3)}), asio::use_future);
  std::thread runner([this] {
    io_.restart();
    io_.run();
  });
  while (server.request_count() == 0) std::this_thread::sleep_for(milliseconds(5));
  const auto start = SteadyClock::now();
  e.reset();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  runner.join();
  EXPECT_LT(SteadyClock::now() - start, milliseconds(1500));
  auto r = f.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(OpenAiEmbedderTest, InvalidOptions) {
  auto check = [&](auto mutate, std::string_view what) {
    OpenAiOptions o;
    o.name = "m";
    o.model = "x";
    mutate(o);
    auto e = OpenAiEmbedder::Create(o, cpu_.get_executor());
    ASSERT_FALSE(e) << what;
    EXPECT_EQ(e.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(e.error().message.find(what), std::string::npos) << e.error().message;
  };
  check([](OpenAiOptions& o) { o.base_url = "ftp://x"; }, "base_url");
  check([](OpenAiOptions& o) { o.model.clear(); }, "model");
  check([](OpenAiOptions& o) { o.provider = "azure-openai"; }, "endpoint");
  check([](OpenAiOptions& o) { o.provider = "cohere"; }, "provider");
  check([](OpenAiOptions& o) { o.min_concurrency = 5, o.max_concurrency = 4; }, "concurrency");
  check([](OpenAiOptions& o) { o.encoding_format = "int8"; }, "encoding_format");
  check([](OpenAiOptions& o) { o.api_key = "a\nb"; }, "line break");
  check([](OpenAiOptions& o) { o.dimensions = 8, o.dimension = 9; }, "disagree");
}

}  // namespace
}  // namespace ragpdf::embed::remote
