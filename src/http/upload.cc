#include "http/upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/array.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "http/params.h"

namespace ragpdf::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
namespace json = boost::json;
using common::Error;
using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

// Body read size: also the most upload data held in memory per request.
constexpr std::size_t kReadChunkBytes = 64 << 10;
// Text parts allowed on top of the file parts.
constexpr std::size_t kMaxFieldParts = 64;
constexpr int kMaxNameAttempts = 16;

bool IsFilePart(std::string_view name) { return name == "file" || name == "files"; }

bool IsKnownField(std::string_view name) {
  return name == "username" || name == "existing_file_ids" || name == "model_choice" ||
         name == "wait";
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string UniqueTempName() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("upload-{}-{:016x}.part", ::getpid(), rng());
}

// Removes the temp files of a request unless released (the service took them).
class TempFileGuard {
 public:
  explicit TempFileGuard(const std::vector<ingest::UploadedFile>& files) {
    for (const auto& f : files) paths_.push_back(f.temp_path);
  }
  ~TempFileGuard() {
    std::error_code ec;
    for (const auto& p : paths_) std::filesystem::remove(p, ec);
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void Release() { paths_.clear(); }

 private:
  std::vector<std::filesystem::path> paths_;
};

}  // namespace

UploadCollector::UploadCollector(std::filesystem::path temp_dir, UploadLimits limits)
    : temp_dir_(std::move(temp_dir)), limits_(limits) {}

UploadCollector::~UploadCollector() {
  DiscardOpenFile();
  std::error_code ec;
  for (const auto& f : files_) std::filesystem::remove(f.temp_path, ec);
}

Result<void> UploadCollector::OnPartBegin(const PartInfo& part) {
  if (IsFilePart(part.name)) {
    if (++file_parts_ > limits_.max_files) {
      return Fail(ErrorCode::kPayloadTooLarge,
                  "too many files (limit " + std::to_string(limits_.max_files) + ")");
    }
    kind_ = PartKind::kFile;
    return OpenTempFile(part.filename.value_or(""));
  }
  if (!part.filename && IsKnownField(part.name)) {
    kind_ = PartKind::kField;
    field_name_ = part.name;
    field_value_.clear();
    return {};
  }
  kind_ = PartKind::kIgnored;
  return {};
}

Result<void> UploadCollector::OnPartData(std::string_view data) {
  if (kind_ == PartKind::kField) {
    if (field_value_.size() + data.size() > limits_.max_field_bytes) {
      return Fail(
          ErrorCode::kPayloadTooLarge,
          field_name_ + ": longer than " + std::to_string(limits_.max_field_bytes) + " bytes");
    }
    field_value_.append(data);
    return {};
  }
  if (kind_ != PartKind::kFile) return {};
  file_.sha->Update(data);
  file_.size += data.size();
  while (!data.empty()) {
    ssize_t n = ::write(file_.fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kStorageError, "writing upload: " + ErrnoText(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> UploadCollector::OnPartEnd() {
  PartKind kind = std::exchange(kind_, PartKind::kNone);
  if (kind == PartKind::kField) {
    // Repeated id lists accumulate; other fields keep their last value.
    std::string& slot = fields_[field_name_];
    if (field_name_ == "existing_file_ids" && !slot.empty()) {
      slot.append("\n").append(field_value_);
    } else {
      slot = std::move(field_value_);
    }
    return {};
  }
  if (kind == PartKind::kFile) return CloseTempFile();
  return {};
}

Result<void> UploadCollector::OpenTempFile(std::string filename) {
  for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
    std::filesystem::path path = temp_dir_ / UniqueTempName();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return Fail(ErrorCode::kStorageError, "creating upload file: " + ErrnoText(errno));
    file_ = OpenFile{.fd = fd,
                     .path = std::move(path),
                     .filename = std::move(filename),
                     .sha = std::make_unique<common::Sha256>()};
    return {};
  }
  return Fail(ErrorCode::kStorageError, "creating upload file: no unique name");
}

Result<void> UploadCollector::CloseTempFile() {
  int fd = std::exchange(file_.fd, -1);
  if (::close(fd) != 0) {
    int err = errno;
    DiscardOpenFile();
    return Fail(ErrorCode::kStorageError, "writing upload: " + ErrnoText(err));
  }
  // A browser form with no file chosen sends an empty, unnamed file part.
  if (file_.filename.empty() && file_.size == 0) {
    DiscardOpenFile();
    return {};
  }
  files_.push_back(ingest::UploadedFile{.filename = SanitizeFilename(file_.filename),
                                        .temp_path = std::move(file_.path),
                                        .sha256 = file_.sha->HexDigest(),
                                        .size = file_.size});
  file_ = OpenFile{};
  return {};
}

void UploadCollector::DiscardOpenFile() {
  if (file_.fd >= 0) ::close(file_.fd);
  if (!file_.path.empty()) {
    std::error_code ec;
    std::filesystem::remove(file_.path, ec);
  }
  file_ = OpenFile{};
}

Result<ingest::UploadRequest> UploadCollector::TakeRequest() {
  auto field = [&](std::string_view name) -> std::optional<std::string_view> {
    auto it = fields_.find(name);
    if (it == fields_.end()) return std::nullopt;
    return it->second;
  };
  ingest::UploadRequest request;
  auto username = ValidateUsername(field("username"));
  if (!username) return Fail(username.error());
  request.username = std::move(*username);
  auto ids = ParseFileIdList(field("existing_file_ids").value_or(""), "existing_file_ids");
  if (!ids) return Fail(ids.error());
  request.existing_file_ids = std::move(*ids);
  request.model_choice = std::string(TrimWhitespace(field("model_choice").value_or("")));
  if (auto wait = field("wait")) {
    auto parsed = ParseBool(*wait, "wait");
    if (!parsed) return Fail(parsed.error());
    request.wait = *parsed;
  }
  if (files_.empty() && request.existing_file_ids.empty()) {
    return Fail(ErrorCode::kBadRequest, "no file uploaded and no existing_file_ids given");
  }
  request.files = std::exchange(files_, {});
  return request;
}

namespace {

bool IsUrlEncodedForm(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string type(content_type.substr(0, semi));
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == "application/x-www-form-urlencoded";
}

// Feeds the fields of an urlencoded body to the collector as if they were
// multipart text fields.
Result<void> FeedUrlEncodedForm(std::string_view body, UploadCollector& collector) {
  if (!boost::urls::parse_query(body)) {
    return Fail(ErrorCode::kBadRequest, "malformed application/x-www-form-urlencoded body");
  }
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (const auto& param : boost::urls::params_view(body, opts)) {
    PartInfo part{.name = param.key};
    if (auto r = collector.OnPartBegin(part); !r) return r;
    if (auto r = collector.OnPartData(param.value); !r) return r;
    if (auto r = collector.OnPartEnd(); !r) return r;
  }
  return {};
}

}  // namespace

Result<std::string> CheckUploadHeaders(
    const beast_http::request_parser<beast_http::empty_body>& header,
    std::uint64_t max_upload_bytes) {
  const auto content_type = header.get()[beast_http::field::content_type];
  if (IsUrlEncodedForm(content_type)) return std::string();
  auto boundary = MultipartBoundary(content_type);
  if (!boundary) return boundary;
  if (header.content_length() && *header.content_length() > max_upload_bytes) {
    return Fail(ErrorCode::kPayloadTooLarge,
                "upload larger than " + std::to_string(max_upload_bytes) + " bytes");
  }
  return boundary;
}

namespace {

// How reading a body ended: fully read (neither set), with a response to send
// early (an error), or with the client gone (nothing to answer).
struct BodyRead {
  std::optional<Response> early;
  bool client_gone = false;
};

// A form without files (only existing_file_ids), as FastAPI's Form() also
// accepts it: the fields go through the same collector as multipart fields.
asio::awaitable<BodyRead> ReadUrlEncodedForm(
    beast::tcp_stream& stream, beast::flat_buffer& buffer,
    beast_http::request_parser<beast_http::empty_body>& header, const ServerOptions& options,
    UploadCollector& collector, std::uint64_t& bytes_in) {
  beast_http::request_parser<beast_http::string_body> parser(std::move(header));
  parser.body_limit(options.max_field_bytes);
  stream.expires_after(options.request_timeout);
  auto [ec, n] =
      co_await beast_http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  bytes_in += n;
  if (ec == beast_http::error::body_limit) {
    Error too_large{ErrorCode::kPayloadTooLarge, "form body over the field limit"};
    co_return BodyRead{.early = Closing(ErrorResponse(too_large))};
  }
  if (ec && IsMalformedRequest(ec)) {
    Error malformed{ErrorCode::kBadRequest, "malformed body: " + ec.message()};
    co_return BodyRead{.early = Closing(ErrorResponse(malformed))};
  }
  if (ec) co_return BodyRead{.client_gone = true};
  auto fed = FeedUrlEncodedForm(parser.get().body(), collector);
  if (!fed) co_return BodyRead{.early = ErrorResponse(fed.error())};
  co_return BodyRead{};
}

// Streams a multipart body through the parser into the collector.
asio::awaitable<BodyRead> ReadMultipart(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                        beast_http::request_parser<beast_http::empty_body>& header,
                                        const std::string& boundary, const ServerOptions& options,
                                        UploadCollector& collector, std::uint64_t& bytes_in) {
  MultipartParser multipart(boundary, collector,
                            {.max_header_bytes = options.max_header_bytes,
                             .max_parts = options.max_files_per_upload + kMaxFieldParts});
  beast_http::request_parser<beast_http::buffer_body> parser(std::move(header));
  parser.body_limit(options.max_upload_bytes);
  std::vector<char> chunk(kReadChunkBytes);
  stream.expires_after(options.request_timeout);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [ec, n] = co_await beast_http::async_read(stream, buffer, parser,
                                                   asio::as_tuple(asio::use_awaitable));
    bytes_in += n;
    if (ec == beast_http::error::need_buffer) ec = {};
    if (ec == beast_http::error::body_limit) {
      Error too_large{ErrorCode::kPayloadTooLarge,
                      "upload larger than " + std::to_string(options.max_upload_bytes) + " bytes"};
      co_return BodyRead{.early = Closing(ErrorResponse(too_large))};
    }
    if (ec && IsMalformedRequest(ec)) {
      Error malformed{ErrorCode::kBadRequest, "malformed body: " + ec.message()};
      co_return BodyRead{.early = Closing(ErrorResponse(malformed))};
    }
    if (ec) co_return BodyRead{.client_gone = true};  // gone or timed out
    std::size_t got = chunk.size() - parser.get().body().size;
    if (auto fed = multipart.Feed({chunk.data(), got}); !fed) {
      co_return BodyRead{.early = Closing(ErrorResponse(fed.error()))};
    }
  }
  if (auto finished = multipart.Finish(); !finished) {
    co_return BodyRead{.early = ErrorResponse(finished.error())};
  }
  co_return BodyRead{};
}

}  // namespace

asio::awaitable<std::optional<Response>> ServeUpload(
    beast::tcp_stream& stream, beast::flat_buffer& buffer,
    beast_http::request_parser<beast_http::empty_body>& header, std::string boundary,
    const ServerOptions& options, ingest::Service& ingest, std::uint64_t& bytes_in) {
  UploadCollector collector(options.temp_dir, {.max_files = options.max_files_per_upload,
                                               .max_field_bytes = options.max_field_bytes});
  BodyRead read;
  if (boundary.empty()) {
    read = co_await ReadUrlEncodedForm(stream, buffer, header, options, collector, bytes_in);
  } else {
    read = co_await ReadMultipart(stream, buffer, header, boundary, options, collector, bytes_in);
  }
  if (read.client_gone) co_return std::nullopt;
  if (read.early) co_return std::move(read.early);
  auto request = collector.TakeRequest();
  if (!request) co_return ErrorResponse(request.error());

  TempFileGuard guard(request->files);
  const std::size_t requested = request->files.size() + request->existing_file_ids.size();
  const bool wait = request->wait;
  auto uploaded = co_await ingest.Upload(std::move(*request));
  if (!uploaded) co_return ErrorResponse(uploaded.error());
  guard.Release();
  co_return JsonResponse(UploadResponseJson(*uploaded, requested, wait),
                         wait ? beast_http::status::ok : beast_http::status::accepted);
}

json::object UploadResponseJson(const ingest::UploadResponse& response, std::size_t requested_files,
                                bool wait) {
  json::array file_ids;
  json::array filenames;
  json::array files;
  std::size_t failed = 0;
  std::size_t tabular = 0;
  for (const ingest::FileOutcome& f : response.files) {
    json::object entry{{"file_id", f.file_id},
                       {"filename", f.filename},
                       {"kind", common::FileKindName(f.kind)},
                       {"status", common::FileStatusName(f.status)},
                       {"pages", f.pages},
                       {"chunks", f.chunks},
                       {"reused", f.reused}};
    if (f.error) {
      entry["error"] = ErrorJson(*f.error);
      ++failed;
    } else {
      file_ids.push_back(json::string(f.file_id));
      filenames.push_back(json::string(f.filename));
      tabular += f.kind == common::FileKind::kTabular ? 1 : 0;
    }
    files.push_back(std::move(entry));
  }
  const std::size_t ok = response.files.size() - failed;
  std::string_view status = failed == 0 ? "success" : ok == 0 ? "error" : "partial";
  std::string_view message = failed == 0
                                 ? (wait ? "Files processed successfully"
                                         : "Files accepted; processing continues in the background")
                             : ok == 0 ? "No file could be processed"
                                       : "Some files could not be processed";
  return json::object{{"message", message},
                      {"status", status},
                      {"model_choice", response.model},
                      {"file_ids", std::move(file_ids)},
                      {"original_filenames", std::move(filenames)},
                      {"is_tabular", ok > 0 && tabular == ok},
                      {"multi_file_mode", requested_files > 1},
                      {"files", std::move(files)}};
}

}  // namespace ragpdf::http
