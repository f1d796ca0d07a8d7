#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "parse/parser.h"
#include "parse/worker_protocol.h"

namespace ragpdf::parse {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitIo = 3;

template <typename T>
std::optional<T> ParseNumber(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Keeps the result channel private: the frame goes to a duplicate of stdout,
// and fd 1 itself points to /dev/null so that nothing a library prints can
// corrupt the frame.
int TakeResultChannel() {
  const int channel = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (channel < 0) return -1;
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDOUT_FILENO);
    ::close(null_fd);
  }
  return channel;
}

void ConfineSelf(std::uint64_t max_memory_bytes) {
  // Die with the thread that spawned us (server crash or restart).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  if (max_memory_bytes > 0) {
    const rlimit memory{max_memory_bytes, max_memory_bytes};
    ::setrlimit(RLIMIT_AS, &memory);
  }
}

}  // namespace

int RunParseWorker(int argc, char** argv) {
  if (argc != 6 || std::string_view(argv[1]) != "parse-worker") {
    std::fprintf(stderr,
                 "usage: %s parse-worker PDF_PATH MAX_PAGES MAX_TEXT_BYTES MAX_MEMORY_BYTES\n",
                 argc > 0 ? argv[0] : "ragpdf");
    return kExitUsage;
  }
  const auto max_pages = ParseNumber<int>(argv[3]);
  const auto max_text_bytes = ParseNumber<std::uint64_t>(argv[4]);
  const auto max_memory_bytes = ParseNumber<std::uint64_t>(argv[5]);
  if (!max_pages || !max_text_bytes || !max_memory_bytes) {
    std::fprintf(stderr, "parse-worker: limits must be non-negative integers\n");
    return kExitUsage;
  }
  const int channel = TakeResultChannel();
  if (channel < 0) return kExitIo;
  ConfineSelf(*max_memory_bytes);

  ParseOptions options;
  options.max_pages = *max_pages;
  options.max_text_bytes = *max_text_bytes;
  const std::string frame = internal::EncodeWorkerResult(ParsePdfInProcess(argv[2], options));
  const bool written = WriteAll(channel, frame);
  ::close(channel);
  return written ? 0 : kExitIo;
}

}  // namespace ragpdf::parse
