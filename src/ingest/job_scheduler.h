// JobScheduler: decides when a claimed file may run its parse -> chunk ->
// embed -> commit job. The embedded implementation bounds the jobs of one
// process with a FIFO semaphore (--max-concurrent-tasks); a scheduler shared
// by several servers (PostgreSQL-backed) or one with priorities can replace
// it behind this interface.
//
// Ownership: IngestService owns its scheduler. Thread-safety: Acquire() may be
// awaited from any coroutine; the counters may be read from any thread.
// Errors: none; Acquire() waits until a slot is free.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>

#include "common/async.h"

namespace ragpdf::ingest {

struct JobTicket {
  std::string file_id;
  std::string model;
};

// A running job's slot; freed when destroyed.
class JobSlot {
 public:
  JobSlot() = default;
  explicit JobSlot(std::function<void()> release) : release_(std::move(release)) {}
  JobSlot(JobSlot&& o) noexcept : release_(std::exchange(o.release_, nullptr)) {}
  JobSlot& operator=(JobSlot&&) = delete;
  JobSlot(const JobSlot&) = delete;
  ~JobSlot() {
    if (release_) release_();
  }

 private:
  std::function<void()> release_;
};

class JobScheduler {
 public:
  virtual ~JobScheduler() = default;
  virtual boost::asio::awaitable<JobSlot> Acquire(JobTicket ticket) = 0;
  virtual std::size_t running() const = 0;
  virtual std::size_t queued() const = 0;
};

// First come, first served, at most `max_jobs` at once in this process.
class LocalJobScheduler final : public JobScheduler {
 public:
  explicit LocalJobScheduler(std::size_t max_jobs) : slots_(max_jobs) {}
  boost::asio::awaitable<JobSlot> Acquire(JobTicket ticket) override;
  std::size_t running() const override { return slots_.in_use(); }
  std::size_t queued() const override { return slots_.waiting(); }

 private:
  common::AsyncSemaphore slots_;
};

}  // namespace ragpdf::ingest
