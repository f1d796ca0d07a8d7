// BlobStore: where raw files and exported embeddings are copied durably, off
// the critical path. The default is a local directory (local_blob_store.h); a
// GCS or S3 implementation can fill the same interface.
//
// Keys are relative paths such as "raw/<file_id>" or
// "embeddings/<file_id>/<model>.f32".
// Thread-safety: all methods are safe to call concurrently (and from several
// processes). Writes are atomic: a reader sees the old object or the new one.
// Blocking: call from a worker pool. Errors: kBlobError (transient; retried by
// the caller), kNotFound from Get/Size for a missing key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace ragpdf::store {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual common::Result<void> PutFile(const std::string& key,
                                       const std::filesystem::path& source) = 0;
  virtual common::Result<void> PutBytes(const std::string& key, std::string_view bytes) = 0;
  // Copies the object to `dest` (overwritten).
  virtual common::Result<void> GetFile(const std::string& key,
                                       const std::filesystem::path& dest) = 0;
  virtual common::Result<bool> Exists(const std::string& key) = 0;
  // Deletes every object whose key starts with `prefix`. Idempotent.
  virtual common::Result<void> DeletePrefix(const std::string& prefix) = 0;
};

}  // namespace ragpdf::store
