// POST /file/upload: the multipart body is streamed to temporary files (one
// per file part, hashed with SHA-256 on the way) and handed to
// ingest::Service::Upload. Memory stays bounded by one read buffer whatever
// the upload size.
//
// Ownership: temp files belong to the UploadCollector until TakeRequest();
// then to the ingest service. Every failure before that (limit, malformed
// body, client gone) deletes all temp files of the request.
// Thread-safety: one collector per request; ServeUpload runs on the
// connection's strand.
// Errors: kBadRequest (malformed body, invalid fields), kMissingField
// (username), kPayloadTooLarge (body, field or file count over its limit),
// kStorageError (temp file I/O); ingest errors are passed through.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/object.hpp>

#include "common/hash.h"
#include "http/multipart.h"
#include "http/options.h"
#include "http/response.h"
#include "ingest/service.h"

namespace ragpdf::http {

struct UploadLimits {
  std::size_t max_files = 1000;
  std::size_t max_field_bytes = 1 << 20;
};

// Receives the parts of one upload: file parts (`file`, `files`) go to temp
// files in `temp_dir`, known text fields are kept, anything else is dropped.
class UploadCollector final : public MultipartHandler {
 public:
  UploadCollector(std::filesystem::path temp_dir, UploadLimits limits);
  ~UploadCollector() override;  // deletes every temp file not handed over
  UploadCollector(const UploadCollector&) = delete;
  UploadCollector& operator=(const UploadCollector&) = delete;

  common::Result<void> OnPartBegin(const PartInfo& part) override;
  common::Result<void> OnPartData(std::string_view data) override;
  common::Result<void> OnPartEnd() override;

  // Once the whole body was parsed: validates the fields and hands the temp
  // files over in the request (they are no longer deleted by the collector).
  common::Result<ingest::UploadRequest> TakeRequest();

 private:
  enum class PartKind { kNone, kFile, kField, kIgnored };
  struct OpenFile {
    int fd = -1;
    std::filesystem::path path;
    std::string filename;
    std::unique_ptr<common::Sha256> sha;
    std::uint64_t size = 0;
  };

  common::Result<void> OpenTempFile(std::string filename);
  common::Result<void> CloseTempFile();
  void DiscardOpenFile();

  std::filesystem::path temp_dir_;
  UploadLimits limits_;
  PartKind kind_ = PartKind::kNone;
  OpenFile file_;
  std::string field_name_;
  std::string field_value_;
  std::size_t file_parts_ = 0;
  std::vector<ingest::UploadedFile> files_;
  std::map<std::string, std::string, std::less<>> fields_;
};

// Checks an upload's headers before any body byte is read. Returns the
// multipart boundary; kBadRequest for another Content-Type,
// kPayloadTooLarge when the declared Content-Length exceeds the limit.
common::Result<std::string> CheckUploadHeaders(
    const boost::beast::http::request_parser<boost::beast::http::empty_body>& header,
    std::uint64_t max_upload_bytes);

// Reads the body of an upload whose headers passed CheckUploadHeaders, runs
// it through the ingest service and returns the response (marked `close`
// when the body was not read to its end). nullopt when the client went away.
boost::asio::awaitable<std::optional<Response>> ServeUpload(
    boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::request_parser<boost::beast::http::empty_body>& header,
    std::string boundary, const ServerOptions& options, ingest::Service& ingest,
    std::uint64_t& bytes_in);

// The JSON body of a completed upload. `requested_files` counts uploaded
// files and existing ids of the request.
boost::json::object UploadResponseJson(const ingest::UploadResponse& response,
                                       std::size_t requested_files, bool wait);

}  // namespace ragpdf::http
