#include "store/sqlite_store.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>
#include <utility>

#include <boost/json.hpp>

#include "common/hash.h"
#include "store/sql_text.h"
#include "store/sqlite_conn.h"

// Propagate an error value from `expr` (a Result) out of the enclosing function.
#define STORE_RETURN_IF_ERROR(expr)                                    \
  do {                                                                 \
    if (auto store_result_ = (expr); !store_result_) {                 \
      return ::ragpdf::common::Fail(std::move(store_result_).error()); \
    }                                                                  \
  } while (false)

namespace ragpdf::store {
namespace {

using common::ErrorCode;
using common::Fail;
using common::FileStatus;
using common::Result;
using sqlite::Connection;
using sqlite::ConnectionPool;
using sqlite::Statement;

// Vectors are stored as raw float32 little-endian; memcpy is only correct on
// little-endian hosts.
static_assert(std::endian::native == std::endian::little, "vector blobs assume little-endian");
static_assert(sizeof(float) == 4);

constexpr int kSchemaVersion = 1;

// Chunks are immutable (replaced by delete + insert), so insert and delete
// triggers keep the external-content FTS index in sync on every path.
constexpr const char* kMainSchema = R"sql(
CREATE TABLE IF NOT EXISTS files(
  file_id TEXT PRIMARY KEY,
  filename TEXT NOT NULL,
  format TEXT NOT NULL,
  kind TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS owners(
  file_id TEXT NOT NULL REFERENCES files(file_id),
  username TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY(file_id, username)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_models(
  file_id TEXT NOT NULL REFERENCES files(file_id),
  model TEXT NOT NULL,
  status TEXT NOT NULL,
  pages INTEGER NOT NULL DEFAULT 0,
  chunks INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error_message TEXT,
  worker_id TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY(file_id, model));
CREATE INDEX IF NOT EXISTS file_models_by_lease ON file_models(status, lease_expires_ms);
CREATE TABLE IF NOT EXISTS chunks(
  id INTEGER PRIMARY KEY,
  file_id TEXT NOT NULL,
  model TEXT NOT NULL,
  chunk_index INTEGER NOT NULL,
  text TEXT NOT NULL,
  page_start INTEGER NOT NULL,
  page_end INTEGER NOT NULL,
  token_count INTEGER NOT NULL,
  UNIQUE(file_id, model, chunk_index),
  FOREIGN KEY(file_id, model) REFERENCES file_models(file_id, model));
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
  text, content='chunks', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE IF NOT EXISTS vectors(
  file_id TEXT NOT NULL,
  model TEXT NOT NULL,
  dimension INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY(file_id, model),
  FOREIGN KEY(file_id, model) REFERENCES file_models(file_id, model));
CREATE TABLE IF NOT EXISTS tasks(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  file_id TEXT NOT NULL REFERENCES files(file_id),
  model TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  run_after_ms INTEGER NOT NULL,
  worker_id TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks(status, run_after_ms);
CREATE INDEX IF NOT EXISTS tasks_by_file ON tasks(file_id, model, status);
)sql";

constexpr const char* kTabularSchema = R"sql(
CREATE TABLE IF NOT EXISTS table_registry(
  file_id TEXT PRIMARY KEY,
  table_name TEXT NOT NULL,
  columns TEXT NOT NULL,
  source_header TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL);
)sql";

constexpr const char* kStateColumns =
    "file_id, model, status, pages, chunks, error_code, error_message, worker_id, "
    "lease_expires_ms, updated_at_ms";

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StatusName(FileStatus status) { return std::string(common::FileStatusName(status)); }

// Prepares a cached statement and binds `args` to parameters 1..n.
template <typename... Args>
Result<Statement> Query(Connection& conn, const std::string& sql, const Args&... args) {
  auto stmt = conn.Prepare(sql);
  if (!stmt) return stmt;
  int index = 0;
  (stmt->Bind(++index, args), ...);
  return stmt;
}

template <typename... Args>
Result<void> Exec(Connection& conn, const std::string& sql, const Args&... args) {
  auto stmt = Query(conn, sql, args...);
  if (!stmt) return Fail(stmt.error());
  return stmt->Run();
}

// A single-value query (count(*), existence, one text); nullopt when there is
// no row. T is std::int64_t or std::string.
template <typename T, typename... Args>
Result<std::optional<T>> QueryOne(Connection& conn, const std::string& sql, const Args&... args) {
  auto stmt = Query(conn, sql, args...);
  if (!stmt) return Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  if (!*row) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    return stmt->Text(0);
  } else {
    return stmt->Int(0);
  }
}

template <typename... Args>
Result<std::optional<std::int64_t>> QueryInt(Connection& conn, const std::string& sql,
                                             const Args&... args) {
  return QueryOne<std::int64_t>(conn, sql, args...);
}

template <typename... Args>
Result<std::optional<std::string>> QueryText(Connection& conn, const std::string& sql,
                                             const Args&... args) {
  return QueryOne<std::string>(conn, sql, args...);
}

Result<void> Migrate(Connection& conn, const char* schema) {
  auto version = QueryInt(conn, "PRAGMA user_version");
  if (!version) return Fail(version.error());
  const std::int64_t current = version->value_or(0);
  if (current > kSchemaVersion) {
    return Fail(ErrorCode::kStorageError, "database schema version " + std::to_string(current) +
                                              " is newer than this binary supports (" +
                                              std::to_string(kSchemaVersion) + ")");
  }
  if (current == kSchemaVersion) return {};
  STORE_RETURN_IF_ERROR(conn.Exec(schema));
  return conn.Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
}

common::FileFormat ParseFormat(std::string_view name) {
  using F = common::FileFormat;
  for (auto f : {F::kPdf, F::kText, F::kMarkdown, F::kCsv, F::kTsv, F::kXlsx}) {
    if (common::FileFormatName(f) == name) return f;
  }
  return F::kUnknown;
}

ErrorCode ParseErrorCode(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    if (common::ErrorCodeName(code) == name) return code;
  }
  return ErrorCode::kInternal;
}

// Reads a row selected with kStateColumns.
ModelState ReadState(const Statement& s) {
  ModelState state;
  state.file_id = s.Text(0);
  state.model = s.Text(1);
  // An unreadable status is treated as error: not searchable, re-claimable.
  state.status = common::ParseFileStatus(s.Text(2)).value_or(FileStatus::kError);
  state.pages = static_cast<int>(s.Int(3));
  state.chunks = static_cast<int>(s.Int(4));
  if (!s.IsNull(5)) state.error = common::Error{ParseErrorCode(s.Text(5)), s.Text(6)};
  state.worker_id = s.Text(7);
  state.lease_expires_ms = s.Int(8);
  state.updated_at_ms = s.Int(9);
  return state;
}

Result<std::optional<ModelState>> SelectState(Connection& conn, const std::string& file_id,
                                              const std::string& model) {
  auto stmt = Query(conn,
                    std::string("SELECT ") + kStateColumns +
                        " FROM file_models WHERE file_id = ?1 AND model = ?2",
                    file_id, model);
  if (!stmt) return Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  if (!*row) return std::nullopt;
  return ReadState(*stmt);
}

template <typename... Args>
Result<std::vector<ModelState>> SelectStates(Connection& conn, const std::string& where,
                                             const Args&... args) {
  auto stmt = Query(
      conn, std::string("SELECT ") + kStateColumns + " FROM file_models WHERE " + where, args...);
  if (!stmt) return Fail(stmt.error());
  std::vector<ModelState> states;
  for (;;) {
    auto row = stmt->Step();
    if (!row) return Fail(row.error());
    if (!*row) return states;
    states.push_back(ReadState(*stmt));
  }
}

Result<std::optional<FileRecord>> SelectFile(Connection& conn, const std::string& file_id) {
  auto stmt = Query(conn,
                    "SELECT file_id, filename, format, kind, size_bytes, created_at_ms "
                    "FROM files WHERE file_id = ?1",
                    file_id);
  if (!stmt) return Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  if (!*row) return std::nullopt;
  FileRecord file;
  file.file_id = stmt->Text(0);
  file.filename = stmt->Text(1);
  file.format = ParseFormat(stmt->Text(2));
  file.kind = stmt->Text(3) == common::FileKindName(common::FileKind::kTabular)
                  ? common::FileKind::kTabular
                  : common::FileKind::kDocument;
  file.size_bytes = stmt->Int(4);
  file.created_at_ms = stmt->Int(5);
  return file;
}

Result<bool> FileExists(Connection& conn, const std::string& file_id) {
  auto found = QueryInt(conn, "SELECT 1 FROM files WHERE file_id = ?1", file_id);
  if (!found) return Fail(found.error());
  return found->has_value();
}

Result<void> CheckTransition(FileStatus from, FileStatus to) {
  if (common::CanTransition(from, to)) return {};
  return Fail(ErrorCode::kInternal,
              "illegal status transition " + StatusName(from) + " -> " + StatusName(to));
}

// Deletes chunks (the trigger removes their FTS rows) and the vector blob.
Result<void> DeleteIndex(Connection& conn, const std::string& file_id, const std::string& model) {
  STORE_RETURN_IF_ERROR(
      Exec(conn, "DELETE FROM chunks WHERE file_id = ?1 AND model = ?2", file_id, model));
  return Exec(conn, "DELETE FROM vectors WHERE file_id = ?1 AND model = ?2", file_id, model);
}

Result<void> ValidateCommit(const IndexCommit& commit) {
  for (std::size_t i = 0; i < commit.chunks.size(); ++i) {
    if (commit.chunks[i].chunk_index != static_cast<int>(i)) {
      return Fail(ErrorCode::kInternal, "commit chunk " + std::to_string(i) + " has chunk_index " +
                                            std::to_string(commit.chunks[i].chunk_index));
    }
  }
  if (commit.dimension < 0 ||
      commit.vectors.size() != commit.chunks.size() * static_cast<std::size_t>(commit.dimension)) {
    return Fail(ErrorCode::kInternal, "commit has " + std::to_string(commit.vectors.size()) +
                                          " floats for " + std::to_string(commit.chunks.size()) +
                                          " chunks of dimension " +
                                          std::to_string(commit.dimension));
  }
  return {};
}

Result<void> InsertIndex(Connection& conn, const IndexCommit& commit, std::int64_t now) {
  for (const auto& chunk : commit.chunks) {
    STORE_RETURN_IF_ERROR(Exec(conn,
                               "INSERT INTO chunks(file_id, model, chunk_index, text, page_start, "
                               "page_end, token_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               commit.file_id, commit.model, chunk.chunk_index, chunk.text,
                               chunk.page_start, chunk.page_end, chunk.token_count));
  }
  auto vectors = Query(conn,
                       "INSERT INTO vectors(file_id, model, dimension, count, data) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
                       commit.file_id, commit.model, commit.dimension,
                       static_cast<std::int64_t>(commit.chunks.size()));
  if (!vectors) return Fail(vectors.error());
  vectors->BindBlob(5, commit.vectors.data(), commit.vectors.size() * sizeof(float));
  STORE_RETURN_IF_ERROR(vectors->Run());
  for (const auto& task : commit.tasks) {
    STORE_RETURN_IF_ERROR(Exec(conn,
                               "INSERT INTO tasks(kind, file_id, model, payload, status, "
                               "run_after_ms, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                               task.kind, commit.file_id, commit.model, task.payload,
                               std::string_view("pending"), now));
  }
  return {};
}

// The next runnable task; `attempts` already counts a holder that died.
Result<std::optional<Task>> SelectRunnableTask(Connection& conn, std::int64_t now) {
  auto stmt = Query(conn,
                    "SELECT id, kind, file_id, model, payload, attempts, status FROM tasks "
                    "WHERE (status = 'pending' AND run_after_ms <= ?1) "
                    "OR (status = 'leased' AND lease_expires_ms <= ?1) "
                    "ORDER BY run_after_ms, id LIMIT 1",
                    now);
  if (!stmt) return Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return Fail(row.error());
  if (!*row) return std::nullopt;
  Task task{stmt->Int(0),  stmt->Text(1), stmt->Text(2),
            stmt->Text(3), stmt->Text(4), static_cast<int>(stmt->Int(5))};
  if (stmt->Text(6) == "leased") ++task.attempts;
  return task;
}

std::string JsonArray(const std::vector<std::string>& values) {
  boost::json::array array;
  for (const auto& v : values) array.emplace_back(v);
  return boost::json::serialize(array);
}

}  // namespace

// --- lifecycle ---

SqliteStore::SqliteStore(SqliteStoreOptions options, std::unique_ptr<ConnectionPool> main,
                         std::unique_ptr<ConnectionPool> tabular)
    : options_(std::move(options)), main_(std::move(main)), tabular_(std::move(tabular)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  try {
    auto main = ConnectionPool::Open({options.db_path, options.busy_timeout}, options.pool_size);
    if (!main) return Fail(main.error());
    STORE_RETURN_IF_ERROR(
        sqlite::Write(**main, [](Connection& c) { return Migrate(c, kMainSchema); }));
    // Tables are written rarely (one per tabular upload): a small pool suffices.
    auto tabular = ConnectionPool::Open({options.tabular_db_path, options.busy_timeout},
                                        std::max(1, options.pool_size / 2));
    if (!tabular) return Fail(tabular.error());
    STORE_RETURN_IF_ERROR(
        sqlite::Write(**tabular, [](Connection& c) { return Migrate(c, kTabularSchema); }));
    return std::unique_ptr<SqliteStore>(
        new SqliteStore(options, std::move(*main), std::move(*tabular)));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("store open: ") + e.what());
  }
}

// --- files and owners ---

Result<FileRecord> SqliteStore::UpsertFile(const FileRecord& file) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<FileRecord> {
    STORE_RETURN_IF_ERROR(Exec(c,
                               "INSERT INTO files(file_id, filename, format, kind, size_bytes, "
                               "created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                               "ON CONFLICT(file_id) DO NOTHING",
                               file.file_id, file.filename, common::FileFormatName(file.format),
                               common::FileKindName(file.kind), file.size_bytes,
                               file.created_at_ms != 0 ? file.created_at_ms : NowMs()));
    auto stored = SelectFile(c, file.file_id);
    if (!stored) return Fail(stored.error());
    if (!*stored) return Fail(ErrorCode::kInternal, "file vanished after insert");
    return std::move(**stored);
  });
}

Result<std::optional<FileRecord>> SqliteStore::GetFile(const std::string& file_id) {
  return sqlite::Read(*main_, [&](Connection& c) { return SelectFile(c, file_id); });
}

Result<void> SqliteStore::AddOwner(const std::string& file_id, const std::string& username) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<void> {
    auto exists = FileExists(c, file_id);
    if (!exists) return Fail(exists.error());
    if (!*exists) return Fail(ErrorCode::kNotFound, "unknown file " + file_id);
    return Exec(c,
                "INSERT INTO owners(file_id, username, created_at_ms) VALUES (?1, ?2, ?3) "
                "ON CONFLICT DO NOTHING",
                file_id, username, NowMs());
  });
}

Result<int> SqliteStore::RemoveOwner(const std::string& file_id, const std::string& username) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<int> {
    STORE_RETURN_IF_ERROR(
        Exec(c, "DELETE FROM owners WHERE file_id = ?1 AND username = ?2", file_id, username));
    auto count = QueryInt(c, "SELECT count(*) FROM owners WHERE file_id = ?1", file_id);
    if (!count) return Fail(count.error());
    return static_cast<int>(count->value_or(0));
  });
}

Result<std::vector<std::string>> SqliteStore::ListOwners(const std::string& file_id) {
  return sqlite::Read(*main_, [&](Connection& c) -> Result<std::vector<std::string>> {
    auto stmt =
        Query(c, "SELECT username FROM owners WHERE file_id = ?1 ORDER BY username", file_id);
    if (!stmt) return Fail(stmt.error());
    std::vector<std::string> owners;
    for (;;) {
      auto row = stmt->Step();
      if (!row) return Fail(row.error());
      if (!*row) return owners;
      owners.push_back(stmt->Text(0));
    }
  });
}

// --- per-model state and leases ---

Result<std::optional<ModelState>> SqliteStore::GetState(const std::string& file_id,
                                                        const std::string& model) {
  return sqlite::Read(*main_, [&](Connection& c) { return SelectState(c, file_id, model); });
}

Result<std::vector<ModelState>> SqliteStore::ListStates(const std::string& file_id) {
  return sqlite::Read(*main_, [&](Connection& c) {
    return SelectStates(c, "file_id = ?1 ORDER BY model", file_id);
  });
}

Result<ClaimResult> SqliteStore::TryClaim(const std::string& file_id, const std::string& model,
                                          const std::string& worker_id,
                                          std::chrono::milliseconds lease) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<ClaimResult> {
    auto exists = FileExists(c, file_id);
    if (!exists) return Fail(exists.error());
    if (!*exists) return Fail(ErrorCode::kNotFound, "unknown file " + file_id);
    auto state = SelectState(c, file_id, model);
    if (!state) return Fail(state.error());
    const std::int64_t now = NowMs();
    const FileStatus from = *state ? (*state)->status : FileStatus::kNotStarted;
    const bool expired = from == FileStatus::kInProgress && (*state)->lease_expires_ms <= now;
    if (from != FileStatus::kNotStarted && from != FileStatus::kError && !expired) {
      const auto outcome =
          common::CanChat(from) ? ClaimOutcome::kReady : ClaimOutcome::kHeldByOther;
      return ClaimResult{outcome, std::move(**state)};
    }
    STORE_RETURN_IF_ERROR(CheckTransition(from, FileStatus::kInProgress));
    STORE_RETURN_IF_ERROR(Exec(
        c,
        "INSERT INTO file_models(file_id, model, status, worker_id, lease_expires_ms, "
        "updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT(file_id, model) DO UPDATE SET status = excluded.status, pages = 0, "
        "chunks = 0, error_code = NULL, error_message = NULL, worker_id = excluded.worker_id, "
        "lease_expires_ms = excluded.lease_expires_ms, updated_at_ms = excluded.updated_at_ms",
        file_id, model, StatusName(FileStatus::kInProgress), worker_id, now + lease.count(), now));
    auto claimed = SelectState(c, file_id, model);
    if (!claimed) return Fail(claimed.error());
    if (!*claimed) return Fail(ErrorCode::kInternal, "state vanished after claim");
    return ClaimResult{ClaimOutcome::kClaimed, std::move(**claimed)};
  });
}

Result<void> SqliteStore::RenewLease(const std::string& file_id, const std::string& model,
                                     const std::string& worker_id,
                                     std::chrono::milliseconds lease) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<void> {
    const std::int64_t now = NowMs();
    STORE_RETURN_IF_ERROR(Exec(c,
                               "UPDATE file_models SET lease_expires_ms = ?1, updated_at_ms = ?2 "
                               "WHERE file_id = ?3 AND model = ?4 AND status = ?5 "
                               "AND worker_id = ?6",
                               now + lease.count(), now, file_id, model,
                               StatusName(FileStatus::kInProgress), worker_id));
    if (c.Changes() == 0) {
      return Fail(ErrorCode::kInterrupted, "lease on " + file_id + "/" + model + " lost");
    }
    return {};
  });
}

Result<void> SqliteStore::CommitIndex(const IndexCommit& commit) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<void> {
    STORE_RETURN_IF_ERROR(ValidateCommit(commit));
    auto state = SelectState(c, commit.file_id, commit.model);
    if (!state) return Fail(state.error());
    if (!*state || (*state)->status != FileStatus::kInProgress ||
        (*state)->worker_id != commit.worker_id) {
      return Fail(ErrorCode::kInterrupted, "lease on " + commit.file_id + "/" + commit.model +
                                               " is no longer held by " + commit.worker_id);
    }
    STORE_RETURN_IF_ERROR(CheckTransition((*state)->status, FileStatus::kReadyForChat));
    const std::int64_t now = NowMs();
    // A crashed earlier attempt cannot have committed, but never leave two copies.
    STORE_RETURN_IF_ERROR(DeleteIndex(c, commit.file_id, commit.model));
    STORE_RETURN_IF_ERROR(InsertIndex(c, commit, now));
    return Exec(c,
                "UPDATE file_models SET status = ?1, pages = ?2, chunks = ?3, error_code = NULL, "
                "error_message = NULL, lease_expires_ms = 0, updated_at_ms = ?4 "
                "WHERE file_id = ?5 AND model = ?6",
                StatusName(FileStatus::kReadyForChat), commit.pages,
                static_cast<std::int64_t>(commit.chunks.size()), now, commit.file_id, commit.model);
  });
}

Result<void> SqliteStore::MarkError(const std::string& file_id, const std::string& model,
                                    const common::Error& error) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<void> {
    auto state = SelectState(c, file_id, model);
    if (!state) return Fail(state.error());
    const FileStatus from = *state ? (*state)->status : FileStatus::kNotStarted;
    STORE_RETURN_IF_ERROR(CheckTransition(from, FileStatus::kError));
    STORE_RETURN_IF_ERROR(DeleteIndex(c, file_id, model));
    STORE_RETURN_IF_ERROR(
        Exec(c, "DELETE FROM tasks WHERE file_id = ?1 AND model = ?2 AND status != 'done'", file_id,
             model));
    return Exec(c,
                "UPDATE file_models SET status = ?1, chunks = 0, error_code = ?2, "
                "error_message = ?3, lease_expires_ms = 0, updated_at_ms = ?4 "
                "WHERE file_id = ?5 AND model = ?6",
                StatusName(FileStatus::kError), common::ErrorCodeName(error.code), error.message,
                NowMs(), file_id, model);
  });
}

Result<void> SqliteStore::MarkCompleted(const std::string& file_id, const std::string& model) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<void> {
    auto state = SelectState(c, file_id, model);
    if (!state) return Fail(state.error());
    const FileStatus from = *state ? (*state)->status : FileStatus::kNotStarted;
    if (from == FileStatus::kCompleted) return {};
    STORE_RETURN_IF_ERROR(CheckTransition(from, FileStatus::kCompleted));
    return Exec(c,
                "UPDATE file_models SET status = ?1, updated_at_ms = ?2 "
                "WHERE file_id = ?3 AND model = ?4",
                StatusName(FileStatus::kCompleted), NowMs(), file_id, model);
  });
}

Result<std::vector<ModelState>> SqliteStore::ListExpiredLeases() {
  return sqlite::Read(*main_, [&](Connection& c) {
    return SelectStates(c, "status = ?1 AND lease_expires_ms <= ?2 ORDER BY lease_expires_ms",
                        StatusName(FileStatus::kInProgress), NowMs());
  });
}

// --- search support ---

Result<std::optional<VectorSet>> SqliteStore::LoadVectors(const std::string& file_id,
                                                          const std::string& model) {
  return sqlite::Read(*main_, [&](Connection& c) -> Result<std::optional<VectorSet>> {
    auto stmt = Query(c,
                      "SELECT dimension, count, data FROM vectors "
                      "WHERE file_id = ?1 AND model = ?2",
                      file_id, model);
    if (!stmt) return Fail(stmt.error());
    auto row = stmt->Step();
    if (!row) return Fail(row.error());
    if (!*row) return std::nullopt;
    VectorSet set{file_id, model, static_cast<int>(stmt->Int(0)), {}};
    const std::int64_t count = stmt->Int(1);
    const auto blob = stmt->Blob(2);
    if (set.dimension < 0 || count < 0 ||
        blob.size() != static_cast<std::size_t>(count) * set.dimension * sizeof(float)) {
      return Fail(ErrorCode::kStorageError, "corrupt vector blob for " + file_id + "/" + model);
    }
    set.data.resize(blob.size() / sizeof(float));
    if (!blob.empty()) std::memcpy(set.data.data(), blob.data(), blob.size());
    return set;
  });
}

Result<std::vector<KeywordHit>> SqliteStore::KeywordSearch(const std::string& query,
                                                           const std::vector<std::string>& file_ids,
                                                           const std::string& model, int limit) {
  return sqlite::Read(*main_, [&](Connection& c) -> Result<std::vector<KeywordHit>> {
    std::vector<KeywordHit> hits;
    const std::string match = BuildFtsQuery(query, kMaxSearchTerms);
    if (match.empty() || file_ids.empty() || limit <= 0) return hits;
    // CROSS JOIN keeps the FTS index as the outer loop: bm25 needs the MATCH
    // cursor to drive, and the file filter is cheap on the joined row.
    auto stmt = Query(c,
                      "SELECT c.file_id, c.chunk_index, bm25(chunks_fts) AS rank "
                      "FROM chunks_fts CROSS JOIN chunks AS c ON c.id = chunks_fts.rowid "
                      "WHERE chunks_fts MATCH ?1 AND c.model = ?2 "
                      "AND c.file_id IN (SELECT value FROM json_each(?3)) "
                      "ORDER BY rank LIMIT ?4",
                      match, model, JsonArray(file_ids), std::min(limit, kMaxSearchLimit));
    if (!stmt) return Fail(stmt.error());
    for (;;) {
      auto row = stmt->Step();
      if (!row) return Fail(row.error());
      if (!*row) return hits;
      hits.push_back({stmt->Text(0), static_cast<int>(stmt->Int(1)), -stmt->Double(2)});
    }
  });
}

Result<std::vector<ChunkRecord>> SqliteStore::GetChunks(const std::string& model,
                                                        const std::vector<ChunkKey>& keys) {
  return sqlite::Read(*main_, [&](Connection& c) -> Result<std::vector<ChunkRecord>> {
    std::vector<ChunkRecord> chunks;
    chunks.reserve(keys.size());
    for (const auto& key : keys) {
      auto stmt = Query(c,
                        "SELECT text, page_start, page_end, token_count FROM chunks "
                        "WHERE file_id = ?1 AND model = ?2 AND chunk_index = ?3",
                        key.file_id, model, key.chunk_index);
      if (!stmt) return Fail(stmt.error());
      auto row = stmt->Step();
      if (!row) return Fail(row.error());
      if (!*row) continue;
      chunks.push_back({key.file_id, model, key.chunk_index, stmt->Text(0),
                        static_cast<int>(stmt->Int(1)), static_cast<int>(stmt->Int(2)),
                        static_cast<int>(stmt->Int(3))});
    }
    return chunks;
  });
}

// --- durable tasks ---

Result<std::optional<Task>> SqliteStore::ClaimTask(const std::string& worker_id,
                                                   std::chrono::milliseconds lease) {
  return sqlite::Write(*main_, [&](Connection& c) -> Result<std::optional<Task>> {
    const std::int64_t now = NowMs();
    auto task = SelectRunnableTask(c, now);
    if (!task || !*task) return task;
    STORE_RETURN_IF_ERROR(Exec(c,
                               "UPDATE tasks SET status = 'leased', worker_id = ?1, "
                               "lease_expires_ms = ?2, attempts = ?3 WHERE id = ?4",
                               worker_id, now + lease.count(), (*task)->attempts, (*task)->id));
    return task;
  });
}

Result<void> SqliteStore::CompleteTask(std::int64_t task_id) {
  return sqlite::Write(*main_, [&](Connection& c) {
    return Exec(c,
                "UPDATE tasks SET status = 'done', worker_id = '', lease_expires_ms = 0 "
                "WHERE id = ?1",
                task_id);
  });
}

Result<void> SqliteStore::RetryTask(std::int64_t task_id, std::chrono::milliseconds delay,
                                    const std::string& error) {
  return sqlite::Write(*main_, [&](Connection& c) {
    return Exec(c,
                "UPDATE tasks SET status = 'pending', attempts = attempts + 1, run_after_ms = ?1, "
                "last_error = ?2, worker_id = '', lease_expires_ms = 0 "
                "WHERE id = ?3 AND status != 'done'",
                NowMs() + delay.count(), error, task_id);
  });
}

Result<int> SqliteStore::PendingTasks(const std::string& file_id, const std::string& model) {
  return sqlite::Read(*main_, [&](Connection& c) -> Result<int> {
    auto count = QueryInt(c,
                          "SELECT count(*) FROM tasks "
                          "WHERE file_id = ?1 AND model = ?2 AND status != 'done'",
                          file_id, model);
    if (!count) return Fail(count.error());
    return static_cast<int>(count->value_or(0));
  });
}

// --- deletion and tables ---

Result<void> SqliteStore::DeleteFile(const std::string& file_id) {
  auto main = sqlite::Write(*main_, [&](Connection& c) -> Result<void> {
    // Children first: foreign keys are checked per statement.
    for (const char* table : {"chunks", "vectors", "tasks", "file_models", "owners", "files"}) {
      STORE_RETURN_IF_ERROR(
          Exec(c, std::string("DELETE FROM ") + table + " WHERE file_id = ?1", file_id));
    }
    return {};
  });
  if (!main) return main;
  return sqlite::Write(*tabular_, [&](Connection& c) -> Result<void> {
    auto table_name =
        QueryText(c, "SELECT table_name FROM table_registry WHERE file_id = ?1", file_id);
    if (!table_name) return Fail(table_name.error());
    if (!*table_name) return {};
    STORE_RETURN_IF_ERROR(c.Exec("DROP TABLE IF EXISTS " + QuoteIdentifier(**table_name)));
    return Exec(c, "DELETE FROM table_registry WHERE file_id = ?1", file_id);
  });
}

Result<std::string> SqliteStore::StoreTable(const std::string& file_id,
                                            const common::Table& table) {
  return sqlite::Write(*tabular_, [&](Connection& c) -> Result<std::string> {
    if (!common::IsFileId(file_id)) {
      return Fail(ErrorCode::kBadRequest, "not a file id: " + file_id.substr(0, 80));
    }
    const std::size_t width = table.header.size();
    if (width == 0 || width > kMaxTableColumns) {
      return Fail(ErrorCode::kInvalidTable, "table has " + std::to_string(width) + " columns; 1.." +
                                                std::to_string(kMaxTableColumns) + " allowed");
    }
    if (table.rows.size() > options_.max_table_rows) {
      return Fail(ErrorCode::kInvalidTable, "table has " + std::to_string(table.rows.size()) +
                                                " rows; the limit is " +
                                                std::to_string(options_.max_table_rows));
    }
    const std::string name = "t_" + file_id.substr(0, 16);
    const std::vector<std::string> columns = SanitizeColumnNames(table.header);
    std::string create = "CREATE TABLE " + QuoteIdentifier(name) + " (";
    std::string insert = "INSERT INTO " + QuoteIdentifier(name) + " VALUES (";
    for (std::size_t i = 0; i < width; ++i) {
      create += (i ? ", " : "") + QuoteIdentifier(columns[i]) + " TEXT";
      insert += i ? ", ?" : "?";
    }
    STORE_RETURN_IF_ERROR(c.Exec("DROP TABLE IF EXISTS " + QuoteIdentifier(name)));
    STORE_RETURN_IF_ERROR(c.Exec(create + ")"));
    auto stmt = c.PrepareUncached(insert + ")");
    if (!stmt) return Fail(stmt.error());
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
      const auto& row = table.rows[r];
      if (row.size() != width) {
        return Fail(ErrorCode::kInvalidTable, "row " + std::to_string(r + 1) + " has " +
                                                  std::to_string(row.size()) + " cells, expected " +
                                                  std::to_string(width));
      }
      stmt->Reset();
      for (std::size_t i = 0; i < width; ++i) stmt->Bind(static_cast<int>(i) + 1, row[i]);
      STORE_RETURN_IF_ERROR(stmt->Run());
    }
    STORE_RETURN_IF_ERROR(Exec(c,
                               "INSERT OR REPLACE INTO table_registry(file_id, table_name, "
                               "columns, source_header, row_count, created_at_ms) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                               file_id, name, JsonArray(columns), JsonArray(table.header),
                               static_cast<std::int64_t>(table.rows.size()), NowMs()));
    return name;
  });
}

}  // namespace ragpdf::store
