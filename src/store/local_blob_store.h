// LocalBlobStore: BlobStore on a local directory; a key is a relative path
// below the root. Keys must be non-empty, at most kMaxKeyLength bytes, use
// only [A-Za-z0-9._/-], and have no empty, "." or ".." component and no
// leading or trailing '/' (else kBadRequest), so no key escapes the root.
//
// Writes are atomic and durable: the bytes go to a temporary file in the
// target directory (named with a '~', which keys cannot contain, so a temp
// file never looks like an object), are fsynced, renamed over the key, and
// the directory is fsynced.
//
// Ownership: app/ creates one per process. Thread-safety: all methods are
// safe to call concurrently, also from several processes sharing the root.
// Errors: kBadRequest (invalid key), kNotFound (GetFile on a missing key,
// PutFile from a missing source), kBlobError (any other I/O failure;
// transient).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "store/blob_store.h"

namespace ragpdf::store {

class LocalBlobStore : public BlobStore {
 public:
  static constexpr std::size_t kMaxKeyLength = 1024;

  // Creates `root` if needed.
  static common::Result<std::unique_ptr<LocalBlobStore>> Open(std::filesystem::path root);

  common::Result<void> PutFile(const std::string& key,
                               const std::filesystem::path& source) override;
  common::Result<void> PutBytes(const std::string& key, std::string_view bytes) override;
  common::Result<void> GetFile(const std::string& key, const std::filesystem::path& dest) override;
  common::Result<bool> Exists(const std::string& key) override;
  // `prefix` follows the key rules, except that it may end with '/'.
  common::Result<void> DeletePrefix(const std::string& prefix) override;

  const std::filesystem::path& root() const { return root_; }

 private:
  explicit LocalBlobStore(std::filesystem::path root) : root_(std::move(root)) {}

  std::filesystem::path root_;
};

}  // namespace ragpdf::store
