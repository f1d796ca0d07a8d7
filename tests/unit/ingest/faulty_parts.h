// Fault injection at the edges of the ingest pipeline: wrappers around the
// real SQLite store, the real local blob store and the real hashing embedder
// that fail on command. Everything else is real.
#pragma once

#include <atomic>
#include <string>

#include "embed/hashing_embedder.h"
#include "store/blob_store.h"
#include "store/metadata_store.h"

namespace ragpdf::ingest::testing {

// Forwards every call to `inner`; CommitIndex fails with kStorageBusy while
// `busy_commits` > 0 (decremented per failure).
class FlakyStore : public store::MetadataStore {
 public:
  explicit FlakyStore(store::MetadataStore& inner) : inner_(inner) {}
  std::atomic<int> busy_commits{0};
  std::atomic<int> commit_calls{0};

  common::Result<store::FileRecord> UpsertFile(const store::FileRecord& f) override {
    return inner_.UpsertFile(f);
  }
  common::Result<std::optional<store::FileRecord>> GetFile(const std::string& id) override {
    return inner_.GetFile(id);
  }
  common::Result<void> AddOwner(const std::string& id, const std::string& u) override {
    return inner_.AddOwner(id, u);
  }
  common::Result<int> RemoveOwner(const std::string& id, const std::string& u) override {
    return inner_.RemoveOwner(id, u);
  }
  common::Result<std::vector<std::string>> ListOwners(const std::string& id) override {
    return inner_.ListOwners(id);
  }
  common::Result<std::optional<store::ModelState>> GetState(const std::string& id,
                                                            const std::string& m) override {
    return inner_.GetState(id, m);
  }
  common::Result<std::vector<store::ModelState>> ListStates(const std::string& id) override {
    return inner_.ListStates(id);
  }
  common::Result<store::ClaimResult> TryClaim(const std::string& id, const std::string& m,
                                              const std::string& w,
                                              std::chrono::milliseconds l) override {
    return inner_.TryClaim(id, m, w, l);
  }
  common::Result<void> RenewLease(const std::string& id, const std::string& m, const std::string& w,
                                  std::chrono::milliseconds l) override {
    return inner_.RenewLease(id, m, w, l);
  }
  common::Result<void> CommitIndex(const store::IndexCommit& c) override {
    ++commit_calls;
    if (busy_commits.fetch_sub(1) > 0) {
      return common::Fail(common::ErrorCode::kStorageBusy, "injected: database is locked");
    }
    return inner_.CommitIndex(c);
  }
  common::Result<void> MarkError(const std::string& id, const std::string& m,
                                 const common::Error& e) override {
    return inner_.MarkError(id, m, e);
  }
  common::Result<void> MarkCompleted(const std::string& id, const std::string& m) override {
    return inner_.MarkCompleted(id, m);
  }
  common::Result<std::vector<store::ModelState>> ListExpiredLeases() override {
    return inner_.ListExpiredLeases();
  }
  common::Result<std::optional<store::VectorSet>> LoadVectors(const std::string& id,
                                                              const std::string& m) override {
    return inner_.LoadVectors(id, m);
  }
  common::Result<std::vector<store::KeywordHit>> KeywordSearch(const std::string& q,
                                                               const std::vector<std::string>& ids,
                                                               const std::string& m,
                                                               int limit) override {
    return inner_.KeywordSearch(q, ids, m, limit);
  }
  common::Result<std::vector<store::ChunkRecord>> GetChunks(
      const std::string& m, const std::vector<ChunkKey>& keys) override {
    return inner_.GetChunks(m, keys);
  }
  common::Result<std::optional<store::Task>> ClaimTask(const std::string& w,
                                                       std::chrono::milliseconds l) override {
    return inner_.ClaimTask(w, l);
  }
  common::Result<void> CompleteTask(std::int64_t id) override { return inner_.CompleteTask(id); }
  common::Result<void> RetryTask(std::int64_t id, std::chrono::milliseconds d,
                                 const std::string& e) override {
    return inner_.RetryTask(id, d, e);
  }
  common::Result<int> PendingTasks(const std::string& id, const std::string& m) override {
    return inner_.PendingTasks(id, m);
  }
  common::Result<void> DeleteFile(const std::string& id) override { return inner_.DeleteFile(id); }
  common::Result<std::string> StoreTable(const std::string& id, const common::Table& t) override {
    return inner_.StoreTable(id, t);
  }

 private:
  store::MetadataStore& inner_;
};

// PutFile fails with kBlobError while `failing_puts` > 0.
class FlakyBlobs : public store::BlobStore {
 public:
  explicit FlakyBlobs(store::BlobStore& inner) : inner_(inner) {}
  std::atomic<int> failing_puts{0};

  common::Result<void> PutFile(const std::string& key, const std::filesystem::path& src) override {
    if (failing_puts.fetch_sub(1) > 0) {
      return common::Fail(common::ErrorCode::kBlobError, "injected: disk full");
    }
    return inner_.PutFile(key, src);
  }
  common::Result<void> PutBytes(const std::string& key, std::string_view b) override {
    return inner_.PutBytes(key, b);
  }
  common::Result<void> GetFile(const std::string& key, const std::filesystem::path& d) override {
    return inner_.GetFile(key, d);
  }
  common::Result<bool> Exists(const std::string& key) override { return inner_.Exists(key); }
  common::Result<void> DeletePrefix(const std::string& p) override {
    return inner_.DeletePrefix(p);
  }

 private:
  store::BlobStore& inner_;
};

// The real hashing embedder, except that a batch containing "POISON" fails.
class PoisonableEmbedder : public embed::Embedder {
 public:
  PoisonableEmbedder(std::shared_ptr<embed::Embedder> inner) : inner_(std::move(inner)) {}
  const embed::ModelInfo& info() const override { return inner_->info(); }
  const common::Tokenizer& tokenizer() const override { return inner_->tokenizer(); }
  boost::asio::awaitable<common::Result<embed::Embeddings>> Embed(
      embed::EmbedRequest request) override {
    for (const auto& t : request.texts) {
      if (t.find("POISON") != std::string::npos) {
        co_return common::Fail(common::ErrorCode::kEmbeddingFailed, "injected: model crashed");
      }
    }
    co_return co_await inner_->Embed(std::move(request));
  }

 private:
  std::shared_ptr<embed::Embedder> inner_;
};

}  // namespace ragpdf::ingest::testing
