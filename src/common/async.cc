#include "common/async.h"

#include <boost/asio/this_coro.hpp>

namespace ragpdf::common {

asio::awaitable<void> AsyncSemaphore::Acquire() {
  auto initiate = [this](auto handler) {
    std::unique_lock lock(mu_);
    if (in_use_ < limit_ && waiters_.empty()) {
      ++in_use_;
      lock.unlock();
      auto ex = asio::get_associated_executor(handler);
      asio::post(ex, std::move(handler));
      return;
    }
    auto ex = asio::prefer(asio::get_associated_executor(handler),
                           asio::execution::outstanding_work.tracked);
    // std::function needs a copyable callable; the handler is move-only.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    waiters_.emplace_back([shared, ex]() mutable { asio::post(ex, std::move(*shared)); });
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(std::move(initiate),
                                                                       asio::use_awaitable);
}

bool AsyncSemaphore::TryAcquire() {
  std::lock_guard lock(mu_);
  if (in_use_ < limit_ && waiters_.empty()) {
    ++in_use_;
    return true;
  }
  return false;
}

void AsyncSemaphore::Release() {
  std::unique_lock lock(mu_);
  --in_use_;
  WakeLocked(lock);
}

void AsyncSemaphore::SetLimit(std::size_t limit) {
  std::unique_lock lock(mu_);
  limit_ = limit;
  WakeLocked(lock);
}

void AsyncSemaphore::WakeLocked(std::unique_lock<std::mutex>& lock) {
  std::deque<Waiter> ready;
  while (!waiters_.empty() && in_use_ < limit_) {
    ++in_use_;
    ready.push_back(std::move(waiters_.front()));
    waiters_.pop_front();
  }
  lock.unlock();
  for (auto& w : ready) w();
}

std::size_t AsyncSemaphore::limit() const {
  std::lock_guard lock(mu_);
  return limit_;
}
std::size_t AsyncSemaphore::in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}
std::size_t AsyncSemaphore::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void TaskGroup::Done() { count_.fetch_sub(1); }

asio::awaitable<void> TaskGroup::Join() {
  while (count_.load() > 0) co_await SleepFor(std::chrono::milliseconds(10));
}

asio::awaitable<void> SleepFor(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace ragpdf::common
