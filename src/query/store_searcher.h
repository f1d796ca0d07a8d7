// StoreSearcher: the Searcher over the metadata store (see query/searcher.h).
// Vector mode embeds the query with the model's query purpose and scores every
// chunk of the named files exactly (SIMD dot products; vectors are unit
// length, so the score is the cosine). Keyword mode is the store's FTS5 bm25.
// Hybrid fuses both rankings with reciprocal rank fusion.
//
// Ownership: app/ owns it; the store, registry and pools outlive it.
// Thread-safety: Neighbors() may run concurrently; it resumes on the caller's
// executor and never computes on it.
#pragma once

#include <cstddef>

#include <boost/asio/thread_pool.hpp>

#include "embed/embedder.h"
#include "query/hybrid.h"
#include "query/searcher.h"
#include "query/vector_cache.h"
#include "store/metadata_store.h"

namespace ragpdf::query {

struct SearcherOptions {
  std::size_t cache_bytes = 512ull << 20;  // vectors kept in memory
  int max_neighbors = 100;
  std::size_t max_files = 1000;  // file ids per query
  std::size_t max_text_bytes = 1 << 16;
  int fusion_depth = 50;  // hybrid: candidates taken from each list (at least)
  double rrf_k = 60.0;
};

class StoreSearcher final : public Searcher {
 public:
  StoreSearcher(boost::asio::thread_pool::executor_type db_pool,
                boost::asio::thread_pool::executor_type cpu_pool, store::MetadataStore& store,
                const embed::EmbedderRegistry& models, SearcherOptions options);

  boost::asio::awaitable<common::Result<NeighborsResponse>> Neighbors(
      NeighborsRequest request) override;

 private:
  boost::asio::awaitable<common::Result<std::vector<RankedKey>>> VectorRanking(
      const NeighborsRequest& request, std::shared_ptr<embed::Embedder> embedder,
      const std::vector<std::string>& file_ids, std::size_t depth);
  boost::asio::awaitable<common::Result<std::vector<RankedKey>>> KeywordRanking(
      const NeighborsRequest& request, const std::string& model,
      const std::vector<std::string>& file_ids, std::size_t depth);

  boost::asio::thread_pool::executor_type db_pool_;
  boost::asio::thread_pool::executor_type cpu_pool_;
  store::MetadataStore& store_;
  const embed::EmbedderRegistry& models_;
  SearcherOptions options_;
  VectorCache cache_;
};

}  // namespace ragpdf::query
