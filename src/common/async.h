// Small building blocks for Boost.Asio coroutines.
//
// - Offload(): run blocking or CPU-heavy work on a thread pool and resume the
//   awaiting coroutine on its own executor. The I/O threads never block on it.
// - AsyncSemaphore: bounds concurrent work without blocking a thread per
//   waiter; the limit can be changed at run time (adaptive pools).
// - TaskGroup: owns detached background coroutines so shutdown can wait for
//   them (cancel by closing what they wait on, then Join()).
// - WhenAll(): await several coroutines concurrently on one executor.
//   Single-executor only: the tasks' executor must be single-threaded (the
//   server runs its I/O context on one thread).
//
// Thread-safety: AsyncSemaphore and TaskGroup are safe to use from any thread.
// GCC 12 pitfall (PR-level bug, reproduced here): a lambda temporary written
// inside a co_await expression is destroyed twice. Lambdas passed to
// Offload() and friends in a co_await must capture only trivially
// destructible things: `this`, pointers, numbers and references (the awaiting
// coroutine's frame outlives the call). Never capture strings or smart
// pointers by value there.
// Lifetime: the io_context that awaits must outlive every Offload() in flight;
// shut down by joining the pools before destroying the io_context.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ragpdf::common {

namespace asio = boost::asio;

// Runs `f()` on `pool` and returns its (non-void) result to the caller's
// executor. `f` must not throw: return errors as values.
template <typename Executor, typename F, typename R = std::invoke_result_t<F&>>
requires(!std::is_void_v<R>) asio::awaitable<R> Offload(Executor pool, F f) {
  auto initiate = [pool](auto handler, F fn) mutable {
    auto caller = asio::prefer(asio::get_associated_executor(handler),
                               asio::execution::outstanding_work.tracked);
    asio::post(pool, [handler = std::move(handler), fn = std::move(fn), caller]() mutable {
      R result = fn();
      asio::post(caller, [handler = std::move(handler), result = std::move(result)]() mutable {
        std::move(handler)(std::move(result));
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(R)>(
      std::move(initiate), asio::use_awaitable, std::move(f));
}

class AsyncSemaphore {
 public:
  explicit AsyncSemaphore(std::size_t limit) : limit_(limit) {}

  // Waits for a permit; pair with Release() (or use Permit below).
  asio::awaitable<void> Acquire();
  // Takes a permit only if one is free now.
  bool TryAcquire();
  void Release();
  // Changes the limit; permits held above a lowered limit drain naturally.
  void SetLimit(std::size_t limit);

  std::size_t limit() const;
  std::size_t in_use() const;
  std::size_t waiting() const;

 private:
  using Waiter = std::function<void()>;
  void WakeLocked(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mu_;
  std::size_t limit_;
  std::size_t in_use_ = 0;
  std::deque<Waiter> waiters_;
};

// RAII permit: releases on destruction.
class SemaphorePermit {
 public:
  explicit SemaphorePermit(AsyncSemaphore& sem) : sem_(&sem) {}
  SemaphorePermit(SemaphorePermit&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
  SemaphorePermit(const SemaphorePermit&) = delete;
  SemaphorePermit& operator=(const SemaphorePermit&) = delete;
  ~SemaphorePermit() {
    if (sem_) sem_->Release();
  }

 private:
  AsyncSemaphore* sem_;
};

inline asio::awaitable<SemaphorePermit> AcquirePermit(AsyncSemaphore& sem) {
  co_await sem.Acquire();
  co_return SemaphorePermit(sem);
}

// Tracks detached coroutines. Spawn() starts one; Join() waits until all have
// finished. Coroutines should watch `stopping()` (or a cancelled timer) and
// return promptly once Stop() was called.
class TaskGroup {
 public:
  explicit TaskGroup(asio::any_io_executor ex) : ex_(std::move(ex)) {}

  template <typename Awaitable>
  void Spawn(Awaitable task) {
    count_.fetch_add(1);
    asio::co_spawn(ex_, std::move(task), [this](std::exception_ptr) { Done(); });
  }
  void Stop() { stopping_.store(true); }
  bool stopping() const { return stopping_.load(); }
  std::size_t active() const { return count_.load(); }
  // Waits (without blocking a thread) until no task is running.
  asio::awaitable<void> Join();

 private:
  void Done();

  asio::any_io_executor ex_;
  std::atomic<std::size_t> count_{0};
  std::atomic<bool> stopping_{false};
};

// Sleeps without blocking the thread.
asio::awaitable<void> SleepFor(std::chrono::milliseconds d);

// Runs all `tasks` concurrently on the caller's executor and returns their
// results in order once every one has finished. Tasks must not throw.
template <typename T>
asio::awaitable<std::vector<T>> WhenAll(std::vector<asio::awaitable<T>> tasks) {
  auto ex = co_await asio::this_coro::executor;
  auto results = std::make_shared<std::vector<std::optional<T>>>(tasks.size());
  auto remaining = std::make_shared<std::size_t>(tasks.size());
  auto done = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(
        ex,
        [](asio::awaitable<T> task, std::shared_ptr<std::vector<std::optional<T>>> out,
           std::size_t index) -> asio::awaitable<void> {
          (*out)[index] = co_await std::move(task);
        }(std::move(tasks[i]), results, i),
        [remaining, done](std::exception_ptr) {
          if (--*remaining == 0) done->cancel();
        });
  }
  if (*remaining > 0) {
    boost::system::error_code ec;
    co_await done->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  std::vector<T> out;
  out.reserve(results->size());
  for (auto& r : *results) out.push_back(std::move(*r));
  co_return out;
}

}  // namespace ragpdf::common
