#include "embed/local/bert_thread_pool.h"

#include <cassert>
#include <chrono>

namespace ragpdf::embed::local {
namespace {

constexpr std::uint64_t kFieldMask = (1u << 24) - 1;
constexpr auto kIdleSpin = std::chrono::microseconds(200);

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { WorkerLoop(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  wake_.fetch_add(1);
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::RunErased(int tasks, void* fn, Call call) {
  assert(tasks >= 0 && static_cast<std::uint64_t>(tasks) <= kFieldMask);
  if (tasks == 0) return;
  if (workers_.empty() || tasks == 1) {
    for (int task = 0; task < tasks; ++task) call(fn, task, 0);
    return;
  }
  fn_ = fn;
  call_ = call;
  remaining_.store(tasks, std::memory_order_relaxed);
  generation_ = (generation_ + 1) & 0xffff;
  state_.store(
      (static_cast<std::uint64_t>(generation_) << 48) | (static_cast<std::uint64_t>(tasks) << 24),
      std::memory_order_release);
  wake_.fetch_add(1);
  if (sleepers_.load() > 0) wake_.notify_all();
  Work(0);
  for (int spins = 0; remaining_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4096) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::Work(int thread) {
  std::uint64_t state = state_.load(std::memory_order_acquire);
  while (true) {
    const std::uint64_t tasks = (state >> 24) & kFieldMask;
    const std::uint64_t next = state & kFieldMask;
    if (next >= tasks) return;
    if (!state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;
    }
    // The claim succeeded on the current job, which cannot finish before
    // this task does: fn_ and call_ are that job's.
    call_(fn_, static_cast<int>(next), thread);
    remaining_.fetch_sub(1, std::memory_order_acq_rel);
    state = state_.load(std::memory_order_acquire);
  }
}

void ThreadPool::WorkerLoop(int thread) {
  std::uint32_t seen = 0;
  while (true) {
    const auto spin_until = std::chrono::steady_clock::now() + kIdleSpin;
    std::uint32_t current = wake_.load();
    for (int spins = 0; current == seen; ++spins) {
      CpuRelax();
      if ((spins & 63) == 63 && std::chrono::steady_clock::now() > spin_until) {
        sleepers_.fetch_add(1);
        wake_.wait(seen);
        sleepers_.fetch_sub(1);
      }
      current = wake_.load();
    }
    seen = current;
    if (stop_.load()) return;
    Work(thread);
  }
}

}  // namespace ragpdf::embed::local
