// SqliteStore: MetadataStore on SQLite (WAL mode) for one machine. Several
// processes (`ragpdf --workers N`) may open the same files at once: schema
// creation is guarded by BEGIN IMMEDIATE + PRAGMA user_version, and every
// write transaction starts with BEGIN IMMEDIATE so writers queue on the busy
// timeout instead of deadlocking. Cross-process single flight of ingestion
// relies on the lease columns of `file_models` (see TryClaim).
//
// Two database files: `db_path` holds files, owners, per-model state, chunks
// (+ FTS5 index), vectors and tasks; `tabular_db_path` holds one real SQL
// table per CSV/TSV/XLSX file plus a registry, as the Python service kept it.
//
// Ownership: app/ creates one per process; it owns its connection pools.
// Thread-safety: all methods are thread-safe (each call borrows one pooled
// connection). Never carry an open store across fork(): open it in the child.
// Errors: kStorageBusy (locked past the busy timeout, or no free pooled
// connection within it; transient), kStorageError (other SQLite failures),
// kNotFound (AddOwner/TryClaim on an unknown file), kInterrupted (lease
// lost), kInternal (illegal status transition or malformed commit),
// kBadRequest (StoreTable with a non-hex file id), kInvalidTable (StoreTable
// with an empty header, ragged rows, or more than max_table_rows rows /
// kMaxTableColumns columns: the file is unusable as a table, not a transient
// failure).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "store/metadata_store.h"

namespace ragpdf::store {

namespace sqlite {
class ConnectionPool;
}

struct SqliteStoreOptions {
  std::filesystem::path db_path;          // e.g. <data>/ragpdf.db
  std::filesystem::path tabular_db_path;  // e.g. <data>/tabular_data.db
  int pool_size = 4;                      // connections per process (main database)
  std::chrono::milliseconds busy_timeout{5000};
  std::size_t max_table_rows = 1'000'000;
};

class SqliteStore : public MetadataStore {
 public:
  static constexpr std::size_t kMaxTableColumns = 1000;  // SQLite allows 2000
  static constexpr int kMaxSearchTerms = 64;
  static constexpr int kMaxSearchLimit = 1000;

  // Opens or creates both databases and brings their schema up to date.
  static common::Result<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);
  ~SqliteStore() override;

  common::Result<FileRecord> UpsertFile(const FileRecord& file) override;
  common::Result<std::optional<FileRecord>> GetFile(const std::string& file_id) override;
  common::Result<void> AddOwner(const std::string& file_id, const std::string& username) override;
  common::Result<int> RemoveOwner(const std::string& file_id, const std::string& username) override;
  common::Result<std::vector<std::string>> ListOwners(const std::string& file_id) override;

  common::Result<std::optional<ModelState>> GetState(const std::string& file_id,
                                                     const std::string& model) override;
  common::Result<std::vector<ModelState>> ListStates(const std::string& file_id) override;
  // kNotFound when the file was never upserted.
  common::Result<ClaimResult> TryClaim(const std::string& file_id, const std::string& model,
                                       const std::string& worker_id,
                                       std::chrono::milliseconds lease) override;
  // The lease counts as held while the row is in_progress under `worker_id`,
  // even past its expiry: only another worker's TryClaim takes it away.
  common::Result<void> RenewLease(const std::string& file_id, const std::string& model,
                                  const std::string& worker_id,
                                  std::chrono::milliseconds lease) override;
  // kInternal unless chunk i has chunk_index i and vectors.size() ==
  // chunks.size() * dimension.
  common::Result<void> CommitIndex(const IndexCommit& commit) override;
  // Also drops the (file, model)'s not-yet-done tasks: they refer to the index
  // that was just removed.
  common::Result<void> MarkError(const std::string& file_id, const std::string& model,
                                 const common::Error& error) override;
  common::Result<void> MarkCompleted(const std::string& file_id, const std::string& model) override;
  common::Result<std::vector<ModelState>> ListExpiredLeases() override;

  common::Result<std::optional<VectorSet>> LoadVectors(const std::string& file_id,
                                                       const std::string& model) override;
  // At most kMaxSearchTerms words of `query` are used; limit is capped at
  // kMaxSearchLimit.
  common::Result<std::vector<KeywordHit>> KeywordSearch(const std::string& query,
                                                        const std::vector<std::string>& file_ids,
                                                        const std::string& model,
                                                        int limit) override;
  common::Result<std::vector<ChunkRecord>> GetChunks(const std::string& model,
                                                     const std::vector<ChunkKey>& keys) override;

  // Re-claiming a task whose lease expired counts as a failed attempt.
  common::Result<std::optional<Task>> ClaimTask(const std::string& worker_id,
                                                std::chrono::milliseconds lease) override;
  // Marks the task done (kept until its file is deleted). Unknown ids are a
  // no-op: DeleteFile may have removed the task while it ran.
  common::Result<void> CompleteTask(std::int64_t task_id) override;
  common::Result<void> RetryTask(std::int64_t task_id, std::chrono::milliseconds delay,
                                 const std::string& error) override;
  common::Result<int> PendingTasks(const std::string& file_id, const std::string& model) override;

  // One transaction on the main database, then one on the tabular database
  // (separate files cannot commit atomically together; a failure in the
  // second leaves only an orphan table, removed when the call is retried).
  common::Result<void> DeleteFile(const std::string& file_id) override;

  // Table `t_<first 16 hex chars of file_id>` in the tabular database, every
  // column TEXT, names from SanitizeColumnNames (sql_text.h); registered in
  // `table_registry` with the column names as a JSON array.
  common::Result<std::string> StoreTable(const std::string& file_id,
                                         const common::Table& table) override;

 private:
  SqliteStore(SqliteStoreOptions options, std::unique_ptr<sqlite::ConnectionPool> main,
              std::unique_ptr<sqlite::ConnectionPool> tabular);

  SqliteStoreOptions options_;
  std::unique_ptr<sqlite::ConnectionPool> main_;
  std::unique_ptr<sqlite::ConnectionPool> tabular_;
};

}  // namespace ragpdf::store
