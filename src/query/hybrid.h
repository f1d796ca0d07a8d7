// Rank fusion for hybrid search. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace ragpdf::query {

struct RankedKey {
  std::string file_id;
  int chunk_index = 0;
  double score = 0;
};

// Reciprocal rank fusion: score(d) = sum over lists of 1 / (k + rank), rank
// 1-based. Returns the fused list, best first; ties keep first-seen order.
std::vector<RankedKey> ReciprocalRankFusion(const std::vector<std::vector<RankedKey>>& lists,
                                            double k = 60.0);

}  // namespace ragpdf::query
