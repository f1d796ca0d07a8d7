#include "embed/remote/sub_batches.h"

#include <cassert>

namespace ragpdf::embed::remote {

std::vector<SubBatch> SplitIntoSubBatches(std::span<const int> token_counts, std::size_t max_inputs,
                                          std::int64_t max_tokens) {
  assert(max_inputs > 0 && max_tokens > 0);
  std::vector<SubBatch> batches;
  SubBatch current;
  for (std::size_t i = 0; i < token_counts.size(); ++i) {
    const std::int64_t tokens = token_counts[i];
    const bool full = current.size() == max_inputs || current.tokens + tokens > max_tokens;
    if (current.size() > 0 && full) {
      batches.push_back(current);
      current = SubBatch{.begin = i, .end = i, .tokens = 0};
    }
    current.end = i + 1;
    current.tokens += tokens;
  }
  if (current.size() > 0) batches.push_back(current);
  return batches;
}

}  // namespace ragpdf::embed::remote
