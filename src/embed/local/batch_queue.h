// BatchQueue: the shared state between callers of the local engine and its
// encoder thread. It admits requests (with back-pressure), receives their
// tokenized sequences, hands the encoder thread batches chosen by a
// BatchPlanner, scatters the resulting vectors back to their requests and
// completes each request exactly once (success, encoder failure or
// shutdown).
//
// Ownership: shared (shared_ptr) by the engine and the tokenization tasks in
// flight, so a task that runs after shutdown finds a closed queue instead of
// a dangling engine. Thread-safety: every method is safe to call
// concurrently; NextBatch/Deliver/FailBatch are meant for the one encoder
// thread. Errors: Admit() refuses with kOverloaded beyond the queue limits and
// kUnavailable once closed; requests pending at Close() fail with
// kUnavailable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "embed/embedder.h"
#include "embed/local/batch_planner.h"

namespace ragpdf::embed::local {

// One Embed() call in flight.
struct PendingRequest {
  using Completion = std::function<void(common::Result<Embeddings>)>;

  std::vector<std::string> texts;  // each is cleared once tokenized
  Purpose purpose = Purpose::kDocument;
  std::string lane_key;
  Embeddings out;             // filled row by row by the encoder thread
  std::size_t remaining = 0;  // rows not delivered yet (encoder thread only)
  Completion complete;        // called once, by Finish()
  std::atomic<bool> finished{false};
};

// One text of a request, tokenized with its special tokens.
struct Sequence {
  std::shared_ptr<PendingRequest> request;
  std::size_t row = 0;
  std::vector<std::int32_t> ids;
};

struct BatchQueueOptions {
  std::string model;  // label of the metrics
  int dimension = 0;
  BatchPlannerOptions planner;
  std::size_t max_queued_rows = 65536;    // document rows admitted, not yet delivered
  std::size_t max_queued_queries = 1024;  // query rows likewise
};

class BatchQueue {
 public:
  explicit BatchQueue(BatchQueueOptions options);
  ~BatchQueue();

  // Reserves room for the request's rows. When refused (kOverloaded,
  // kUnavailable) `complete` is called with the error and nullptr returned.
  std::shared_ptr<PendingRequest> Admit(EmbedRequest request, PendingRequest::Completion complete);
  // Queues tokenized rows of an admitted request (fails it if closed).
  void Push(const std::shared_ptr<PendingRequest>& request, std::vector<Sequence> sequences);
  // Blocks until a batch is ready; nullopt once closed. Sequences of
  // requests that already failed are dropped here.
  std::optional<std::vector<Sequence>> NextBatch();
  // `vectors` holds batch.size() rows of `dimension` floats, in batch order.
  void Deliver(std::vector<Sequence>& batch, std::span<const float> vectors);
  void FailBatch(const std::vector<Sequence>& batch, const common::Error& error);
  // Completes `request` with `result` unless it already completed.
  void Finish(PendingRequest& request, common::Result<Embeddings> result);
  // Fails every request in flight with kUnavailable; later Admit()s fail too
  // and NextBatch() returns nullopt.
  void Close();

 private:
  bool IsQuery(const PendingRequest& r) const { return r.purpose == Purpose::kQuery; }
  void UpdateGaugesLocked();

  BatchQueueOptions options_;
  std::string labels_;  // model="..."

  std::mutex mu_;
  std::condition_variable ready_;
  bool closed_ = false;
  BatchPlanner planner_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, Sequence> queued_;
  std::unordered_map<PendingRequest*, std::shared_ptr<PendingRequest>> active_;
  std::size_t document_rows_ = 0;  // admitted, not finished
  std::size_t query_rows_ = 0;
};

}  // namespace ragpdf::embed::local
