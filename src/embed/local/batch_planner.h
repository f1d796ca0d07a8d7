// BatchPlanner: the batching policy of the local engine, free of threads and
// tensors so it can be tested alone. It holds queued items (a sequence's id
// and its length in tokens) per lane and decides which go into the next
// encoder call:
// - the priority lane (queries) is always served first, on its own;
// - otherwise lanes (files) take turns as the batch's anchor, round-robin:
//   the front lane's oldest item is always in the batch, then the lane moves
//   to the back. Every item is eventually an anchor, so nothing starves;
// - candidates are drawn breadth-first across lanes (each lane's first item,
//   then each lane's second...) up to `window`, so every file in flight
//   contributes to a batch;
// - with group_by_length, candidates are sorted by length and the batch
//   grows around the anchor one neighbour at a time, taking whichever adds
//   less padding, while rows x longest <= max_batch_tokens, rows <=
//   max_batch_rows and padding stays within max_padding of the padded
//   tokens; without it, candidates are taken in draw order (FIFO packing,
//   the baseline).
//
// Ownership: plain value. Thread-safety: none; the owner serializes calls.
// Errors: none (an item longer than the token budget gets a batch alone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ragpdf::embed::local {

struct BatchPlannerOptions {
  std::size_t max_batch_tokens = 4096;  // padded tokens: rows x longest row
  std::size_t max_batch_rows = 64;
  std::size_t window = 256;   // candidates considered for one batch
  double max_padding = 0.25;  // largest padding share of a grouped batch
  bool group_by_length = true;
};

struct PlannedBatch {
  std::vector<std::uint64_t> items;  // ids, in no particular order
  int seq_len = 0;                   // longest item
  std::size_t real_tokens = 0;
  std::size_t padded_tokens() const { return items.size() * static_cast<std::size_t>(seq_len); }
};

class BatchPlanner {
 public:
  explicit BatchPlanner(BatchPlannerOptions options);
  ~BatchPlanner();
  BatchPlanner(BatchPlanner&&) noexcept;
  BatchPlanner& operator=(BatchPlanner&&) noexcept;

  // Queues item `id` of `length` (>= 1) tokens at the back of `lane`.
  void Push(std::string_view lane, std::uint64_t id, int length, bool priority = false);
  // Removes and returns the next batch; empty when nothing is queued.
  PlannedBatch Next();

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t lanes() const { return order_.size() + (priority_.items.empty() ? 0 : 1); }
  const BatchPlannerOptions& options() const { return options_; }

 private:
  struct Item {
    std::uint64_t id;
    int length;
  };
  struct Lane {
    std::string key;
    std::deque<Item> items;
  };
  struct Candidate {
    Lane* lane;
    std::size_t position;  // in lane->items
    int length;
  };

  std::vector<Candidate> DrawWindow(const std::vector<Lane*>& lanes) const;
  std::vector<std::size_t> Choose(const std::vector<Candidate>& window) const;
  std::vector<std::size_t> ChooseGrouped(const std::vector<Candidate>& window) const;
  std::vector<std::size_t> ChooseFifo(const std::vector<Candidate>& window) const;
  bool Fits(std::size_t rows, int seq_len) const;
  void Remove(const std::vector<Candidate>& window, const std::vector<std::size_t>& chosen);

  BatchPlannerOptions options_;
  Lane priority_;
  std::deque<std::unique_ptr<Lane>> order_;  // round-robin order; front anchors next
  std::unordered_map<std::string, Lane*> by_key_;
  std::size_t size_ = 0;
};

}  // namespace ragpdf::embed::local
