#include "query/hybrid.h"

#include <algorithm>
#include <map>
#include <utility>

namespace ragpdf::query {

std::vector<RankedKey> ReciprocalRankFusion(const std::vector<std::vector<RankedKey>>& lists,
                                            double k) {
  std::map<std::pair<std::string, int>, std::size_t> index;
  std::vector<RankedKey> fused;
  for (const auto& list : lists) {
    for (std::size_t rank = 0; rank < list.size(); ++rank) {
      const auto& item = list[rank];
      auto [it, inserted] = index.try_emplace({item.file_id, item.chunk_index}, fused.size());
      if (inserted) fused.push_back(RankedKey{item.file_id, item.chunk_index, 0});
      fused[it->second].score += 1.0 / (k + static_cast<double>(rank + 1));
    }
  }
  std::stable_sort(fused.begin(), fused.end(),
                   [](const RankedKey& a, const RankedKey& b) { return a.score > b.score; });
  return fused;
}

}  // namespace ragpdf::query
