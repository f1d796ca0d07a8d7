#include "store/local_blob_store.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ragpdf::store {
namespace {

namespace fs = std::filesystem;
using common::ErrorCode;
using common::Fail;
using common::Result;

constexpr std::size_t kCopyBufferSize = 1 << 20;

common::Error IoError(const std::string& what, int err) {
  return common::Error{ErrorCode::kBlobError, what + ": " + std::strerror(err)};
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now so a failing close (deferred write error) is reported.
  Result<void> Close(const std::string& what) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Fail(IoError("close " + what, errno));
    return {};
  }

 private:
  int fd_;
};

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/';
}

// Checks the key rules of local_blob_store.h; a prefix may end with '/'.
Result<void> ValidateKey(std::string_view key, bool is_prefix) {
  auto bad = [&](const char* why) {
    return Fail(ErrorCode::kBadRequest,
                std::string("invalid blob key '") + std::string(key.substr(0, 100)) + "': " + why);
  };
  if (key.empty()) return bad("empty");
  if (key.size() > LocalBlobStore::kMaxKeyLength) return bad("too long");
  for (char c : key) {
    if (!IsKeyChar(c)) return bad("only [A-Za-z0-9._/-] allowed");
  }
  if (is_prefix && key.back() == '/') key.remove_suffix(1);
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return bad("empty, '.' or '..' component");
    if (end == key.size()) return {};
    start = end + 1;
  }
}

Result<void> WriteAll(int fd, const char* data, std::size_t size, const std::string& what) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(IoError("write " + what, errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

// Appends everything readable from `in` to `out`.
Result<void> CopyFd(int in, int out, const std::string& what) {
  std::vector<char> buffer(kCopyBufferSize);
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(IoError("read " + what, errno));
    }
    if (n == 0) return {};
    if (auto ok = WriteAll(out, buffer.data(), static_cast<std::size_t>(n), what); !ok) return ok;
  }
}

Result<void> FsyncDir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Fail(IoError("open " + dir.string(), errno));
  if (::fsync(fd.get()) != 0) return Fail(IoError("fsync " + dir.string(), errno));
  return {};
}

// Unique within the host: pid + per-process counter. '~' never occurs in keys.
fs::path TempPathFor(const fs::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  return target.parent_path() / (target.filename().string() + "~" + std::to_string(::getpid()) +
                                 "-" + std::to_string(counter.fetch_add(1)));
}

// Writes `target` atomically: `fill(fd)` writes a temp file beside it, which
// is renamed over `target`. `durable` adds the fsyncs that make the new
// content survive a crash.
template <typename Fill>
Result<void> AtomicWrite(const fs::path& target, bool durable, Fill&& fill) {
  const fs::path dir = target.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kBlobError, "mkdir " + dir.string() + ": " + ec.message());
  const fs::path temp = TempPathFor(target);
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Fail(IoError("create " + temp.string(), errno));
  auto written = [&]() -> Result<void> {
    if (auto ok = fill(fd.get()); !ok) return ok;
    if (durable && ::fsync(fd.get()) != 0) return Fail(IoError("fsync " + temp.string(), errno));
    if (auto ok = fd.Close(temp.string()); !ok) return ok;
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      return Fail(IoError("rename to " + target.string(), errno));
    }
    return {};
  }();
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  return durable ? FsyncDir(dir) : Result<void>{};
}

// Runs `fn`, turning an escaping exception (bad_alloc, filesystem) into kBlobError.
template <typename F>
auto Guard(F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kBlobError, std::string("blob store: ") + e.what());
  }
}

}  // namespace

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Open(std::filesystem::path root) {
  return Guard([&]() -> Result<std::unique_ptr<LocalBlobStore>> {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) return Fail(ErrorCode::kBlobError, "mkdir " + root.string() + ": " + ec.message());
    return std::unique_ptr<LocalBlobStore>(new LocalBlobStore(std::move(root)));
  });
}

Result<void> LocalBlobStore::PutBytes(const std::string& key, std::string_view bytes) {
  return Guard([&]() -> Result<void> {
    if (auto ok = ValidateKey(key, /*is_prefix=*/false); !ok) return ok;
    return AtomicWrite(root_ / key, /*durable=*/true,
                       [&](int fd) { return WriteAll(fd, bytes.data(), bytes.size(), key); });
  });
}

Result<void> LocalBlobStore::PutFile(const std::string& key, const std::filesystem::path& source) {
  return Guard([&]() -> Result<void> {
    if (auto ok = ValidateKey(key, /*is_prefix=*/false); !ok) return ok;
    Fd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
      if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "no source file " + source.string());
      return Fail(IoError("open " + source.string(), errno));
    }
    return AtomicWrite(root_ / key, /*durable=*/true,
                       [&](int fd) { return CopyFd(in.get(), fd, key); });
  });
}

Result<void> LocalBlobStore::GetFile(const std::string& key, const std::filesystem::path& dest) {
  return Guard([&]() -> Result<void> {
    if (auto ok = ValidateKey(key, /*is_prefix=*/false); !ok) return ok;
    const fs::path path = root_ / key;
    Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
      if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "no blob " + key);
      return Fail(IoError("open " + path.string(), errno));
    }
    // `dest` is a working copy (the blob is the durable one): atomic, no fsync.
    return AtomicWrite(dest, /*durable=*/false,
                       [&](int fd) { return CopyFd(in.get(), fd, dest.string()); });
  });
}

Result<bool> LocalBlobStore::Exists(const std::string& key) {
  return Guard([&]() -> Result<bool> {
    if (auto ok = ValidateKey(key, /*is_prefix=*/false); !ok) return Fail(ok.error());
    struct stat st {};
    if (::stat((root_ / key).c_str(), &st) == 0) {
      const bool regular = S_ISREG(st.st_mode);
      return regular;
    }
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return Fail(IoError("stat " + key, errno));
  });
}

Result<void> LocalBlobStore::DeletePrefix(const std::string& prefix) {
  return Guard([&]() -> Result<void> {
    if (auto ok = ValidateKey(prefix, /*is_prefix=*/true); !ok) return ok;
    std::error_code ec;
    if (prefix.back() == '/') {
      // Every key under a directory prefix lives in that directory.
      fs::remove_all(root_ / prefix.substr(0, prefix.size() - 1), ec);
      if (ec) return Fail(ErrorCode::kBlobError, "delete " + prefix + ": " + ec.message());
      return {};
    }
    const fs::path full = root_ / prefix;
    const std::string name = full.filename().string();
    fs::directory_iterator it(full.parent_path(), ec);
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return {};
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (!it->path().filename().string().starts_with(name)) continue;
      if (fs::remove_all(it->path(), ec); ec) break;
    }
    if (ec) return Fail(ErrorCode::kBlobError, "delete " + prefix + ": " + ec.message());
    return {};
  });
}

}  // namespace ragpdf::store
