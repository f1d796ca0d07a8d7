// Configuration of the HTTP server (see server.h).
// Thread-safety: plain value type.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace ragpdf::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  // SO_REUSEPORT, so several worker processes can share the port.
  bool reuse_port = false;
  // Uploads are streamed here (created if missing); empty: the system temp dir.
  std::filesystem::path temp_dir;
  // Whole multipart body; larger uploads get 413 and nothing is kept.
  std::uint64_t max_upload_bytes = 512ull << 20;
  std::size_t max_files_per_upload = 1000;
  std::size_t max_json_body_bytes = 1 << 20;
  // POST /v1/embeddings: its body, and texts per request (OpenAI's limit).
  std::size_t max_embeddings_body_bytes = 32 << 20;
  std::size_t max_embedding_inputs = 2048;
  // One text field of a multipart upload.
  std::size_t max_field_bytes = 1 << 20;
  // Request line + headers, and one multipart part's header block.
  std::size_t max_header_bytes = 16 << 10;
  // Waiting for the next request on a keep-alive connection; also bounds
  // writing a response.
  std::chrono::seconds idle_timeout{60};
  // Reading one request body and handling it.
  std::chrono::seconds request_timeout{3600};
};

}  // namespace ragpdf::http
