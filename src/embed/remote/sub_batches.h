// Splits one Embed() call's texts into the sub-batches sent as separate API
// requests, within the provider's per-request limits. Each sub-batch is
// retried on its own, so a 429 never resends texts already embedded.
//
// Thread-safety: pure function. Errors: none (an input larger than
// max_tokens goes alone in its sub-batch; the API judges it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ragpdf::embed::remote {

// Texts [begin, end) of the request; `tokens` is their estimated total.
struct SubBatch {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::int64_t tokens = 0;

  std::size_t size() const { return end - begin; }
};

// Contiguous, in order, covering every input: greedy, each sub-batch holds
// at most `max_inputs` texts and at most `max_tokens` tokens (or one text).
std::vector<SubBatch> SplitIntoSubBatches(std::span<const int> token_counts, std::size_t max_inputs,
                                          std::int64_t max_tokens);

}  // namespace ragpdf::embed::remote
