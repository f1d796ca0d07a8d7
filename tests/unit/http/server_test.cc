// Loopback tests of the real Server: a Beast client talks HTTP to it over
// 127.0.0.1. The ingest service and the searcher are fakes defined here (the
// edge of this module); the real pipeline is tested end to end elsewhere.
#include "http/server.h"

#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include "common/async.h"
#include "common/hash.h"
#include "common/tokenizer.h"

namespace ragpdf::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using common::ErrorCode;
using common::Fail;
using common::FileStatus;
using common::Result;

const std::string kIdA(64, 'a');        // embeddings exist
const std::string kIdUnknown(64, '0');  // the fake does not know it
const std::string kIdError(64, 'e');    // status error
const std::string kIdBusy(64, '9');     // the fake answers kOverloaded
const std::string kIdSkipped(64, 'f');  // the searcher skips it
const std::string kIdKept(64, 'b');     // delete: other owners remain
const std::string kIdBroken(64, 'c');   // delete: storage error

struct Received {
  std::string filename;
  std::string sha256;
  std::uint64_t size = 0;
  std::filesystem::path temp_path;
  bool existed = false;
  std::string content;  // only for small files
  std::string sha_of_file;
};

class FakeIngest final : public ingest::Service {
 public:
  asio::awaitable<Result<ingest::UploadResponse>> Upload(ingest::UploadRequest request) override {
    if (request.username == "slow") co_await common::SleepFor(std::chrono::milliseconds(300));
    std::lock_guard lock(mu);
    if (fail_upload) co_return Fail(*fail_upload);
    ingest::UploadResponse response{.model = ModelOr(request.model_choice)};
    for (const ingest::UploadedFile& f : request.files) {
      Received r{f.filename, f.sha256, f.size, f.temp_path, std::filesystem::exists(f.temp_path)};
      r.sha_of_file = common::Sha256File(f.temp_path).value_or("");
      if (f.size <= (1 << 20)) {
        std::ifstream in(f.temp_path, std::ios::binary);
        r.content.assign(std::istreambuf_iterator<char>(in), {});
      }
      std::filesystem::remove(f.temp_path);  // the service owns the file
      ingest::FileOutcome outcome{.file_id = f.sha256,
                                  .filename = f.filename,
                                  .kind = f.filename.ends_with(".csv")
                                              ? common::FileKind::kTabular
                                              : common::FileKind::kDocument,
                                  .status = FileStatus::kReadyForChat,
                                  .pages = 3,
                                  .chunks = 7};
      if (f.filename.starts_with("bad")) {
        outcome.status = FileStatus::kError;
        outcome.error = common::Error{ErrorCode::kInvalidPdf, "cannot open"};
      }
      response.files.push_back(outcome);
      received.push_back(std::move(r));
    }
    for (const std::string& id : request.existing_file_ids) {
      response.files.push_back({.file_id = id,
                                .filename = "existing.pdf",
                                .status = FileStatus::kCompleted,
                                .pages = 1,
                                .chunks = 2,
                                .reused = true});
    }
    requests.push_back(std::move(request));
    co_return response;
  }

  asio::awaitable<Result<ingest::CheckResponse>> Check(std::vector<std::string> file_ids,
                                                       std::string model_choice) override {
    std::lock_guard lock(mu);
    ingest::CheckResponse response{.model = ModelOr(model_choice)};
    for (const std::string& id : file_ids) {
      if (id == kIdBusy) co_return Fail(ErrorCode::kOverloaded, "too busy");
      bool exists = id != kIdUnknown;
      response.results.push_back({id, exists, response.model,
                                  exists ? FileStatus::kReadyForChat : FileStatus::kNotStarted});
    }
    checked_ids = std::move(file_ids);
    co_return response;
  }

  asio::awaitable<Result<ingest::StatusResponse>> Status(std::string file_id,
                                                         std::string model_choice) override {
    if (file_id == kIdUnknown) co_return Fail(ErrorCode::kNotFound, "unknown file");
    ingest::StatusResponse response{.file_id = file_id,
                                    .model = ModelOr(model_choice),
                                    .status = FileStatus::kCompleted,
                                    .pages = 3,
                                    .chunks = 7,
                                    .message = "File is ready"};
    if (file_id == kIdError) {
      response.status = FileStatus::kError;
      response.error = common::Error{ErrorCode::kNoText, "no extractable text"};
      response.message = "Processing failed";
    }
    co_return response;
  }

  asio::awaitable<Result<ingest::DeleteResponse>> Delete(std::vector<std::string> file_ids,
                                                         std::string username) override {
    std::lock_guard lock(mu);
    deleted_by = username;
    ingest::DeleteResponse response;
    for (const std::string& id : file_ids) {
      ingest::DeleteItem item{.file_id = id, .removed = id != kIdKept && id != kIdBroken};
      if (id == kIdBroken) item.error = common::Error{ErrorCode::kStorageError, "disk"};
      response.results.push_back(item);
    }
    co_return response;
  }

  std::vector<embed::ModelInfo> AvailableModels() const override {
    return {{"mini", "builtin", 384, 256, "Small model"},
            {"big", "openai", 1536, 8191, "Remote model"}};
  }

  ingest::Stats GetStats() const override {
    return {.files_in_flight = 2, .files_queued = 3, .background_tasks_running = 1, .ready = ready};
  }

  static std::string ModelOr(const std::string& model) { return model.empty() ? "mini" : model; }

  std::mutex mu;
  std::vector<ingest::UploadRequest> requests;
  std::vector<Received> received;
  std::vector<std::string> checked_ids;
  std::string deleted_by;
  std::optional<common::Error> fail_upload;
  std::atomic<bool> ready{true};
};

// Tokens: words separated by spaces.
class SpaceTokenizer final : public common::Tokenizer {
 public:
  int CountTokens(std::string_view text) const override {
    return static_cast<int>(std::count(text.begin(), text.end(), ' ')) + 1;
  }
};

// Vectors {bytes, 'a' count, 1, -0.5} per text; `failure` makes Embed fail.
class FakeEmbedder final : public embed::Embedder {
 public:
  FakeEmbedder(std::string name, std::optional<common::Error> failure = std::nullopt)
      : info_{std::move(name), "fake", 4, 64, "Fake model"}, failure_(std::move(failure)) {}

  static std::vector<float> VectorOf(const std::string& text) {
    return {static_cast<float>(text.size()),
            static_cast<float>(std::count(text.begin(), text.end(), 'a')), 1.0f, -0.5f};
  }

  const embed::ModelInfo& info() const override { return info_; }
  const common::Tokenizer& tokenizer() const override { return tokenizer_; }
  asio::awaitable<Result<embed::Embeddings>> Embed(embed::EmbedRequest request) override {
    if (failure_) co_return Fail(*failure_);
    embed::Embeddings out{.dimension = 4};
    for (const std::string& text : request.texts) {
      for (float x : VectorOf(text)) out.data.push_back(x);
    }
    co_return out;
  }

 private:
  embed::ModelInfo info_;
  SpaceTokenizer tokenizer_;
  std::optional<common::Error> failure_;
};

class FakeSearcher final : public query::Searcher {
 public:
  asio::awaitable<Result<query::NeighborsResponse>> Neighbors(
      query::NeighborsRequest request) override {
    std::lock_guard lock(mu);
    query::NeighborsResponse response{.model = FakeIngest::ModelOr(request.model_choice)};
    double score = 1.0;
    for (const std::string& id : request.file_ids) {
      if (id == kIdSkipped) {
        response.skipped_file_ids.push_back(id);
        continue;
      }
      response.results.push_back({id, 4, "chunk of " + id.substr(0, 4), score, 2, 3});
      score /= 2;
    }
    last = std::move(request);
    co_return response;
  }

  std::mutex mu;
  query::NeighborsRequest last;
};

using Response = bhttp::response<bhttp::string_body>;

// A blocking HTTP client on its own io_context.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    // Fail instead of hanging if the server never answers.
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(stream_.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  Response Send(bhttp::verb method, const std::string& target, const std::string& body = "",
                const std::string& content_type = "application/json") {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream_, req);
    return Read();
  }

  Response Read() {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    bhttp::read(stream_, buffer_, parser);
    return parser.release();
  }

  // Writes raw bytes; false when the server has closed the connection.
  bool WriteRaw(std::string_view data) {
    boost::system::error_code ec;
    asio::write(stream_.socket(), asio::buffer(data.data(), data.size()), ec);
    return !ec;
  }

  // True when the server closed the connection (EOF on read).
  bool ServerClosed() {
    char c;
    boost::system::error_code ec;
    stream_.socket().read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  void Close() { stream_.close(); }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

struct FormPart {
  std::string name;
  std::optional<std::string> filename;
  std::string content;
};

constexpr std::string_view kBoundary = "XyZzyBoundary42";

std::string PartHeader(const FormPart& p) {
  std::string h =
      "--" + std::string(kBoundary) + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
  if (p.filename) h += "; filename=\"" + *p.filename + "\"";
  h += "\r\n";
  if (p.filename) h += "Content-Type: application/octet-stream\r\n";
  return h + "\r\n";
}

std::string Multipart(const std::vector<FormPart>& parts) {
  std::string body;
  for (const FormPart& p : parts) body += PartHeader(p) + p.content + "\r\n";
  return body + "--" + std::string(kBoundary) + "--\r\n";
}

std::string MultipartType() { return "multipart/form-data; boundary=" + std::string(kBoundary); }

std::string UploadHead(std::uint64_t content_length, std::string_view extra = "") {
  return "POST /file/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + MultipartType() +
         "\r\nContent-Length: " + std::to_string(content_length) + "\r\n" + std::string(extra) +
         "\r\n";
}

json::object JsonOf(const Response& r) {
  auto v = json::parse(r.body());
  EXPECT_TRUE(v.is_object()) << r.body();
  return v.is_object() ? v.as_object() : json::object{};
}

void ExpectError(const Response& r, bhttp::status status, std::string_view code) {
  EXPECT_EQ(r.result(), status) << r.body();
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  json::object body = JsonOf(r);
  ASSERT_TRUE(body.contains("error")) << r.body();
  EXPECT_EQ(body.size(), 1u);
  const json::object& error = body.at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), code) << r.body();
  EXPECT_FALSE(error.at("message").as_string().empty());
}

std::size_t RssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  }
  return 0;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    temp_dir_ =
        std::filesystem::temp_directory_path() /
        ("ragpdf_http_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(temp_dir_);
  }

  void TearDown() override {
    if (server_) {
      Shutdown(std::chrono::milliseconds(500));
      // After a shutdown nothing may keep the io_context busy.
      work_.reset();
      if (stopped_.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        ADD_FAILURE() << "io_context still has work after Shutdown()";
        io_.stop();
      }
      thread_.join();
    }
    std::filesystem::remove_all(temp_dir_);
  }

  void Start(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.temp_dir = temp_dir_ / "uploads";
    server_ =
        std::make_unique<Server>(io_, options, ingest_, searcher_, models_, cpu_.get_executor());
    auto port = server_->Listen();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    EXPECT_NE(port_, 0);
    EXPECT_TRUE(std::filesystem::is_directory(temp_dir_ / "uploads"));
    server_->Start();
    std::promise<void> stopped;
    stopped_ = stopped.get_future().share();
    thread_ = std::thread([this, stopped = std::move(stopped)]() mutable {
      io_.run();
      stopped.set_value();
    });
  }

  void Shutdown(std::chrono::milliseconds grace) {
    asio::co_spawn(io_, server_->Shutdown(grace), asio::use_future).get();
  }

  std::size_t TempFiles() const {
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(temp_dir_ / "uploads");
         it != std::filesystem::directory_iterator(); ++it) {
      ++n;
    }
    return n;
  }

  // Polls until the upload dir has `n` files; false after `timeout`.
  bool WaitForTempFiles(std::size_t n, std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (TempFiles() != n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  Response Upload(const std::vector<FormPart>& parts) {
    return Client(port_).Send(bhttp::verb::post, "/file/upload", Multipart(parts), MultipartType());
  }

  Response Get(const std::string& target) { return Client(port_).Send(bhttp::verb::get, target); }
  Response Post(const std::string& target, const std::string& body) {
    return Client(port_).Send(bhttp::verb::post, target, body);
  }

  std::filesystem::path temp_dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::shared_future<void> stopped_;
  FakeIngest ingest_;
  FakeSearcher searcher_;
  embed::EmbedderRegistry models_ = [] {
    embed::EmbedderRegistry r;
    r.Add(std::make_shared<FakeEmbedder>("mini"));
    r.Add(std::make_shared<FakeEmbedder>(
        "down", common::Error{ErrorCode::kEmbeddingUnavailable, "upstream 503s"}));
    return r;
  }();
  asio::thread_pool cpu_{1};
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

std::string PdfLikeContent() {
  // Contains a prefix of the delimiter (a full one may not occur in a part).
  std::string s =
      "%PDF-1.4\r\n--" + std::string(kBoundary.substr(0, kBoundary.size() - 1)) + "\r\n";
  for (int i = 0; i < 5000; ++i) s.push_back(static_cast<char>((i * 7) % 256));
  return s;
}

TEST_F(ServerTest, UploadTwoFilesWithFields) {
  Start();
  const std::string pdf = PdfLikeContent();
  const std::string csv = "name,value\r\nx,1\r\n";
  Response r = Upload({{"username", std::nullopt, "alice"},
                       {"files", "report.pdf", pdf},
                       {"model_choice", std::nullopt, "big"},
                       {"files", "../../secret/data.csv", csv},
                       {"existing_file_ids", std::nullopt, " " + kIdA + " ,\n"},
                       {"wait", std::nullopt, "true"}});
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");

  {
    std::lock_guard lock(ingest_.mu);
    ASSERT_EQ(ingest_.requests.size(), 1u);
    const ingest::UploadRequest& req = ingest_.requests[0];
    EXPECT_EQ(req.username, "alice");
    EXPECT_EQ(req.model_choice, "big");
    EXPECT_TRUE(req.wait);
    EXPECT_EQ(req.existing_file_ids, std::vector<std::string>{kIdA});
    ASSERT_EQ(ingest_.received.size(), 2u);
    const Received& a = ingest_.received[0];
    const Received& b = ingest_.received[1];
    EXPECT_EQ(a.filename, "report.pdf");
    EXPECT_EQ(b.filename, "data.csv");
    EXPECT_EQ(a.sha256, common::Sha256Hex(pdf));
    EXPECT_EQ(b.sha256, common::Sha256Hex(csv));
    EXPECT_EQ(a.size, pdf.size());
    EXPECT_EQ(b.size, csv.size());
    EXPECT_TRUE(a.existed);
    EXPECT_EQ(a.content, pdf);
    EXPECT_EQ(b.content, csv);
    EXPECT_EQ(a.temp_path.parent_path(), temp_dir_ / "uploads");
    EXPECT_NE(a.temp_path, b.temp_path);
  }
  EXPECT_EQ(TempFiles(), 0u);

  json::object body = JsonOf(r);
  EXPECT_EQ(body.at("status").as_string(), "success");
  EXPECT_FALSE(body.at("message").as_string().empty());
  EXPECT_EQ(body.at("model_choice").as_string(), "big");
  EXPECT_EQ(body.at("file_ids"),
            (json::array{json::string(common::Sha256Hex(pdf)), json::string(common::Sha256Hex(csv)),
                         json::string(kIdA)}));
  EXPECT_EQ(body.at("original_filenames"), (json::array{"report.pdf", "data.csv", "existing.pdf"}));
  EXPECT_EQ(body.at("is_tabular"), false);  // a PDF among them
  EXPECT_EQ(body.at("multi_file_mode"), true);
  const json::array& files = body.at("files").as_array();
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[1].as_object().at("kind").as_string(), "tabular");
  EXPECT_EQ(files[0].as_object().at("kind").as_string(), "document");
  EXPECT_EQ(files[0].as_object().at("status").as_string(), "ready_for_chat");
  EXPECT_EQ(files[0].as_object().at("pages").as_int64(), 3);
  EXPECT_EQ(files[0].as_object().at("chunks").as_int64(), 7);
  EXPECT_EQ(files[0].as_object().at("reused"), false);
  EXPECT_EQ(files[2].as_object().at("reused"), true);
  EXPECT_FALSE(files[0].as_object().contains("error"));
}

TEST_F(ServerTest, UploadWithoutWaitAndPartialFailure) {
  Start();
  Response r = Upload({{"username", std::nullopt, "bob"},
                       {"wait", std::nullopt, "no"},
                       {"file", "table.csv", "a,b\n1,2\n"},
                       {"files", "bad.pdf", "not a pdf"}});
  ASSERT_EQ(r.result(), bhttp::status::accepted) << r.body();
  json::object body = JsonOf(r);
  EXPECT_EQ(body.at("status").as_string(), "partial");
  EXPECT_EQ(body.at("model_choice").as_string(), "mini");
  EXPECT_EQ(body.at("file_ids").as_array().size(), 1u);
  EXPECT_EQ(body.at("original_filenames"), (json::array{"table.csv"}));
  EXPECT_EQ(body.at("is_tabular"), true);  // every file without error is tabular
  const json::object& bad = body.at("files").as_array()[1].as_object();
  EXPECT_EQ(bad.at("status").as_string(), "error");
  EXPECT_EQ(bad.at("error").as_object().at("code").as_string(), "invalid_pdf");
  EXPECT_EQ(bad.at("error").as_object().at("message").as_string(), "cannot open");

  Response all_bad = Upload({{"username", std::nullopt, "bob"}, {"files", "bad.txt", "x"}});
  ASSERT_EQ(all_bad.result(), bhttp::status::ok);
  json::object b = JsonOf(all_bad);
  EXPECT_EQ(b.at("status").as_string(), "error");
  EXPECT_EQ(b.at("is_tabular"), false);
  EXPECT_EQ(b.at("multi_file_mode"), false);
  EXPECT_TRUE(b.at("file_ids").as_array().empty());
}

TEST_F(ServerTest, UploadFieldErrorsLeaveNoTempFiles) {
  Start();
  ExpectError(Upload({{"files", "a.txt", "hello"}}), bhttp::status::bad_request, "missing_field");
  ExpectError(Upload({{"username", std::nullopt, "u"},
                      {"files", "a.txt", "x"},
                      {"existing_file_ids", std::nullopt, "123"}}),
              bhttp::status::bad_request, "bad_request");
  ExpectError(Upload({{"username", std::nullopt, std::string(300, 'u')}, {"files", "a.txt", "x"}}),
              bhttp::status::bad_request, "bad_request");
  ExpectError(Upload({{"username", std::nullopt, "u"}}), bhttp::status::bad_request, "bad_request");
  ExpectError(Upload({{"username", std::nullopt, "u"},
                      {"files", "a.txt", "x"},
                      {"wait", std::nullopt, "sometimes"}}),
              bhttp::status::bad_request, "bad_request");
  EXPECT_EQ(TempFiles(), 0u);
  std::lock_guard lock(ingest_.mu);
  EXPECT_TRUE(ingest_.requests.empty());
}

TEST_F(ServerTest, UploadServiceErrorRemovesTempFiles) {
  Start();
  ingest_.fail_upload = common::Error{ErrorCode::kOverloaded, "queue full"};
  Response r = Upload({{"username", std::nullopt, "u"}, {"files", "a.txt", "hello"}});
  ExpectError(r, bhttp::status::too_many_requests, "overloaded");
  EXPECT_EQ(r[bhttp::field::retry_after], "1");
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(ServerTest, UploadNotMultipartIs400) {
  Start();
  Response r = Client(port_).Send(bhttp::verb::post, "/file/upload", "{}", "application/json");
  ExpectError(r, bhttp::status::bad_request, "bad_request");
}

TEST_F(ServerTest, UploadOverLimitByContentLengthIs413) {
  Start({.max_upload_bytes = 256 << 10});
  const std::string body = Multipart(
      {{"username", std::nullopt, "u"}, {"files", "big.txt", std::string(300 << 10, 'x')}});
  Client client(port_);
  // The server answers from the headers alone, then drains what we send.
  ASSERT_TRUE(client.WriteRaw(UploadHead(body.size())));
  Response r = client.Read();
  ExpectError(r, bhttp::status::payload_too_large, "payload_too_large");
  EXPECT_FALSE(r.keep_alive());
  client.WriteRaw(body);
  EXPECT_TRUE(client.ServerClosed());
  EXPECT_EQ(TempFiles(), 0u);
  std::lock_guard lock(ingest_.mu);
  EXPECT_TRUE(ingest_.requests.empty());
}

TEST_F(ServerTest, UploadOverLimitChunkedIs413AndCleansUp) {
  Start({.max_upload_bytes = 256 << 10});
  Client client(port_);
  ASSERT_TRUE(client.WriteRaw("POST /file/upload HTTP/1.1\r\nHost: x\r\nContent-Type: " +
                              MultipartType() + "\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string head =
      PartHeader({"username", std::nullopt, ""}) + "u\r\n" + PartHeader({"files", "big.txt", ""});
  auto chunk = [](const std::string& data) {
    std::ostringstream out;
    out << std::hex << data.size() << "\r\n" << data << "\r\n";
    return out.str();
  };
  client.WriteRaw(chunk(head));
  const std::string piece(32 << 10, 'y');
  for (int i = 0; i < 16; ++i) {  // 512 KiB in total
    if (!client.WriteRaw(chunk(piece))) break;
  }
  Response r = client.Read();
  ExpectError(r, bhttp::status::payload_too_large, "payload_too_large");
  EXPECT_TRUE(WaitForTempFiles(0, std::chrono::seconds(2)));
}

TEST_F(ServerTest, MalformedMultipartIs400AndCleansUp) {
  Start();
  std::string body = Multipart({{"username", std::nullopt, "u"}, {"files", "a.txt", "data"}});
  body.resize(body.size() - std::string_view("--\r\n").size() - kBoundary.size() - 2);
  Response r = Client(port_).Send(bhttp::verb::post, "/file/upload", body, MultipartType());
  ExpectError(r, bhttp::status::bad_request, "bad_request");
  EXPECT_NE(r.body().find("closing boundary"), std::string::npos);
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(ServerTest, TooManyFilesIs413) {
  Start({.max_files_per_upload = 2});
  Response r = Upload({{"username", std::nullopt, "u"},
                       {"files", "1.txt", "1"},
                       {"files", "2.txt", "2"},
                       {"files", "3.txt", "3"}});
  ExpectError(r, bhttp::status::payload_too_large, "payload_too_large");
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(ServerTest, ClientDisconnectMidUploadRemovesTempFiles) {
  Start();
  Client client(port_);
  const std::string start = PartHeader({"username", std::nullopt, ""}) + "u\r\n" +
                            PartHeader({"files", "partial.pdf", ""}) + std::string(200 << 10, 'p');
  ASSERT_TRUE(client.WriteRaw(UploadHead(1 << 20)));
  ASSERT_TRUE(client.WriteRaw(start));
  ASSERT_TRUE(WaitForTempFiles(1, std::chrono::seconds(5)));  // streaming to disk
  client.Close();
  EXPECT_TRUE(WaitForTempFiles(0, std::chrono::seconds(5)));
  std::lock_guard lock(ingest_.mu);
  EXPECT_TRUE(ingest_.requests.empty());
}

TEST_F(ServerTest, UploadWithExpectContinue) {
  Start();
  const std::string body = Multipart({{"username", std::nullopt, "u"}, {"files", "a.md", "# hi"}});
  Client client(port_);
  ASSERT_TRUE(client.WriteRaw(UploadHead(body.size(), "Expect: 100-continue\r\n")));
  Response interim = client.Read();
  EXPECT_EQ(interim.result(), bhttp::status::continue_);
  ASSERT_TRUE(client.WriteRaw(body));
  Response r = client.Read();
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  EXPECT_EQ(JsonOf(r).at("file_ids"), (json::array{json::string(common::Sha256Hex("# hi"))}));
}

TEST_F(ServerTest, LargeUploadStreamsWithBoundedMemory) {
  Start({.max_upload_bytes = 64ull << 20});
  // Warm up the code paths and allocator before measuring.
  ASSERT_EQ(Upload({{"username", std::nullopt, "u"}, {"files", "warm.txt", "w"}}).result(),
            bhttp::status::ok);
  const std::size_t rss_before = RssKib();

  const std::size_t file_size = 20 << 20;
  const std::string head =
      PartHeader({"username", std::nullopt, ""}) + "u\r\n" + PartHeader({"files", "big.bin", ""});
  const std::string tail = "\r\n--" + std::string(kBoundary) + "--\r\n";
  Client client(port_);
  ASSERT_TRUE(client.WriteRaw(UploadHead(head.size() + file_size + tail.size())));
  ASSERT_TRUE(client.WriteRaw(head));
  common::Sha256 sha;
  std::mt19937_64 rng(42);
  std::string piece(64 << 10, '\0');
  for (std::size_t sent = 0; sent < file_size; sent += piece.size()) {
    for (std::size_t i = 0; i < piece.size(); i += 8) {
      std::uint64_t v = rng();
      std::memcpy(piece.data() + i, &v, 8);
    }
    sha.Update(piece);
    ASSERT_TRUE(client.WriteRaw(piece));
  }
  ASSERT_TRUE(client.WriteRaw(tail));
  Response r = client.Read();
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  const std::size_t rss_after = RssKib();

  const std::string expected = sha.HexDigest();
  EXPECT_EQ(JsonOf(r).at("file_ids"), (json::array{json::string(expected)}));
  {
    std::lock_guard lock(ingest_.mu);
    const Received& big = ingest_.received.back();
    EXPECT_EQ(big.size, file_size);
    EXPECT_EQ(big.sha256, expected);
    EXPECT_EQ(big.sha_of_file, expected);
  }
  EXPECT_LT(rss_after, rss_before + (10 << 10))
      << "RSS grew from " << rss_before << " KiB to " << rss_after << " KiB";
}

TEST_F(ServerTest, JsonBodyErrors) {
  Start({.max_json_body_bytes = 1024});
  Response malformed = Post("/embeddings/check", "{\"file_ids\": [");
  ExpectError(malformed, bhttp::status::bad_request, "bad_request");
  EXPECT_NE(malformed.body().find("malformed JSON"), std::string::npos);

  Response wrong_type = Post("/file/neighbors", R"({"text": "q", "file_ids": [")" + kIdA +
                                                    R"("], "n_neighbors": "five"})");
  ExpectError(wrong_type, bhttp::status::bad_request, "bad_request");
  EXPECT_NE(wrong_type.body().find("n_neighbors"), std::string::npos);

  ExpectError(Client(port_).Send(bhttp::verb::post, "/embeddings/check", "file_ids=1",
                                 "application/x-www-form-urlencoded"),
              bhttp::status::bad_request, "bad_request");
  ExpectError(Post("/embeddings/check", "[1, 2]"), bhttp::status::bad_request, "bad_request");
  ExpectError(Post("/embeddings/check", "{}"), bhttp::status::bad_request, "missing_field");

  Response big = Post("/embeddings/check", "{\"pad\": \"" + std::string(2000, 'x') + "\"}");
  ExpectError(big, bhttp::status::payload_too_large, "payload_too_large");
  EXPECT_FALSE(big.keep_alive());

  // A missing Content-Type is accepted.
  Response no_type = Client(port_).Send(bhttp::verb::post, "/embeddings/check",
                                        "{\"file_ids\": [\"" + kIdA + "\"]}", "");
  EXPECT_EQ(no_type.result(), bhttp::status::ok) << no_type.body();
}

TEST_F(ServerTest, UnknownRouteAndWrongMethod) {
  Start();
  ExpectError(Get("/no/such/route"), bhttp::status::not_found, "not_found");
  Response r = Get("/file/upload");
  ExpectError(r, bhttp::status::method_not_allowed, "bad_request");
  EXPECT_EQ(r[bhttp::field::allow], "POST");
  Response d = Client(port_).Send(bhttp::verb::put, "/delete", "{}");
  ExpectError(d, bhttp::status::method_not_allowed, "bad_request");
  EXPECT_EQ(d[bhttp::field::allow], "DELETE, POST");
}

TEST_F(ServerTest, EmbeddingStatus) {
  Start();
  Response ok = Get("/embeddings/status/" + kIdA + "?model_choice=big");
  ASSERT_EQ(ok.result(), bhttp::status::ok) << ok.body();
  json::object body = JsonOf(ok);
  EXPECT_EQ(body, (json::object{{"file_id", kIdA},
                                {"status", "completed"},
                                {"can_chat", true},
                                {"message", "File is ready"},
                                {"model_choice", "big"},
                                {"pages", 3},
                                {"chunks", 7}}));

  Response failed = Get("/embeddings/status/" + std::string(64, 'E'));  // ids are case-insensitive
  json::object f = JsonOf(failed);
  EXPECT_EQ(f.at("status").as_string(), "error");
  EXPECT_EQ(f.at("can_chat"), false);
  EXPECT_EQ(f.at("model_choice").as_string(), "mini");
  EXPECT_EQ(f.at("error").as_object().at("code").as_string(), "no_text");

  ExpectError(Get("/embeddings/status/not-an-id"), bhttp::status::bad_request, "bad_request");
  ExpectError(Get("/embeddings/status/" + kIdUnknown), bhttp::status::not_found, "not_found");
}

TEST_F(ServerTest, EmbeddingsCheck) {
  Start();
  Response r = Post("/embeddings/check", R"({"file_ids": [")" + kIdA + R"(", ")" + kIdUnknown +
                                             R"("], "model_choice": "big"})");
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  json::object body = JsonOf(r);
  const json::array& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], (json::object{{"file_id", kIdA},
                                      {"embeddings_exist", true},
                                      {"model_type", "big"},
                                      {"status", "ready_for_chat"}}));
  EXPECT_EQ(results[1].as_object().at("embeddings_exist"), false);
  EXPECT_EQ(results[1].as_object().at("status").as_string(), "not_started");
  EXPECT_EQ(body.at("summary"), (json::object{{"total_files", 2},
                                              {"files_with_embeddings", 1},
                                              {"files_missing_embeddings", 1},
                                              {"all_files_ready", false},
                                              {"model_choice", "big"}}));

  Response ready = Post("/embeddings/check", R"({"file_ids": [")" + kIdA + R"("]})");
  EXPECT_EQ(JsonOf(ready).at("summary").as_object().at("all_files_ready"), true);

  Response busy = Post("/embeddings/check", R"({"file_ids": [")" + kIdBusy + R"("]})");
  ExpectError(busy, bhttp::status::too_many_requests, "overloaded");
  EXPECT_EQ(busy[bhttp::field::retry_after], "1");
}

TEST_F(ServerTest, Neighbors) {
  Start();
  Response r =
      Post("/file/neighbors", R"({"text": "what is x", "file_id": ")" + kIdA +
                                  R"(", "file_ids": [")" + kIdSkipped + R"(", ")" + kIdError +
                                  R"("], "n_neighbors": 3, "mode": "keyword"})");
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  {
    std::lock_guard lock(searcher_.mu);
    EXPECT_EQ(searcher_.last.text, "what is x");
    EXPECT_EQ(searcher_.last.n_neighbors, 3);
    EXPECT_EQ(searcher_.last.mode, query::SearchMode::kKeyword);
    EXPECT_EQ(searcher_.last.file_ids, (std::vector<std::string>{kIdA, kIdSkipped, kIdError}));
  }
  json::object body = JsonOf(r);
  EXPECT_EQ(body.at("neighbors"), (json::array{"chunk of aaaa", "chunk of eeee"}));
  EXPECT_EQ(body.at("mode").as_string(), "keyword");
  EXPECT_EQ(body.at("model_choice").as_string(), "mini");
  EXPECT_EQ(body.at("skipped_file_ids"), (json::array{json::string(kIdSkipped)}));
  const json::array& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], (json::object{{"file_id", kIdA},
                                      {"chunk_index", 4},
                                      {"text", "chunk of aaaa"},
                                      {"score", 1.0},
                                      {"page_start", 2},
                                      {"page_end", 3}}));

  // Defaults: 5 neighbors, hybrid.
  Response d = Post("/file/neighbors", R"({"text": "x", "file_ids": [")" + kIdA + R"("]})");
  ASSERT_EQ(d.result(), bhttp::status::ok);
  EXPECT_EQ(JsonOf(d).at("mode").as_string(), "hybrid");
  {
    std::lock_guard lock(searcher_.mu);
    EXPECT_EQ(searcher_.last.n_neighbors, 5);
    EXPECT_EQ(searcher_.last.mode, query::SearchMode::kHybrid);
  }

  const std::string ids = R"(, "file_ids": [")" + kIdA + R"("])";
  ExpectError(Post("/file/neighbors", R"({"text": "  ")" + ids + "}"), bhttp::status::bad_request,
              "bad_request");
  ExpectError(Post("/file/neighbors", R"({"file_ids": [")" + kIdA + R"("]})"),
              bhttp::status::bad_request, "missing_field");
  ExpectError(Post("/file/neighbors", R"({"text": "x"})"), bhttp::status::bad_request,
              "missing_field");
  ExpectError(Post("/file/neighbors", R"({"text": "x", "n_neighbors": 0)" + ids + "}"),
              bhttp::status::bad_request, "bad_request");
  ExpectError(Post("/file/neighbors", R"({"text": "x", "n_neighbors": 101)" + ids + "}"),
              bhttp::status::bad_request, "bad_request");
  ExpectError(Post("/file/neighbors", R"({"text": "x", "mode": "fuzzy")" + ids + "}"),
              bhttp::status::bad_request, "bad_request");
}

TEST_F(ServerTest, DeleteWithDeleteAndPost) {
  Start();
  const std::string body = R"({"file_ids": [")" + kIdA + R"(", ")" + kIdKept + R"(", ")" +
                           kIdBroken + R"("], "username": "alice"})";
  Response r = Client(port_).Send(bhttp::verb::delete_, "/delete", body);
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  json::object out = JsonOf(r);
  EXPECT_FALSE(out.at("message").as_string().empty());
  const json::array& results = out.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0], (json::object{{"file_id", kIdA}, {"removed", true}}));
  EXPECT_EQ(results[1], (json::object{{"file_id", kIdKept}, {"removed", false}}));
  EXPECT_EQ(results[2].as_object().at("error").as_object().at("code").as_string(), "storage_error");
  {
    std::lock_guard lock(ingest_.mu);
    EXPECT_EQ(ingest_.deleted_by, "alice");
  }
  EXPECT_EQ(Post("/delete", body).result(), bhttp::status::ok);
  ExpectError(Post("/delete", R"({"file_ids": [")" + kIdA + R"("]})"), bhttp::status::bad_request,
              "missing_field");
}

std::vector<float> FloatsOf(const json::value& embedding) {
  std::vector<float> out;
  for (const json::value& x : embedding.as_array())
    out.push_back(static_cast<float>(x.to_number<double>()));
  return out;
}

TEST_F(ServerTest, OpenAiEmbeddingsFloat) {
  Start();
  Response r = Post("/v1/embeddings", R"({"input": ["hello world", "banana"], "model": "mini",
                                          "encoding_format": "float", "dimensions": 4})");
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  json::object body = JsonOf(r);
  EXPECT_EQ(body.at("object").as_string(), "list");
  EXPECT_EQ(body.at("model").as_string(), "mini");
  const json::array& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  const std::vector<std::string> texts = {"hello world", "banana"};
  for (std::size_t i = 0; i < 2; ++i) {
    const json::object& item = data[i].as_object();
    EXPECT_EQ(item.at("object").as_string(), "embedding");
    EXPECT_EQ(item.at("index").as_int64(), static_cast<std::int64_t>(i));
    EXPECT_EQ(FloatsOf(item.at("embedding")), FakeEmbedder::VectorOf(texts[i]));
  }
  // Tokens from the model's tokenizer: 2 + 1.
  EXPECT_EQ(body.at("usage").at("prompt_tokens").as_int64(), 3);
  EXPECT_EQ(body.at("usage").at("total_tokens").as_int64(), 3);
}

TEST_F(ServerTest, OpenAiEmbeddingsStringInputDefaultModelAndBase64) {
  Start();
  Response r = Post("/v1/embeddings", R"({"input": "a cat", "encoding_format": "base64"})");
  ASSERT_EQ(r.result(), bhttp::status::ok) << r.body();
  json::object body = JsonOf(r);
  EXPECT_EQ(body.at("model").as_string(), "mini");
  const json::array& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 1u);
  const std::string b64(data[0].at("embedding").as_string());
  // 4 float32 = 16 bytes = 24 base64 characters.
  ASSERT_EQ(b64.size(), 24u);
  std::vector<unsigned char> bytes(18);
  ASSERT_EQ(EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(b64.data()), 24),
            18);
  std::vector<float> floats(4);
  std::memcpy(floats.data(), bytes.data(), 16);
  EXPECT_EQ(floats, FakeEmbedder::VectorOf("a cat"));
}

TEST_F(ServerTest, OpenAiEmbeddingsErrors) {
  Start({.max_embeddings_body_bytes = 4096, .max_embedding_inputs = 3});
  ExpectError(Post("/v1/embeddings", R"({"model": "mini"})"), bhttp::status::bad_request,
              "missing_field");
  for (const char* bad :
       {R"({"input": 5})", R"({"input": [[1, 2, 3]]})", R"({"input": []})",
        R"({"input": ["ok", ""]})", R"({"input": ["a", "b", "c", "d"]})",
        R"({"input": "x", "encoding_format": "int8"})", R"({"input": "x", "dimensions": 8})",
        R"({"input": "x", "model": 3})", R"(["x"])"}) {
    ExpectError(Post("/v1/embeddings", bad), bhttp::status::bad_request, "bad_request");
  }
  ExpectError(Post("/v1/embeddings", R"({"input": "x", "model": "nope"})"),
              bhttp::status::not_found, "not_found");
  ExpectError(Post("/v1/embeddings", R"({"input": "x", "model": "down"})"),
              bhttp::status::bad_gateway, "embedding_unavailable");
  ExpectError(Post("/v1/embeddings", R"({"input": ")" + std::string(5000, 'a') + R"("})"),
              bhttp::status::payload_too_large, "payload_too_large");
  ExpectError(Get("/v1/embeddings"), bhttp::status::method_not_allowed, "bad_request");
}

TEST_F(ServerTest, AvailableModelsHealthAndMetrics) {
  Start();
  Response models = Get("/available-models");
  ASSERT_EQ(models.result(), bhttp::status::ok);
  json::object m = JsonOf(models);
  EXPECT_EQ(m.at("default_model").as_string(), "mini");
  const json::array& list = m.at("models").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], (json::object{{"name", "mini"},
                                   {"provider", "builtin"},
                                   {"dimension", 384},
                                   {"max_tokens", 256},
                                   {"description", "Small model"},
                                   {"default", true}}));
  EXPECT_EQ(list[1].as_object().at("default"), false);

  Response health = Get("/health");
  ASSERT_EQ(health.result(), bhttp::status::ok);
  EXPECT_EQ(JsonOf(health), (json::object{{"status", "ok"},
                                          {"ready", true},
                                          {"files_in_flight", 2},
                                          {"files_queued", 3},
                                          {"background_tasks_running", 1}}));
  ingest_.ready = false;
  Response not_ready = Get("/health");
  EXPECT_EQ(not_ready.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(JsonOf(not_ready).at("ready"), false);

  Response metrics = Get("/metrics");
  ASSERT_EQ(metrics.result(), bhttp::status::ok);
  EXPECT_EQ(metrics[bhttp::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics.body();
  EXPECT_NE(text.find("ragpdf_http_requests_total{route=\"/health\",status=\"503\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ragpdf_http_request_duration_seconds_count{route=\"/available-models\"}"),
            std::string::npos);
  EXPECT_NE(text.find("ragpdf_files_in_flight 2"), std::string::npos);
  EXPECT_NE(text.find("ragpdf_files_queued 3"), std::string::npos);
  EXPECT_NE(text.find("ragpdf_background_tasks_running 1"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ragpdf_http_requests_total counter"), std::string::npos);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequests) {
  Start();
  Client client(port_);
  for (int i = 0; i < 5; ++i) {
    Response r = client.Send(bhttp::verb::get, "/health");
    ASSERT_EQ(r.result(), bhttp::status::ok);
    EXPECT_TRUE(r.keep_alive());
  }
  // A 404 without a body keeps the connection too.
  EXPECT_EQ(client.Send(bhttp::verb::get, "/nowhere").result(), bhttp::status::not_found);
  EXPECT_EQ(client.Send(bhttp::verb::get, "/health").result(), bhttp::status::ok);

  // Pipelined requests are answered in order.
  ASSERT_TRUE(client.WriteRaw(
      "GET /available-models HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(JsonOf(client.Read()).contains("models"));
  EXPECT_TRUE(JsonOf(client.Read()).contains("ready"));

  // HTTP/1.0 without keep-alive: one request per connection.
  Client old(port_);
  ASSERT_TRUE(old.WriteRaw("GET /health HTTP/1.0\r\n\r\n"));
  Response r = old.Read();
  EXPECT_EQ(r.result(), bhttp::status::ok);
  EXPECT_EQ(r.version(), 10u);
  EXPECT_TRUE(old.ServerClosed());
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  Start({.max_header_bytes = 4096});
  Client client(port_);
  ASSERT_TRUE(client.WriteRaw(
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(8000, 'p') + "\r\n\r\n"));
  Response r = client.Read();
  ExpectError(r, bhttp::status::request_header_fields_too_large, "bad_request");
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(ServerTest, IdleConnectionTimesOut) {
  Start({.idle_timeout = std::chrono::seconds(1)});
  Client client(port_);
  ASSERT_EQ(client.Send(bhttp::verb::get, "/health").result(), bhttp::status::ok);
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ServerClosed());  // nothing sent: the server gives up
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST_F(ServerTest, ListenReportsBindErrorsAndSharesPortWithReusePort) {
  Start({.reuse_port = true});
  FakeIngest ingest;
  FakeSearcher searcher;
  asio::io_context io;
  ServerOptions options{.host = "127.0.0.1", .port = port_, .temp_dir = temp_dir_ / "second"};
  embed::EmbedderRegistry models;
  Server taken(io, options, ingest, searcher, models, io.get_executor());
  auto busy = taken.Listen();
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(busy.error().message.find("bind"), std::string::npos);

  options.reuse_port = true;
  Server shared(io, options, ingest, searcher, models, io.get_executor());
  auto port = shared.Listen();
  ASSERT_TRUE(port) << port.error().message;
  EXPECT_EQ(*port, port_);

  // TEST-NET-1: not an address of this host.
  Server foreign(io, {.host = "192.0.2.1", .port = 0, .temp_dir = temp_dir_ / "third"}, ingest,
                 searcher, models, io.get_executor());
  auto not_local = foreign.Listen();
  ASSERT_FALSE(not_local);
  EXPECT_EQ(not_local.error().code, ErrorCode::kUnavailable);
}

TEST_F(ServerTest, ShutdownClosesIdleAndFinishesInFlight) {
  Start();
  Client idle(port_);
  ASSERT_EQ(idle.Send(bhttp::verb::get, "/health").result(), bhttp::status::ok);

  // An upload the fake takes 300 ms to handle is in flight during shutdown.
  auto in_flight = std::async(std::launch::async, [this] {
    return Upload({{"username", std::nullopt, "slow"}, {"files", "a.txt", "x"}});
  });
  ASSERT_TRUE(WaitForTempFiles(1, std::chrono::seconds(5)));
  auto started = std::chrono::steady_clock::now();
  Shutdown(std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));

  Response r = in_flight.get();
  EXPECT_EQ(r.result(), bhttp::status::ok) << r.body();
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(idle.ServerClosed());
  EXPECT_THROW(Client{port_}, boost::system::system_error);  // no longer accepting
}

}  // namespace
}  // namespace ragpdf::http
