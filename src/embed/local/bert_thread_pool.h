// ThreadPool: worker threads that run the tasks of one parallel loop at a
// time together with the calling thread. Tasks are claimed dynamically, so a
// thread that the OS preempts (the machine is shared) only delays the task it
// holds. Idle workers spin briefly (phases of a forward pass follow each
// other within microseconds), then sleep on a futex.
//
// Ownership: owns its threads; the destructor joins them. Thread-safety:
// Run() must be called from one thread at a time and not from inside a task.
// Errors: none.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace ragpdf::embed::local {

class ThreadPool {
 public:
  // `threads` counts the calling thread; 1 means no workers.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, thread) for every task in [0, tasks), thread in
  // [0, size()) naming the thread (for per-thread scratch); returns when all
  // tasks have finished.
  template <typename F>
  void Run(int tasks, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    RunErased(tasks, const_cast<void*>(static_cast<const void*>(&fn)),
              [](void* f, int task, int thread) { (*static_cast<Fn*>(f))(task, thread); });
  }

 private:
  using Call = void (*)(void*, int, int);
  void RunErased(int tasks, void* fn, Call call);
  void WorkerLoop(int thread);
  // Claims and runs tasks of the current job until none is left.
  void Work(int thread);

  // (generation:16 | tasks:24 | next task:24): one word, so that claiming a
  // task also proves it belongs to the job it was published with.
  std::atomic<std::uint64_t> state_{0};
  std::atomic<int> remaining_{0};
  std::atomic<std::uint32_t> wake_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  void* fn_ = nullptr;
  Call call_ = nullptr;
  std::uint32_t generation_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace ragpdf::embed::local
