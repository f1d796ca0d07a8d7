#include "store/sqlite_conn.h"

#include <algorithm>
#include <thread>

namespace ragpdf::store::sqlite {

using common::ErrorCode;
using common::Fail;
using common::Result;

common::Error ToError(int rc, std::string_view what, sqlite3* db) {
  const int primary = rc & 0xff;
  const ErrorCode code = (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
                             ? ErrorCode::kStorageBusy
                             : ErrorCode::kStorageError;
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return common::Error{code, std::move(message)};
}

// --- Statement ---

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (owned_) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(other.stmt_), owned_(other.owned_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Statement& Statement::Bind(int index, std::int64_t value) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ =
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::BindBlob(int index, const void* data, std::size_t size) {
  // A zero-length blob must still be a blob, not NULL.
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ = size == 0 ? sqlite3_bind_zeroblob(stmt_, index, 0)
                         : sqlite3_bind_blob64(stmt_, index, data, size, SQLITE_TRANSIENT);
  }
  return *this;
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

Result<bool> Statement::Step() {
  sqlite3* db = sqlite3_db_handle(stmt_);
  if (bind_rc_ != SQLITE_OK) return Fail(ToError(bind_rc_, "bind", db));
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Fail(ToError(rc, "step", db));
}

Result<void> Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return Fail(row.error());
    if (!*row) return {};
  }
}

std::int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::Text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::span<const std::byte> Statement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) return {};
  return {static_cast<const std::byte*>(data), static_cast<std::size_t>(size)};
}

// --- Connection ---

Result<std::unique_ptr<Connection>> Connection::Open(const ConnectionOptions& options) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    auto error = ToError(rc, "open " + options.path.string(), db);
    sqlite3_close_v2(db);
    return Fail(std::move(error));
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  if (auto ok = conn->ConfigureWal(options.busy_timeout); !ok) return Fail(ok.error());
  if (auto ok = conn->Exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"); !ok) {
    return Fail(ok.error());
  }
  return conn;
}

// Switching to WAL needs an exclusive lock; when several processes open a new
// database at once SQLite may report busy without waiting, so retry until the
// busy timeout.
Result<void> Connection::ConfigureWal(std::chrono::milliseconds busy_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (;;) {
    auto stmt = PrepareUncached("PRAGMA journal_mode=WAL");
    if (!stmt) return Fail(stmt.error());
    auto row = stmt->Step();
    if (row && *row) {
      if (stmt->Text(0) == "wal") return {};
      return Fail(ErrorCode::kStorageError, "cannot enable WAL (journal_mode=" + stmt->Text(0) +
                                                ") on " +
                                                std::string(sqlite3_db_filename(db_, "main")));
    }
    if (row) return Fail(ErrorCode::kStorageError, "journal_mode returned no row");
    if (row.error().code != ErrorCode::kStorageBusy ||
        std::chrono::steady_clock::now() >= deadline) {
      return Fail(row.error());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<Statement> Connection::Prepare(const std::string& sql) {
  if (auto it = statements_.find(sql); it != statements_.end()) {
    return Statement(it->second, /*owned=*/false);
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Fail(ToError(rc, "prepare", db_));
  statements_.emplace(sql, stmt);
  return Statement(stmt, /*owned=*/false);
}

Result<Statement> Connection::PrepareUncached(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return Fail(ToError(rc, "prepare", db_));
  return Statement(stmt, /*owned=*/true);
}

Result<void> Connection::Exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // sqlite3_errmsg below carries the same text
  if (rc != SQLITE_OK) return Fail(ToError(rc, "exec", db_));
  return {};
}

std::int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

// --- Transaction ---

Result<Transaction> Transaction::Begin(Connection& conn, TxnMode mode) {
  auto ok = conn.Exec(mode == TxnMode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  if (!ok) return Fail(ok.error());
  return Transaction(&conn);
}

Transaction::~Transaction() {
  // SQLite may already have rolled back on some errors (e.g. SQLITE_FULL).
  if (conn_ != nullptr && sqlite3_get_autocommit(conn_->handle()) == 0) {
    sqlite3_exec(conn_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Result<void> Transaction::Commit() {
  auto ok = conn_->Exec("COMMIT");
  if (ok) conn_ = nullptr;
  return ok;
}

// --- ConnectionPool ---

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::Open(const ConnectionOptions& options,
                                                             int size) {
  std::unique_ptr<ConnectionPool> pool(new ConnectionPool(options.busy_timeout));
  for (int i = 0; i < std::max(size, 1); ++i) {
    auto conn = Connection::Open(options);
    if (!conn) return Fail(conn.error());
    pool->free_.push_back(conn->get());
    pool->all_.push_back(std::move(*conn));
  }
  return pool;
}

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, wait_, [this] { return !free_.empty(); })) {
    return Fail(ErrorCode::kStorageBusy, "no free database connection");
  }
  Connection* conn = free_.back();
  free_.pop_back();
  return Lease(this, conn);
}

void ConnectionPool::Release(Connection* conn) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(conn);
  }
  cv_.notify_one();
}

ConnectionPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(conn_);
}

}  // namespace ragpdf::store::sqlite
