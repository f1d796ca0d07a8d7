// Raw bytes of files being ingested live under <data>/staging/<file_id>/ until
// a background task has copied them to the blob store. A process that takes
// over an interrupted ingest finds them there.
//
// Thread-safety: stateless functions; concurrent callers use distinct
// `holder` names. Blocking (filesystem): call from a worker pool.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/error.h"

namespace ragpdf::ingest {

class Staging {
 public:
  explicit Staging(std::filesystem::path root) : root_(std::move(root)) {}

  // Moves `temp` (same filesystem: rename; otherwise copy + delete) to
  // staging/<file_id>/<holder> and returns the new path.
  common::Result<std::filesystem::path> Stage(const std::filesystem::path& temp,
                                              const std::string& file_id,
                                              const std::string& holder) const;
  // Any staged copy of the file.
  std::optional<std::filesystem::path> Find(const std::string& file_id) const;
  // Removes one staged copy, and the file's directory when it is empty.
  void Remove(const std::filesystem::path& staged) const;
  // Removes every staged copy of the file.
  void RemoveAll(const std::string& file_id) const;

 private:
  std::filesystem::path root_;
};

}  // namespace ragpdf::ingest
