#include "embed/local/batch_queue.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/metrics.h"

namespace ragpdf::embed::local {

using common::ErrorCode;
using common::Fail;
using common::Result;

BatchQueue::BatchQueue(BatchQueueOptions options)
    : options_(std::move(options)),
      labels_("model=\"" + options_.model + "\""),
      planner_(options_.planner) {
  assert(options_.dimension > 0);
  auto& m = common::Metrics::Global();
  m.Describe("ragpdf_local_queue_rows", "gauge", "Tokenized rows waiting for the local encoder");
  m.Describe("ragpdf_local_inflight_rows", "gauge",
             "Rows of admitted local embedding requests not completed yet");
  m.Describe("ragpdf_local_rejected_total", "counter",
             "Local embedding requests refused because the queue was full");
}

BatchQueue::~BatchQueue() { Close(); }

std::shared_ptr<PendingRequest> BatchQueue::Admit(EmbedRequest request,
                                                  PendingRequest::Completion complete) {
  assert(!request.texts.empty() && complete);
  const std::size_t n = request.texts.size();
  const bool query = request.purpose == Purpose::kQuery;
  std::optional<common::Error> refused;
  {
    std::lock_guard lock(mu_);
    std::size_t& rows = query ? query_rows_ : document_rows_;
    const std::size_t limit = query ? options_.max_queued_queries : options_.max_queued_rows;
    if (closed_) {
      refused =
          common::Error{ErrorCode::kUnavailable, "model " + options_.model + " is shutting down"};
    } else if (rows + n > limit) {
      common::Metrics::Global().Inc("ragpdf_local_rejected_total", labels_);
      refused = common::Error{ErrorCode::kOverloaded,
                              "model " + options_.model + " is busy: " + std::to_string(rows) +
                                  (query ? " query" : " document") + " texts queued, " +
                                  std::to_string(n) + " more would exceed the limit of " +
                                  std::to_string(limit)};
    } else {
      rows += n;
      auto pending = std::make_shared<PendingRequest>();
      pending->purpose = request.purpose;
      pending->lane_key = std::move(request.lane_key);
      pending->texts = std::move(request.texts);
      pending->remaining = n;
      pending->out.dimension = options_.dimension;
      pending->complete = std::move(complete);
      active_.emplace(pending.get(), pending);
      UpdateGaugesLocked();
      return pending;
    }
  }
  complete(Fail(std::move(*refused)));
  return nullptr;
}

void BatchQueue::Push(const std::shared_ptr<PendingRequest>& request,
                      std::vector<Sequence> sequences) {
  {
    std::unique_lock lock(mu_);
    if (closed_) {
      lock.unlock();
      Finish(*request,
             Fail(ErrorCode::kUnavailable, "model " + options_.model + " is shutting down"));
      return;
    }
    if (request->finished.load()) return;  // failed meanwhile: drop its rows
    const bool query = IsQuery(*request);
    for (auto& s : sequences) {
      assert(!s.ids.empty());
      const std::uint64_t id = next_id_++;
      planner_.Push(request->lane_key, id, static_cast<int>(s.ids.size()), query);
      queued_.emplace(id, std::move(s));
    }
    UpdateGaugesLocked();
  }
  ready_.notify_one();
}

std::optional<std::vector<Sequence>> BatchQueue::NextBatch() {
  std::unique_lock lock(mu_);
  for (;;) {
    ready_.wait(lock, [this] { return closed_ || !planner_.empty(); });
    if (closed_) return std::nullopt;
    const PlannedBatch plan = planner_.Next();
    std::vector<Sequence> batch;
    batch.reserve(plan.items.size());
    for (std::uint64_t id : plan.items) {
      auto node = queued_.extract(id);
      assert(!node.empty());
      if (!node.mapped().request->finished.load()) batch.push_back(std::move(node.mapped()));
    }
    UpdateGaugesLocked();
    if (!batch.empty()) return batch;
  }
}

void BatchQueue::Deliver(std::vector<Sequence>& batch, std::span<const float> vectors) {
  const auto dim = static_cast<std::size_t>(options_.dimension);
  assert(vectors.size() == batch.size() * dim);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    PendingRequest& r = *batch[i].request;
    if (r.finished.load()) continue;
    // Allocated here, on the encoder thread, rather than under the lock.
    if (r.out.data.empty()) r.out.data.resize(r.texts.size() * dim);
    std::copy_n(vectors.begin() + static_cast<std::ptrdiff_t>(i * dim), dim,
                r.out.data.begin() + static_cast<std::ptrdiff_t>(batch[i].row * dim));
    if (--r.remaining == 0) Finish(r, std::move(r.out));
  }
}

void BatchQueue::FailBatch(const std::vector<Sequence>& batch, const common::Error& error) {
  for (const auto& s : batch) Finish(*s.request, Fail(error));
}

void BatchQueue::Finish(PendingRequest& request, Result<Embeddings> result) {
  if (request.finished.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    (IsQuery(request) ? query_rows_ : document_rows_) -= request.texts.size();
    active_.erase(&request);
    UpdateGaugesLocked();
  }
  // Moved out so the caller's executor (work-tracked) is released right away.
  PendingRequest::Completion complete = std::move(request.complete);
  request.complete = nullptr;
  if (complete) complete(std::move(result));
}

void BatchQueue::Close() {
  std::unordered_map<PendingRequest*, std::shared_ptr<PendingRequest>> active;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    active.swap(active_);
    queued_.clear();
    planner_ = BatchPlanner(options_.planner);
    UpdateGaugesLocked();
  }
  ready_.notify_all();
  for (const auto& [raw, r] : active) {
    Finish(*r, Fail(ErrorCode::kUnavailable, "model " + options_.model + " is shutting down"));
  }
}

void BatchQueue::UpdateGaugesLocked() {
  auto& m = common::Metrics::Global();
  m.Set("ragpdf_local_queue_rows", labels_, static_cast<double>(queued_.size()));
  m.Set("ragpdf_local_inflight_rows", labels_, static_cast<double>(document_rows_ + query_rows_));
}

}  // namespace ragpdf::embed::local
