// MetadataStore: the single source of truth for files, owners, per-(file,
// model) status, chunks, vectors, full-text index and durable background
// tasks. The embedded implementation is SQLite in WAL mode (sqlite_store.h);
// a PostgreSQL implementation can fill the same interface later.
//
// Ownership: app/ creates one store per process and shares it.
// Thread-safety: every method is safe to call concurrently from any thread,
// and from several processes sharing the same data directory.
// Blocking: methods block on disk and locks; call them from a worker pool,
// never from the I/O executor.
// Errors: kStorageBusy when the database stayed locked past the busy timeout
// (transient: the caller retries), kStorageError otherwise, kNotFound where
// stated.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/status.h"
#include "common/types.h"

namespace ragpdf::store {

struct FileRecord {
  std::string file_id;  // hex SHA-256 of the bytes
  std::string filename;
  common::FileFormat format = common::FileFormat::kUnknown;
  common::FileKind kind = common::FileKind::kDocument;
  std::int64_t size_bytes = 0;
  std::int64_t created_at_ms = 0;
};

struct ModelState {
  std::string file_id;
  std::string model;
  common::FileStatus status = common::FileStatus::kNotStarted;
  int pages = 0;
  int chunks = 0;
  std::optional<common::Error> error;  // set when status == kError
  std::string worker_id;               // who holds the ingest lease
  std::int64_t lease_expires_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct ChunkRecord {
  std::string file_id;
  std::string model;
  int chunk_index = 0;
  std::string text;
  int page_start = 1;
  int page_end = 1;
  int token_count = 0;
};

// A background task recorded durably in the same transaction that makes a
// file ready_for_chat; any process may run it later.
struct Task {
  std::int64_t id = 0;
  std::string kind;  // e.g. "copy_raw", "export_embeddings", "finalize"
  std::string file_id;
  std::string model;
  std::string payload;  // JSON, task-specific
  int attempts = 0;
};

struct NewTask {
  std::string kind;
  std::string payload;
};

// Everything that becomes visible at once when a file turns ready_for_chat.
struct IndexCommit {
  std::string file_id;
  std::string model;
  std::string worker_id;  // must still hold the lease
  int pages = 0;
  std::vector<ChunkRecord> chunks;  // chunk_index 0..n-1
  int dimension = 0;
  std::vector<float> vectors;  // chunks.size() x dimension, row-major
  std::vector<NewTask> tasks;  // background work to record durably
};

struct VectorSet {
  std::string file_id;
  std::string model;
  int dimension = 0;
  std::vector<float> data;  // count x dimension, row-major, chunk order
  std::size_t count() const { return dimension ? data.size() / dimension : 0; }
};

struct KeywordHit {
  std::string file_id;
  int chunk_index = 0;
  double score = 0;  // higher is better (negated bm25)
};

enum class ClaimOutcome {
  kClaimed,     // caller now holds the lease and must ingest
  kReady,       // already ready_for_chat or completed: nothing to do
  kHeldByOther  // another worker holds a live lease: wait and poll
};

struct ClaimResult {
  ClaimOutcome outcome = ClaimOutcome::kClaimed;
  ModelState state;  // state after the call
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Files and owners.
  // Inserts the file if absent (first filename wins); returns the stored row.
  virtual common::Result<FileRecord> UpsertFile(const FileRecord& file) = 0;
  virtual common::Result<std::optional<FileRecord>> GetFile(const std::string& file_id) = 0;
  // kNotFound when the file does not exist. Idempotent.
  virtual common::Result<void> AddOwner(const std::string& file_id,
                                        const std::string& username) = 0;
  // Returns how many owners remain (0: the caller should delete the file).
  virtual common::Result<int> RemoveOwner(const std::string& file_id,
                                          const std::string& username) = 0;
  virtual common::Result<std::vector<std::string>> ListOwners(const std::string& file_id) = 0;

  // Per-(file, model) state and the ingest lease (cross-process single flight).
  virtual common::Result<std::optional<ModelState>> GetState(const std::string& file_id,
                                                             const std::string& model) = 0;
  virtual common::Result<std::vector<ModelState>> ListStates(const std::string& file_id) = 0;
  // Atomically: no row, status error, or an expired in_progress lease ->
  // in_progress held by `worker_id` until now + lease (kClaimed).
  virtual common::Result<ClaimResult> TryClaim(const std::string& file_id, const std::string& model,
                                               const std::string& worker_id,
                                               std::chrono::milliseconds lease) = 0;
  // kInterrupted when `worker_id` no longer holds the lease.
  virtual common::Result<void> RenewLease(const std::string& file_id, const std::string& model,
                                          const std::string& worker_id,
                                          std::chrono::milliseconds lease) = 0;
  // One transaction: chunks, full-text rows, vectors, tasks, status
  // ready_for_chat. kInterrupted when the lease was lost (nothing written).
  virtual common::Result<void> CommitIndex(const IndexCommit& commit) = 0;
  // Removes any chunks/vectors/full-text rows of (file, model) and records
  // status error with the error's code and message.
  virtual common::Result<void> MarkError(const std::string& file_id, const std::string& model,
                                         const common::Error& error) = 0;
  // ready_for_chat -> completed (no-op when already completed).
  virtual common::Result<void> MarkCompleted(const std::string& file_id,
                                             const std::string& model) = 0;
  // in_progress rows whose lease has expired (their worker died).
  virtual common::Result<std::vector<ModelState>> ListExpiredLeases() = 0;

  // Search support.
  virtual common::Result<std::optional<VectorSet>> LoadVectors(const std::string& file_id,
                                                               const std::string& model) = 0;
  // FTS5 bm25 over chunks of the given files under `model`, best first.
  virtual common::Result<std::vector<KeywordHit>> KeywordSearch(
      const std::string& query, const std::vector<std::string>& file_ids, const std::string& model,
      int limit) = 0;
  struct ChunkKey {
    std::string file_id;
    int chunk_index = 0;
  };
  // Chunks in the order of `keys`; missing keys are skipped.
  virtual common::Result<std::vector<ChunkRecord>> GetChunks(const std::string& model,
                                                             const std::vector<ChunkKey>& keys) = 0;

  // Durable background tasks.
  // Takes one runnable task (pending and due, or leased and expired) and
  // leases it to `worker_id`. nullopt when none is runnable.
  virtual common::Result<std::optional<Task>> ClaimTask(const std::string& worker_id,
                                                        std::chrono::milliseconds lease) = 0;
  virtual common::Result<void> CompleteTask(std::int64_t task_id) = 0;
  // Makes the task runnable again after `delay`, recording the error.
  virtual common::Result<void> RetryTask(std::int64_t task_id, std::chrono::milliseconds delay,
                                         const std::string& error) = 0;
  // Tasks not yet completed for (file, model).
  virtual common::Result<int> PendingTasks(const std::string& file_id,
                                           const std::string& model) = 0;

  // Removes the file and everything derived from it (all models).
  virtual common::Result<void> DeleteFile(const std::string& file_id) = 0;

  // Tables (CSV/TSV/XLSX) kept as real SQL tables for structured queries.
  // Returns the SQL table name. Replaces an existing table for the file.
  virtual common::Result<std::string> StoreTable(const std::string& file_id,
                                                 const common::Table& table) = 0;
};

}  // namespace ragpdf::store
