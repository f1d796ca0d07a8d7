// StoreSearcher against a real SQLite store and the built-in embedder:
// vector results must equal a brute-force scan; keyword and hybrid modes must
// find the chunk holding a known phrase; unsearchable files are skipped.
#include "query/store_searcher.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "common/async.h"
#include "common/hash.h"
#include "embed/hashing_embedder.h"
#include "store/sqlite_store.h"

namespace ragpdf::query {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

class SearcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ragpdf_searcher_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto s = store::SqliteStore::Open(
        {.db_path = dir_ / "ragpdf.db", .tabular_db_path = dir_ / "tabular.db"});
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
    embedder_ = std::make_shared<embed::HashingEmbedder>(embed::HashingEmbedderOptions{},
                                                         cpu_.get_executor());
    models_.Add(embedder_);
    searcher_ = std::make_unique<StoreSearcher>(db_.get_executor(), cpu_.get_executor(), *store_,
                                                models_, SearcherOptions{});
  }
  void TearDown() override {
    searcher_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // Commits `texts` as the chunks of a new file with the given vectors.
  std::string AddFile(const std::string& seed, const std::vector<std::string>& texts,
                      const std::vector<float>& vectors) {
    const std::string id = common::Sha256Hex(seed);
    const std::string model = embedder_->info().name;
    EXPECT_TRUE(store_->UpsertFile(
        {.file_id = id, .filename = seed + ".txt", .format = common::FileFormat::kText}));
    auto claim = store_->TryClaim(id, model, "w", std::chrono::seconds(30));
    EXPECT_TRUE(claim && claim->outcome == store::ClaimOutcome::kClaimed);
    store::IndexCommit c{.file_id = id,
                         .model = model,
                         .worker_id = "w",
                         .pages = 1,
                         .dimension = embedder_->info().dimension,
                         .vectors = vectors};
    for (std::size_t i = 0; i < texts.size(); ++i) {
      c.chunks.push_back({.file_id = id,
                          .model = model,
                          .chunk_index = static_cast<int>(i),
                          .text = texts[i],
                          .page_start = 1,
                          .page_end = 1,
                          .token_count = 1});
    }
    auto r = store_->CommitIndex(c);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return id;
  }

  std::vector<float> EmbedAll(const std::vector<std::string>& texts) {
    std::vector<float> out(texts.size() * embedder_->info().dimension);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      embedder_->EmbedOne(texts[i], std::span<float>(out.data() + i * embedder_->info().dimension,
                                                     embedder_->info().dimension));
    }
    return out;
  }

  common::Result<NeighborsResponse> Search(NeighborsRequest req) {
    asio::io_context io;
    common::Result<NeighborsResponse> out = common::Fail(common::ErrorCode::kInternal, "not run");
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out = co_await searcher_->Neighbors(std::move(req)); },
        asio::detached);
    io.run();
    return out;
  }

  fs::path dir_;
  asio::thread_pool cpu_{2};
  asio::thread_pool db_{2};
  std::unique_ptr<store::SqliteStore> store_;
  std::shared_ptr<embed::HashingEmbedder> embedder_;
  embed::EmbedderRegistry models_;
  std::unique_ptr<StoreSearcher> searcher_;
};

TEST_F(SearcherTest, VectorModeEqualsBruteForce) {
  std::mt19937 rng(7);
  std::normal_distribution<float> gauss;
  const int dim = embedder_->info().dimension;
  std::vector<std::string> ids;
  std::vector<std::vector<float>> all_vectors;
  for (int f = 0; f < 4; ++f) {
    const int n = 50 + f * 37;
    std::vector<std::string> texts;
    std::vector<float> v(static_cast<std::size_t>(n) * dim);
    for (int i = 0; i < n; ++i) {
      texts.push_back("chunk " + std::to_string(f) + "/" + std::to_string(i));
      float norm = 0;
      for (int d = 0; d < dim; ++d) norm += (v[i * dim + d] = gauss(rng)) * v[i * dim + d];
      for (int d = 0; d < dim; ++d) v[i * dim + d] /= std::sqrt(norm);
    }
    ids.push_back(AddFile("file" + std::to_string(f), texts, v));
    all_vectors.push_back(v);
  }
  const std::string query = "quantum ledger harbor";
  std::vector<float> q(dim);
  embedder_->EmbedOne(query, q);

  struct Ref {
    std::string id;
    int index;
    double score;
  };
  std::vector<Ref> ref;
  for (std::size_t f = 0; f < ids.size(); ++f) {
    const auto& v = all_vectors[f];
    for (std::size_t i = 0; i < v.size() / dim; ++i) {
      double s = 0;
      for (int d = 0; d < dim; ++d) s += static_cast<double>(q[d]) * v[i * dim + d];
      ref.push_back({ids[f], static_cast<int>(i), s});
    }
  }
  std::stable_sort(ref.begin(), ref.end(),
                   [](const Ref& a, const Ref& b) { return a.score > b.score; });

  auto got =
      Search({.text = query, .file_ids = ids, .n_neighbors = 20, .mode = SearchMode::kVector});
  ASSERT_TRUE(got.has_value()) << got.error().message;
  ASSERT_EQ(got->results.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_NEAR(got->results[i].score, ref[i].score, 1e-4) << i;
    // Equal scores may swap; distinct ones must match the reference order.
    if (i + 1 < ref.size() && std::abs(ref[i].score - ref[i + 1].score) > 1e-5 &&
        (i == 0 || std::abs(ref[i].score - ref[i - 1].score) > 1e-5)) {
      EXPECT_EQ(got->results[i].file_id, ref[i].id) << i;
      EXPECT_EQ(got->results[i].chunk_index, ref[i].index) << i;
    }
  }
}

TEST_F(SearcherTest, EveryModeFindsKnownPhraseAndSkipsUnsearchable) {
  std::vector<std::string> texts = {"The river flows past the old mill.",
                                    "Saffron kites drift above the basalt observatory.",
                                    "Markets open early on market day."};
  const std::string id = AddFile("doc", texts, EmbedAll(texts));
  const std::string unknown(64, 'a');
  for (auto mode : {SearchMode::kVector, SearchMode::kKeyword, SearchMode::kHybrid}) {
    auto got = Search({.text = "basalt observatory kites",
                       .file_ids = {id, unknown},
                       .n_neighbors = 2,
                       .mode = mode});
    ASSERT_TRUE(got.has_value()) << got.error().message;
    ASSERT_FALSE(got->results.empty());
    EXPECT_EQ(got->results[0].text, texts[1]);
    EXPECT_EQ(got->skipped_file_ids, std::vector<std::string>{unknown});
  }
}

TEST_F(SearcherTest, RejectsBadRequests) {
  const std::string id(64, 'b');
  EXPECT_EQ(Search({.text = "", .file_ids = {id}}).error().code, common::ErrorCode::kBadRequest);
  EXPECT_EQ(Search({.text = "x", .file_ids = {id}, .n_neighbors = 0}).error().code,
            common::ErrorCode::kBadRequest);
  EXPECT_EQ(Search({.text = "x", .file_ids = {"nothex"}}).error().code,
            common::ErrorCode::kBadRequest);
  EXPECT_EQ(Search({.text = "x", .file_ids = {id}, .model_choice = "nope"}).error().code,
            common::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace ragpdf::query
