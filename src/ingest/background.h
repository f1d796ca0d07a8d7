// BackgroundRunner: executes the durable tasks that CommitIndex records
// (copy the raw file and the embeddings to the blob store) and marks a file
// completed once its last task is done. Tasks live in the store's task table,
// so any process may run them, including after a restart.
//
// Ownership: owned by IngestService. Thread-safety: Start/Notify/Shutdown run
// on the single-threaded I/O executor; running() may be read from anywhere.
// Errors: a failed task is retried with capped exponential backoff and never
// changes a file's searchable state.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/async.h"
#include "common/retry.h"
#include "ingest/deps.h"
#include "ingest/staging.h"

namespace ragpdf::ingest {

struct BackgroundOptions {
  std::string worker_id;
  std::size_t concurrency = 2;
  std::chrono::milliseconds poll{250};
  std::chrono::milliseconds lease{30000};
  common::RetryPolicy retry;  // per attempt; task retries use `task_backoff`
  common::RetryPolicy task_backoff{.max_attempts = 1 << 30,
                                   .base_delay = std::chrono::milliseconds(200),
                                   .max_delay = std::chrono::milliseconds(60000)};
};

class BackgroundRunner {
 public:
  BackgroundRunner(const IngestDeps& deps, Staging staging, BackgroundOptions options);

  void Start();
  // Wakes idle loops: new tasks were just recorded.
  void Notify();
  boost::asio::awaitable<void> Shutdown();
  std::size_t running() const { return running_.load(); }

 private:
  boost::asio::awaitable<void> Loop(std::size_t index);
  // Blocking; runs on the db pool.
  common::Result<void> Run(const store::Task& task);
  common::Result<void> CopyRaw(const store::Task& task);
  common::Result<void> ExportEmbeddings(const store::Task& task);
  common::Result<void> Finish(const store::Task& task);

  const IngestDeps& deps_;
  Staging staging_;
  BackgroundOptions options_;
  common::TaskGroup loops_;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> wake_;
  std::atomic<std::size_t> running_{0};
};

}  // namespace ragpdf::ingest
