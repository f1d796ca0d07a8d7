// IngestService: the upload pipeline (see docs/ARCHITECTURE.md).
//
// For each file of an upload, concurrently: categorize, look up existing
// embeddings for (file, model), then either reuse them (the uploader joins the
// owners in the background) or claim the file with a lease in the store
// (cross-process single flight) and run parse -> chunk -> embed -> commit
// under a semaphore of `max_concurrent_tasks`. The commit makes the file
// ready_for_chat and records its background tasks (blob copies) in the same
// transaction; BackgroundRunner finishes them and marks the file completed.
//
// Ownership: app/ creates one per process and keeps the pools, store, blob
// store, registry and parser alive longer than it.
// Thread-safety: the public coroutines must run on the single-threaded I/O
// executor given in IngestDeps (all in-memory state lives there).
// Errors: see ingest/service.h.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/async.h"
#include "common/retry.h"
#include "embed/embedder.h"
#include "ingest/deps.h"
#include "ingest/service.h"
#include "ingest/staging.h"
#include "parse/parser.h"
#include "store/blob_store.h"
#include "store/metadata_store.h"

namespace ragpdf::ingest {

struct IngestOptions {
  std::filesystem::path data_dir;        // staging lives in <data_dir>/staging
  std::string process_id;                // unique per process (host:pid:random)
  std::size_t max_concurrent_tasks = 4;  // files in parse/chunk/embed at once
  std::size_t max_queued_files = 10000;  // beyond: uploads get 429 overloaded
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds wait_poll{100};  // polling a file another worker ingests
  std::chrono::milliseconds task_poll{250};  // background task queue polling
  std::size_t background_concurrency = 2;
  common::RetryPolicy retry;
  std::optional<int> chunk_tokens;  // overrides the per-model default
  std::optional<int> chunk_overlap;
};

class IngestService final : public Service {
 public:
  IngestService(IngestDeps deps, IngestOptions options);
  ~IngestService() override;

  // Starts the background task runner and the recovery of interrupted work.
  void Start();
  // Stops taking work and waits for in-flight files and tasks to finish.
  boost::asio::awaitable<void> Shutdown();

  boost::asio::awaitable<common::Result<UploadResponse>> Upload(UploadRequest request) override;
  boost::asio::awaitable<common::Result<CheckResponse>> Check(std::vector<std::string> file_ids,
                                                              std::string model_choice) override;
  boost::asio::awaitable<common::Result<StatusResponse>> Status(std::string file_id,
                                                                std::string model_choice) override;
  boost::asio::awaitable<common::Result<DeleteResponse>> Delete(std::vector<std::string> file_ids,
                                                                std::string username) override;
  std::vector<embed::ModelInfo> AvailableModels() const override;
  Stats GetStats() const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ragpdf::ingest
