// IngestService with the real parser, chunker, hashing embedder, SQLite store
// and local blob store; faults are injected only at those parts' edges.
#include "ingest/ingest_service.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "common/hash.h"
#include "common/metrics.h"
#include "faulty_parts.h"
#include "store/local_blob_store.h"
#include "store/sqlite_store.h"

namespace ragpdf::ingest {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using common::FileStatus;

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ragpdf_ingest_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "tmp");
    auto s = store::SqliteStore::Open(
        {.db_path = dir_ / "ragpdf.db", .tabular_db_path = dir_ / "tabular.db"});
    ASSERT_TRUE(s) << s.error().message;
    sqlite_ = std::move(*s);
    auto b = store::LocalBlobStore::Open(dir_ / "blobs");
    ASSERT_TRUE(b) << b.error().message;
    local_blobs_ = std::move(*b);
    store_ = std::make_unique<testing::FlakyStore>(*sqlite_);
    blobs_ = std::make_unique<testing::FlakyBlobs>(*local_blobs_);
    auto hashing = std::make_shared<embed::HashingEmbedder>(embed::HashingEmbedderOptions{},
                                                            cpu_.get_executor());
    models_.Add(std::make_shared<testing::PoisonableEmbedder>(hashing));
    IngestOptions options{.data_dir = dir_,
                          .process_id = "test",
                          .max_concurrent_tasks = 2,
                          .task_poll = std::chrono::milliseconds(10),
                          .retry = {.max_attempts = 5,
                                    .base_delay = std::chrono::milliseconds(1),
                                    .max_delay = std::chrono::milliseconds(5)}};
    service_ = std::make_unique<IngestService>(IngestDeps{.io = io_.get_executor(),
                                                          .parse_pool = parse_.get_executor(),
                                                          .cpu_pool = cpu_.get_executor(),
                                                          .db_pool = db_.get_executor(),
                                                          .store = store_.get(),
                                                          .blobs = blobs_.get(),
                                                          .models = &models_,
                                                          .parser = &parser_},
                                               options);
    service_->Start();
  }

  void TearDown() override {
    if (service_) Run(Shutdown());
    service_.reset();
    fs::remove_all(dir_);
  }

  asio::awaitable<bool> Shutdown() {
    co_await service_->Shutdown();
    co_return true;
  }

  // Runs the I/O context until `task` finishes; background loops keep going.
  template <typename T>
  T Run(asio::awaitable<T> task) {
    std::optional<T> out;
    asio::co_spawn(io_, std::move(task), [&](std::exception_ptr e, T v) {
      if (e) std::rethrow_exception(e);
      out = std::move(v);
    });
    while (!out) io_.run_one();
    return std::move(*out);
  }

  UploadedFile Stage(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / "tmp" / (name + std::to_string(counter_++));
    std::ofstream(p, std::ios::binary) << bytes;
    return UploadedFile{
        .filename = name, .temp_path = p, .sha256 = common::Sha256Hex(bytes), .size = bytes.size()};
  }

  UploadResponse Upload(std::vector<UploadedFile> files, std::string user = "alice") {
    UploadRequest req{.username = std::move(user), .files = std::move(files)};
    auto r = Run(service_->Upload(std::move(req)));
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }

  FileStatus StateOf(const std::string& id) {
    auto s = sqlite_->GetState(id, models_.Default()->info().name);
    return s && *s ? (*s)->status : FileStatus::kNotStarted;
  }

  // Lets background tasks run until the file is completed (or time runs out).
  FileStatus WaitCompleted(const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (StateOf(id) != FileStatus::kCompleted && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(5));
    }
    return StateOf(id);
  }

  fs::path dir_;
  int counter_ = 0;
  asio::io_context io_;
  asio::thread_pool parse_{2}, cpu_{2}, db_{2};
  std::unique_ptr<store::SqliteStore> sqlite_;
  std::unique_ptr<store::LocalBlobStore> local_blobs_;
  std::unique_ptr<testing::FlakyStore> store_;
  std::unique_ptr<testing::FlakyBlobs> blobs_;
  embed::EmbedderRegistry models_;
  parse::Parser parser_{parse::ParseOptions{}};
  std::unique_ptr<IngestService> service_;
};

const std::string kText =
    "Harbor cranes lift timber at dawn.\n\nThe archive keeps every ledger of the market.";

TEST_F(IngestServiceTest, TransientCommitFailuresAreRetried) {
  store_->busy_commits = 2;
  auto r = Upload({Stage("a.txt", kText)});
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].status, FileStatus::kReadyForChat);
  EXPECT_FALSE(r.files[0].error.has_value());
  EXPECT_EQ(store_->commit_calls.load(), 3);
  auto hits =
      sqlite_->KeywordSearch("ledger", {r.files[0].file_id}, models_.Default()->info().name, 5);
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->size(), 1u);
}

TEST_F(IngestServiceTest, PersistentBusyFailsOnlyThatFile) {
  store_->busy_commits = 1000;
  auto r = Upload({Stage("a.txt", kText)});
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].status, FileStatus::kError);
  EXPECT_EQ(r.files[0].error->code, common::ErrorCode::kStorageBusy);
  EXPECT_EQ(store_->commit_calls.load(), 5);  // max_attempts
  EXPECT_EQ(StateOf(r.files[0].file_id), FileStatus::kError);
}

TEST_F(IngestServiceTest, EmbedderFailureIsIsolatedAndLeavesNothing) {
  auto r = Upload(
      {Stage("good.txt", kText), Stage("bad.txt", "Glacier compass POISON lantern meadow.")});
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].status, FileStatus::kReadyForChat);
  EXPECT_EQ(r.files[1].status, FileStatus::kError);
  EXPECT_EQ(r.files[1].error->code, common::ErrorCode::kEmbeddingFailed);
  const auto& model = models_.Default()->info().name;
  auto hits = sqlite_->KeywordSearch("glacier compass", {r.files[1].file_id}, model, 5);
  ASSERT_TRUE(hits);
  EXPECT_TRUE(hits->empty());
  auto vectors = sqlite_->LoadVectors(r.files[1].file_id, model);
  ASSERT_TRUE(vectors);
  EXPECT_FALSE(vectors->has_value());
  // The staged copy of the failed file is gone; the good one still completes.
  EXPECT_EQ(WaitCompleted(r.files[0].file_id), FileStatus::kCompleted);
  EXPECT_FALSE(fs::exists(dir_ / "staging" / r.files[1].file_id) &&
               !fs::is_empty(dir_ / "staging" / r.files[1].file_id));
}

TEST_F(IngestServiceTest, BlobFailuresAreRetriedUntilCompleted) {
  blobs_->failing_puts = 8;
  auto r = Upload({Stage("a.txt", kText)});
  const auto& id = r.files[0].file_id;
  EXPECT_EQ(r.files[0].status, FileStatus::kReadyForChat);
  EXPECT_EQ(WaitCompleted(id), FileStatus::kCompleted);
  EXPECT_LE(blobs_->failing_puts.load(), 0);
  auto exists = local_blobs_->Exists("raw/" + id);
  ASSERT_TRUE(exists);
  EXPECT_TRUE(*exists);
  // The staged copy is dropped once the blob store has the bytes.
  EXPECT_FALSE(fs::exists(dir_ / "staging" / id) && !fs::is_empty(dir_ / "staging" / id));
}

TEST_F(IngestServiceTest, ConcurrentUploadsOfSameBytesEmbedOnce) {
  auto both = [this]() -> asio::awaitable<std::vector<UploadResponse>> {
    std::vector<asio::awaitable<UploadResponse>> tasks;
    for (const char* user : {"alice", "bob"}) {
      UploadRequest req{.username = user, .files = {Stage("same.txt", kText)}};
      tasks.push_back([](IngestService* s, UploadRequest q) -> asio::awaitable<UploadResponse> {
        auto r = co_await s->Upload(std::move(q));
        co_return r ? *r : UploadResponse{};
      }(service_.get(), std::move(req)));
    }
    co_return co_await common::WhenAll(std::move(tasks));
  };
  auto results = Run(both());
  ASSERT_EQ(results.size(), 2u);
  ASSERT_EQ(results[0].files.size(), 1u);
  ASSERT_EQ(results[1].files.size(), 1u);
  EXPECT_EQ(results[0].files[0].file_id, results[1].files[0].file_id);
  EXPECT_NE(results[0].files[0].reused, results[1].files[0].reused);
  for (const auto& r : results) EXPECT_TRUE(common::CanChat(r.files[0].status));
  EXPECT_EQ(store_->commit_calls.load(), 1);
  // Both uploaders own the file (bob's ownership is added in the background).
  const auto& id = results[0].files[0].file_id;
  WaitCompleted(id);
  auto owners = sqlite_->ListOwners(id);
  ASSERT_TRUE(owners);
  EXPECT_EQ(owners->size(), 2u);
}

TEST_F(IngestServiceTest, UnsupportedAndEmptyFiles) {
  auto r = Upload({Stage("x.exe", "MZ\x90\x00 binary"), Stage("empty.txt", "")});
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].error->code, common::ErrorCode::kUnsupportedFormat);
  EXPECT_EQ(r.files[1].error->code, common::ErrorCode::kEmptyFile);
  // Temporary files were consumed.
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));
}

TEST_F(IngestServiceTest, ShutdownJoinsEveryBackgroundTask) {
  Upload({Stage("a.txt", kText)});
  Run(Shutdown());
  service_.reset();
  // Nothing the service started is left on the I/O context.
  io_.restart();
  EXPECT_EQ(io_.run_for(std::chrono::milliseconds(200)), 0u);
}

}  // namespace
}  // namespace ragpdf::ingest
