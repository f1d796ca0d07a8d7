#include "common/status.h"

namespace ragpdf::common {

std::string_view FileStatusName(FileStatus status) {
  switch (status) {
    case FileStatus::kNotStarted:
      return "not_started";
    case FileStatus::kInProgress:
      return "in_progress";
    case FileStatus::kReadyForChat:
      return "ready_for_chat";
    case FileStatus::kCompleted:
      return "completed";
    case FileStatus::kError:
      return "error";
  }
  return "error";
}

std::optional<FileStatus> ParseFileStatus(std::string_view name) {
  for (auto s : {FileStatus::kNotStarted, FileStatus::kInProgress, FileStatus::kReadyForChat,
                 FileStatus::kCompleted, FileStatus::kError}) {
    if (FileStatusName(s) == name) return s;
  }
  return std::nullopt;
}

bool CanTransition(FileStatus from, FileStatus to) {
  using S = FileStatus;
  switch (from) {
    case S::kNotStarted:
      return to == S::kInProgress;
    case S::kInProgress:
      return to == S::kInProgress || to == S::kReadyForChat || to == S::kError;
    case S::kReadyForChat:
      return to == S::kCompleted || to == S::kError;
    case S::kCompleted:
      return false;
    case S::kError:
      return to == S::kInProgress;
  }
  return false;
}

}  // namespace ragpdf::common
