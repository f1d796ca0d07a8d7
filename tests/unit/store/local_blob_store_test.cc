#include "store/local_blob_store.h"

#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store_test_util.h"

namespace ragpdf::store {
namespace {

namespace fs = std::filesystem;
using common::ErrorCode;
using testing::TempDir;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every regular file under `root`, relative, sorted.
std::vector<std::string> ListFiles(const fs::path& root) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), root).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class LocalBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = LocalBlobStore::Open(dir_.path() / "blobs");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  fs::path root() const { return dir_.path() / "blobs"; }

  TempDir dir_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(LocalBlobStoreTest, PutGetExistsRoundTrip) {
  const std::string bytes("binary\0data\xff", 12);
  ASSERT_TRUE(store_->PutBytes("embeddings/abc/model-1.f32", bytes));
  EXPECT_TRUE(store_->Exists("embeddings/abc/model-1.f32").value());
  EXPECT_FALSE(store_->Exists("embeddings/abc/other.f32").value());
  EXPECT_FALSE(store_->Exists("embeddings/abc").value());  // a directory is not an object
  EXPECT_EQ(ReadFile(root() / "embeddings/abc/model-1.f32"), bytes);

  const fs::path dest = dir_.path() / "out" / "copy.bin";
  ASSERT_TRUE(store_->GetFile("embeddings/abc/model-1.f32", dest));
  EXPECT_EQ(ReadFile(dest), bytes);

  const fs::path source = dir_.path() / "source.pdf";
  std::ofstream(source, std::ios::binary) << std::string(3 << 20, 'p');  // > one copy buffer
  ASSERT_TRUE(store_->PutFile("raw/abc", source));
  EXPECT_EQ(ReadFile(root() / "raw/abc"), ReadFile(source));

  // Overwrite replaces the object.
  ASSERT_TRUE(store_->PutBytes("raw/abc", "new"));
  ASSERT_TRUE(store_->GetFile("raw/abc", dest));
  EXPECT_EQ(ReadFile(dest), "new");
  ASSERT_TRUE(store_->PutBytes("raw/empty", ""));
  EXPECT_TRUE(store_->Exists("raw/empty").value());
}

TEST_F(LocalBlobStoreTest, MissingObjectsAreNotFound) {
  auto get = store_->GetFile("raw/missing", dir_.path() / "x");
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_.path() / "x"));
  auto put = store_->PutFile("raw/x", dir_.path() / "no-such-source");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_->Exists("raw/x").value());
}

TEST_F(LocalBlobStoreTest, InvalidKeysAreRejected) {
  for (const std::string& key : std::vector<std::string>{
           "", "/etc/passwd", "../escape", "a/../../b", "a/./b", "a//b", "a/", ".", "..", "a b",
           "a\\b", "key~tmp", "é", std::string(LocalBlobStore::kMaxKeyLength + 1, 'a')}) {
    auto put = store_->PutBytes(key, "x");
    ASSERT_FALSE(put) << key;
    EXPECT_EQ(put.error().code, ErrorCode::kBadRequest) << key;
    EXPECT_EQ(store_->Exists(key).error().code, ErrorCode::kBadRequest) << key;
    EXPECT_EQ(store_->GetFile(key, dir_.path() / "x").error().code, ErrorCode::kBadRequest);
  }
  for (const char* prefix : {"", "/", "../", "a/../", "a//"}) {
    EXPECT_EQ(store_->DeletePrefix(prefix).error().code, ErrorCode::kBadRequest) << prefix;
  }
  EXPECT_TRUE(ListFiles(dir_.path()).empty());
  EXPECT_TRUE(store_->PutBytes(".hidden/v1.2_x-y", "ok"));  // dots inside names are fine
}

TEST_F(LocalBlobStoreTest, DeletePrefixRemovesMatchingKeysOnly) {
  for (const char* key : {"raw/abc1", "raw/abc2", "raw/abd", "embeddings/abc1/m.f32",
                          "embeddings/abc1/n.f32", "embeddings/abc2/m.f32"}) {
    ASSERT_TRUE(store_->PutBytes(key, key));
  }
  ASSERT_TRUE(store_->DeletePrefix("raw/abc"));
  ASSERT_TRUE(store_->DeletePrefix("embeddings/abc1/"));
  EXPECT_EQ(ListFiles(root()), (std::vector<std::string>{"embeddings/abc2/m.f32", "raw/abd"}));
  ASSERT_TRUE(store_->DeletePrefix("embeddings/abc1/"));  // idempotent
  ASSERT_TRUE(store_->DeletePrefix("nothing/here"));
  ASSERT_TRUE(store_->DeletePrefix("embeddings/a"));  // partial directory name
  EXPECT_EQ(ListFiles(root()), (std::vector<std::string>{"raw/abd"}));
}

TEST_F(LocalBlobStoreTest, ConcurrentWritesAreAtomicAndLeaveNoTempFiles) {
  // Readers must only ever see one complete version.
  const std::string a(1 << 20, 'a');
  const std::string b(1 << 20, 'b');
  ASSERT_TRUE(store_->PutBytes("raw/hot", a));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    const fs::path dest = dir_.path() / "read.bin";
    while (!stop) {
      if (!store_->GetFile("raw/hot", dest)) continue;
      const std::string got = ReadFile(dest);
      if (got != a && got != b) ++torn;
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 10; ++i) {
        if (!store_->PutBytes("raw/hot", w == 0 ? a : b)) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ListFiles(root()), std::vector<std::string>{"raw/hot"});
  // No temp file of the reader's copies is left either.
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find('~'), std::string::npos) << entry.path();
  }
}

TEST_F(LocalBlobStoreTest, FailedWriteLeavesNoTempFile) {
  // A directory where the object should go makes the final rename fail.
  fs::create_directories(root() / "raw/dir/child");
  auto put = store_->PutBytes("raw/dir", "x");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kBlobError);
  EXPECT_TRUE(ListFiles(root()).empty());
}

}  // namespace
}  // namespace ragpdf::store
