// The per-(file, model) status machine.
//
//   not_started -> in_progress -> ready_for_chat -> completed
//                       |               |
//                       +----> error <--+
//   error -> in_progress (a later upload retries a failed file)
//   in_progress -> in_progress (a worker takes over an expired lease)
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

namespace ragpdf::common {

enum class FileStatus { kNotStarted, kInProgress, kReadyForChat, kCompleted, kError };

std::string_view FileStatusName(FileStatus status);
std::optional<FileStatus> ParseFileStatus(std::string_view name);

// Whether the state machine allows `from` -> `to`.
bool CanTransition(FileStatus from, FileStatus to);

// Searchable: chunks and vectors are fully committed.
inline bool CanChat(FileStatus s) {
  return s == FileStatus::kReadyForChat || s == FileStatus::kCompleted;
}
// No more work will happen without a new request.
inline bool IsFinal(FileStatus s) { return s == FileStatus::kCompleted || s == FileStatus::kError; }

}  // namespace ragpdf::common
