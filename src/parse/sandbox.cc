#include "parse/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "parse/worker_protocol.h"

extern char** environ;

namespace ragpdf::parse::internal {
namespace {

using common::ErrorCode;
using common::Fail;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string ErrnoText(int error) { return std::strerror(error); }

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Owns a running worker: on every path out of a parse the child is either
// reaped already or killed and reaped here, so no orphan or zombie remains.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }

  // The wait status once the child has exited; nullopt past `deadline`.
  std::optional<int> WaitUntil(Clock::time_point deadline) {
    for (milliseconds pause{1};; pause = std::min(pause * 2, milliseconds{20})) {
      int status = 0;
      const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
      if (reaped == pid_) {
        pid_ = -1;
        return status;
      }
      if (reaped < 0 && errno == ECHILD) {
        // SIGCHLD is ignored by the process: the kernel reaped the child and
        // its status is lost; the frame it wrote decides.
        pid_ = -1;
        return 0;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(pause);
    }
  }

 private:
  pid_t pid_;
};

// Starts `args` with stdout on `stdout_fd`, stdin and stderr on /dev/null,
// every other descriptor closed and signal handling back to defaults.
common::Result<pid_t> Spawn(const std::vector<std::string>& args, int stdout_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attr, &signals);
  for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&signals, signal);
  }
  posix_spawnattr_setsigdefault(&attr, &signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Fail(ErrorCode::kParseFailed,
                "cannot start parse worker " + args[0] + ": " + ErrnoText(rc));
  }
  return pid;
}

common::Error Timeout(milliseconds timeout) {
  return {ErrorCode::kParseTimeout,
          "PDF parsing took longer than " + std::to_string(timeout.count()) + " ms"};
}

// Everything the child writes until it closes its stdout.
common::Result<std::string> ReadUntilEof(int fd, Clock::time_point deadline,
                                         std::uint64_t max_bytes, milliseconds timeout) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Fail(Timeout(timeout));
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (ready < 0 && errno != EINTR) {
      return Fail(ErrorCode::kParseFailed, "poll on parse worker failed: " + ErrnoText(errno));
    }
    if (ready <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Fail(ErrorCode::kParseFailed, "read from parse worker failed: " + ErrnoText(errno));
    }
    if (n == 0) return out;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return Fail(ErrorCode::kParseFailed, "parse worker wrote more than the result limit");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = ::sigabbrev_np(signal);
    return "parse worker was killed by signal " + std::to_string(signal) +
           (name ? std::string(" (SIG") + name + ")" : std::string());
  }
  return "parse worker exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

common::Result<common::ParsedFile> ParsePdfInWorker(const std::filesystem::path& path,
                                                    const ParseOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Fail(ErrorCode::kParseFailed, "cannot create a pipe: " + ErrnoText(errno));
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const std::vector<std::string> args = {options.worker_executable.string(),
                                         "parse-worker",
                                         path.string(),
                                         std::to_string(options.max_pages),
                                         std::to_string(options.max_text_bytes),
                                         std::to_string(options.max_memory_bytes)};
  auto pid = Spawn(args, write_end.get());
  write_end.Reset();  // the child holds the only write end: EOF when it exits
  if (!pid) return Fail(pid.error());
  Child child(*pid);

  auto frame = ReadUntilEof(read_end.get(), deadline, MaxFrameBytes(options), options.timeout);
  if (!frame) return Fail(frame.error());
  const std::optional<int> status = child.WaitUntil(deadline);
  if (!status) return Fail(Timeout(options.timeout));
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return Fail(ErrorCode::kParseFailed, DescribeExit(*status));
  }
  return DecodeWorkerResult(*frame, options);
}

}  // namespace ragpdf::parse::internal
