// ingest::Service: the upload pipeline behind /file/upload, /embeddings/*,
// /delete and /available-models.
//
// Ownership: app/ creates one Service per process; http/ holds a reference.
// Thread-safety: all methods may be called concurrently from the I/O
// executor; heavy work runs on pools owned by the service.
// Errors: request-level failures come back as Error values (kBadRequest,
// kNotFound for an unknown model, kOverloaded, kUnavailable); per-file
// failures are reported inside FileOutcome and never fail the whole request.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/error.h"
#include "common/status.h"
#include "common/types.h"
#include "embed/embedder.h"

namespace ragpdf::ingest {

// A file received by http/: already streamed to a temporary file and hashed.
// The service takes ownership of `temp_path` (moves or deletes it).
struct UploadedFile {
  std::string filename;
  std::filesystem::path temp_path;
  std::string sha256;  // hex; becomes the file id
  std::uint64_t size = 0;
};

struct UploadRequest {
  std::string username;
  std::string model_choice;  // empty: the server's default model
  bool wait = true;          // wait for ready_for_chat/error of every new file
  std::vector<UploadedFile> files;
  std::vector<std::string> existing_file_ids;
};

struct FileOutcome {
  std::string file_id;  // empty only when the file could not even be hashed
  std::string filename;
  common::FileKind kind = common::FileKind::kDocument;
  common::FileStatus status = common::FileStatus::kNotStarted;
  int pages = 0;
  int chunks = 0;
  bool reused = false;  // embeddings already existed (nothing re-embedded)
  std::optional<common::Error> error;
};

struct UploadResponse {
  std::string model;
  std::vector<FileOutcome> files;  // uploaded files first, then existing ids
};

struct CheckItem {
  std::string file_id;
  bool embeddings_exist = false;
  std::string model_type;
  common::FileStatus status = common::FileStatus::kNotStarted;
};

struct CheckResponse {
  std::string model;
  std::vector<CheckItem> results;
};

struct StatusResponse {
  std::string file_id;
  std::string model;
  common::FileStatus status = common::FileStatus::kNotStarted;
  int pages = 0;
  int chunks = 0;
  std::optional<common::Error> error;
  std::string message;  // human-readable, as the Python service returned
};

struct DeleteItem {
  std::string file_id;
  bool removed = false;  // no owner was left: everything was deleted
  std::optional<common::Error> error;
};

struct DeleteResponse {
  std::vector<DeleteItem> results;
};

// Gauges and counters for /health and /metrics.
struct Stats {
  std::size_t files_in_flight = 0;
  std::size_t files_queued = 0;
  std::size_t background_tasks_running = 0;
  bool ready = true;
};

class Service {
 public:
  virtual ~Service() = default;
  virtual boost::asio::awaitable<common::Result<UploadResponse>> Upload(UploadRequest request) = 0;
  virtual boost::asio::awaitable<common::Result<CheckResponse>> Check(
      std::vector<std::string> file_ids, std::string model_choice) = 0;
  virtual boost::asio::awaitable<common::Result<StatusResponse>> Status(
      std::string file_id, std::string model_choice) = 0;
  virtual boost::asio::awaitable<common::Result<DeleteResponse>> Delete(
      std::vector<std::string> file_ids, std::string username) = 0;
  virtual std::vector<embed::ModelInfo> AvailableModels() const = 0;
  virtual Stats GetStats() const = 0;
};

}  // namespace ragpdf::ingest
