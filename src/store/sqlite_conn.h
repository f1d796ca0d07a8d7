// Thin RAII layer over the SQLite C API used by SqliteStore: a connection
// with a per-connection prepared-statement cache, a fixed-size pool of
// connections, and transactions that roll back unless committed.
//
// Ownership: ConnectionPool owns its connections; a Lease borrows one for the
// duration of a scope; a Statement borrows a cached sqlite3_stmt (or owns an
// uncached one) and resets it when destroyed.
// Thread-safety: ConnectionPool::Acquire is thread-safe; a Connection and its
// Statements are used by one thread at a time (whoever holds the Lease).
// Errors: SQLITE_BUSY/SQLITE_LOCKED (after the busy timeout) -> kStorageBusy,
// anything else -> kStorageError carrying sqlite's message.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

#include "common/error.h"

namespace ragpdf::store::sqlite {

common::Error ToError(int rc, std::string_view what, sqlite3* db);

// A prepared statement in use. Binding errors are remembered and reported by
// the next Step/Run, so call sites can chain binds without checking each.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, bool owned) : stmt_(stmt), owned_(owned) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in sqlite3_bind_*.
  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindNull(int index);
  Statement& BindBlob(int index, const void* data, std::size_t size);

  // Clears bindings and rewinds, to run the statement again.
  void Reset();
  // true: a row is available; false: done.
  common::Result<bool> Step();
  // Steps until done (for statements that return no rows).
  common::Result<void> Run();

  // Columns are 0-based, as in sqlite3_column_*.
  std::int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;
  std::span<const std::byte> Blob(int column) const;

 private:
  sqlite3_stmt* stmt_;
  bool owned_;
  int bind_rc_ = SQLITE_OK;
};

struct ConnectionOptions {
  std::filesystem::path path;
  std::chrono::milliseconds busy_timeout{5000};
};

class Connection {
 public:
  // Opens (creating if needed) the database in WAL mode with
  // synchronous=NORMAL, foreign_keys=ON and the busy timeout.
  static common::Result<std::unique_ptr<Connection>> Open(const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A cached statement; `sql` must be a fixed string (it is the cache key).
  common::Result<Statement> Prepare(const std::string& sql);
  // A one-off statement (dynamic SQL such as per-file table names).
  common::Result<Statement> PrepareUncached(const std::string& sql);
  // Runs one or more statements without results.
  common::Result<void> Exec(const std::string& sql);
  std::int64_t Changes() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  common::Result<void> ConfigureWal(std::chrono::milliseconds busy_timeout);

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

enum class TxnMode { kDeferred, kImmediate };

// Rolls back on destruction unless Commit() succeeded.
class Transaction {
 public:
  static common::Result<Transaction> Begin(Connection& conn, TxnMode mode);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  common::Result<void> Commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    ~Lease();
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(other.conn_) {
      other.conn_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    ConnectionPool* pool_;
    Connection* conn_;
  };

  // Opens `size` connections up front so configuration errors surface at startup.
  static common::Result<std::unique_ptr<ConnectionPool>> Open(const ConnectionOptions& options,
                                                              int size);
  // Waits up to the busy timeout for a free connection (else kStorageBusy).
  common::Result<Lease> Acquire();

 private:
  explicit ConnectionPool(std::chrono::milliseconds wait) : wait_(wait) {}
  void Release(Connection* conn);

  std::chrono::milliseconds wait_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Connection*> free_;
};

// Runs `fn(Connection&)` (returning Result<T>) inside a transaction on a
// pooled connection: commits on success, rolls back on an error value or an
// exception (which becomes kInternal). Write transactions use BEGIN IMMEDIATE
// so two writers never deadlock upgrading a read lock.
template <typename F>
auto RunInTransaction(ConnectionPool& pool, TxnMode mode, F&& fn)
    -> std::invoke_result_t<F, Connection&> {
  using R = std::invoke_result_t<F, Connection&>;
  try {
    auto conn = pool.Acquire();
    if (!conn) return common::Fail(conn.error());
    auto txn = Transaction::Begin(**conn, mode);
    if (!txn) return common::Fail(txn.error());
    R result = fn(**conn);
    if (!result) return result;
    if (auto committed = txn->Commit(); !committed) return common::Fail(committed.error());
    return result;
  } catch (const std::exception& e) {
    return common::Fail(common::ErrorCode::kInternal, std::string("store: ") + e.what());
  }
}

template <typename F>
auto Write(ConnectionPool& pool, F&& fn) {
  return RunInTransaction(pool, TxnMode::kImmediate, std::forward<F>(fn));
}

template <typename F>
auto Read(ConnectionPool& pool, F&& fn) {
  return RunInTransaction(pool, TxnMode::kDeferred, std::forward<F>(fn));
}

}  // namespace ragpdf::store::sqlite
