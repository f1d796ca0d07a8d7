// query::Searcher: /file/neighbors. Vector search (exact, SIMD dot products
// over the vectors of the files a query names), keyword search (FTS5 bm25)
// and hybrid (reciprocal rank fusion of the two).
//
// Ownership: app/ creates one per process. Thread-safety: safe for concurrent
// use. Errors: kNotFound (unknown model), kBadRequest (empty text, bad mode);
// files that are not searchable (unknown, in progress, error) are skipped and
// listed in `skipped_file_ids`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/error.h"

namespace ragpdf::query {

enum class SearchMode { kVector, kKeyword, kHybrid };
std::optional<SearchMode> ParseSearchMode(std::string_view name);

struct NeighborsRequest {
  std::string text;
  std::vector<std::string> file_ids;
  int n_neighbors = 5;
  std::string model_choice;  // empty: default model
  SearchMode mode = SearchMode::kHybrid;
};

struct Neighbor {
  std::string file_id;
  int chunk_index = 0;
  std::string text;
  double score = 0;  // mode-specific: cosine, bm25 (negated), or RRF
  int page_start = 1;
  int page_end = 1;
};

struct NeighborsResponse {
  std::string model;
  std::vector<Neighbor> results;  // best first
  std::vector<std::string> skipped_file_ids;
};

class Searcher {
 public:
  virtual ~Searcher() = default;
  virtual boost::asio::awaitable<common::Result<NeighborsResponse>> Neighbors(
      NeighborsRequest request) = 0;
};

}  // namespace ragpdf::query
