#include "http/server.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "common/async.h"
#include "common/metrics.h"
#include "http/router.h"
#include "http/routes.h"
#include "http/upload.h"

namespace ragpdf::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
using common::ErrorCode;
using common::Fail;
using common::Result;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// After an error response with the request body still arriving, keep reading
// (and dropping) it for a while, so the client sees the response instead of
// a connection reset.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerMaxBytes = 64 << 20;
constexpr auto kShutdownPoll = std::chrono::milliseconds(10);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  // Waiting for the next request (shutdown may close it). Touched only on
  // the connection's strand.
  bool idle = true;
};

using HeaderParser = beast_http::request_parser<beast_http::empty_body>;

// The response to a request whose header could not be parsed.
Response HeaderError(const boost::system::error_code& ec) {
  if (ec == beast_http::error::header_limit) {
    return Closing(ErrorResponse({ErrorCode::kBadRequest, "request header too large"},
                                 beast_http::status::request_header_fields_too_large));
  }
  return Closing(ErrorResponse({ErrorCode::kBadRequest, "malformed request: " + ec.message()}));
}

Response TooLarge(std::uint64_t limit) {
  return Closing(ErrorResponse({ErrorCode::kPayloadTooLarge,
                                "request body larger than " + std::to_string(limit) + " bytes"}));
}

// What the per-request log line and metrics need from the request line.
struct RequestInfo {
  std::string method = "-";
  std::string path = "-";
  std::string_view route = "unmatched";
  unsigned version = 11;
  bool keep_alive = false;
  std::uint64_t bytes_in = 0;
  Clock::time_point start = Clock::now();
};

void RecordRequest(const RequestInfo& info, int status, std::size_t bytes_out) {
  double seconds = std::chrono::duration<double>(Clock::now() - info.start).count();
  spdlog::info("http method={} path={} status={} ms={:.1f} bytes_in={} bytes_out={}", info.method,
               info.path, status, seconds * 1000, info.bytes_in, bytes_out);
  auto& metrics = common::Metrics::Global();
  metrics.Inc("ragpdf_http_requests_total",
              fmt::format("route=\"{}\",status=\"{}\"", info.route, status));
  metrics.Observe("ragpdf_http_request_duration_seconds", fmt::format("route=\"{}\"", info.route),
                  seconds);
}

void DescribeMetrics() {
  auto& metrics = common::Metrics::Global();
  metrics.Describe("ragpdf_http_requests_total", "counter", "HTTP requests by route and status");
  metrics.Describe("ragpdf_http_request_duration_seconds", "histogram",
                   "HTTP request duration by route");
  metrics.Describe("ragpdf_files_in_flight", "gauge", "Files being ingested");
  metrics.Describe("ragpdf_files_queued", "gauge", "Files waiting for ingestion");
  metrics.Describe("ragpdf_background_tasks_running", "gauge", "Background tasks running");
}

// Answers `Expect: 100-continue` before the body is read.
asio::awaitable<bool> SendContinue(beast::tcp_stream& stream, const HeaderParser& header) {
  if (!beast::iequals(header.get()[beast_http::field::expect], "100-continue")) co_return true;
  beast_http::response<beast_http::empty_body> res{beast_http::status::continue_,
                                                   header.get().version()};
  auto [ec, n] = co_await beast_http::async_write(stream, res, kAwait);
  co_return !ec;
}

asio::awaitable<void> LingeringClose(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(kLingerTime);
  std::array<char, 16 << 10> sink;
  for (std::size_t total = 0; total < kLingerMaxBytes;) {
    auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(sink), kAwait);
    if (read_ec) break;
    total += n;
  }
}

}  // namespace

class Server::State : public std::enable_shared_from_this<State> {
 public:
  State(asio::io_context& io, ServerOptions options, ingest::Service& ingest,
        query::Searcher& searcher, const embed::EmbedderRegistry& models, asio::any_io_executor cpu)
      : io_(io),
        options_(std::move(options)),
        ingest_(ingest),
        searcher_(searcher),
        models_(models),
        cpu_(std::move(cpu)),
        acceptor_(asio::make_strand(io)) {
    if (options_.temp_dir.empty()) {
      options_.temp_dir = std::filesystem::temp_directory_path() / "ragpdf-uploads";
    }
    DescribeMetrics();
  }

  Result<std::uint16_t> Listen();
  void Start() {
    asio::co_spawn(acceptor_.get_executor(), AcceptLoop(shared_from_this()), asio::detached);
  }
  asio::awaitable<void> Shutdown(std::chrono::milliseconds grace);

 private:
  Result<tcp::endpoint> ResolveEndpoint() const;
  // `self` keeps the state alive while the coroutine runs.
  asio::awaitable<void> AcceptLoop(std::shared_ptr<State> self);
  asio::awaitable<void> Serve(std::shared_ptr<State> self, std::shared_ptr<Connection> conn,
                              std::uint64_t id);
  // Handles one request; returns whether the connection stays open.
  asio::awaitable<bool> ServeOne(Connection& conn, beast::flat_buffer& buffer);
  asio::awaitable<std::optional<Response>> Handle(Connection& conn, beast::flat_buffer& buffer,
                                                  HeaderParser& header, RequestInfo& info);
  asio::awaitable<std::optional<Response>> ReadJsonAndDispatch(Connection& conn,
                                                               beast::flat_buffer& buffer,
                                                               HeaderParser& header,
                                                               const RouteMatch& match,
                                                               RequestInfo& info);
  asio::awaitable<Response> Dispatch(const RouteMatch& match, std::string content_type,
                                     std::string body);
  asio::awaitable<bool> Write(Connection& conn, Response response, RequestInfo& info);
  // Closes connections (only idle ones when `idle_only`) on their strands.
  void CloseConnections(bool idle_only);
  std::size_t ConnectionCount() {
    std::lock_guard lock(mu_);
    return connections_.size();
  }

  asio::io_context& io_;
  ServerOptions options_;
  ingest::Service& ingest_;
  query::Searcher& searcher_;
  const embed::EmbedderRegistry& models_;
  asio::any_io_executor cpu_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 0;
};

Result<tcp::endpoint> Server::State::ResolveEndpoint() const {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (!ec) return tcp::endpoint(address, options_.port);
  // A host name: resolving blocks, but only once at start-up.
  tcp::resolver resolver(io_);
  auto results =
      resolver.resolve(options_.host, std::to_string(options_.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return Fail(ErrorCode::kUnavailable, "cannot resolve host " + options_.host);
  }
  return results.begin()->endpoint();
}

Result<std::uint16_t> Server::State::Listen() {
  std::error_code fs_ec;
  std::filesystem::create_directories(options_.temp_dir, fs_ec);
  if (fs_ec) {
    return Fail(ErrorCode::kStorageError,
                "cannot create temp dir " + options_.temp_dir.string() + ": " + fs_ec.message());
  }
  auto endpoint = ResolveEndpoint();
  if (!endpoint) return Fail(endpoint.error());
  boost::system::error_code ec;
  auto fail = [&](std::string_view what) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("{} {}:{}: {}", what, options_.host, options_.port, ec.message()));
  };
  acceptor_.open(endpoint->protocol(), ec);
  if (ec) return fail("open");
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("SO_REUSEADDR");
  if (options_.reuse_port) {
    using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    acceptor_.set_option(ReusePort(true), ec);
    if (ec) return fail("SO_REUSEPORT");
  }
  acceptor_.bind(*endpoint, ec);
  if (ec) return fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  return acceptor_.local_endpoint().port();
}

asio::awaitable<void> Server::State::AcceptLoop(std::shared_ptr<State> self) {
  while (!stopping_) {
    tcp::socket socket(asio::make_strand(io_));
    auto [ec] = co_await acceptor_.async_accept(socket, kAwait);
    if (stopping_ || ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      // Typically out of file descriptors: back off instead of spinning.
      spdlog::warn("http accept_failed error=\"{}\"", ec.message());
      co_await common::SleepFor(kAcceptRetryDelay);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto conn = std::make_shared<Connection>(std::move(socket));
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mu_);
      id = next_id_++;
      connections_.emplace(id, conn);
    }
    asio::co_spawn(conn->stream.get_executor(), Serve(self, conn, id), asio::detached);
  }
}

asio::awaitable<void> Server::State::Serve(std::shared_ptr<State> self,
                                           std::shared_ptr<Connection> conn, std::uint64_t id) {
  beast::flat_buffer buffer;
  try {
    while (co_await ServeOne(*conn, buffer)) {
    }
  } catch (const std::exception& e) {
    spdlog::error("http connection_failed error=\"{}\"", e.what());
  }
  boost::system::error_code ec;
  conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  conn->stream.close();
  std::lock_guard lock(self->mu_);
  self->connections_.erase(id);
}

asio::awaitable<bool> Server::State::ServeOne(Connection& conn, beast::flat_buffer& buffer) {
  conn.idle = true;
  if (stopping_) co_return false;
  HeaderParser header;
  header.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
  // Body limits are route-specific: checked before reading the body.
  header.body_limit(boost::none);
  conn.stream.expires_after(options_.idle_timeout);
  auto [ec, n] = co_await beast_http::async_read_header(conn.stream, buffer, header, kAwait);
  conn.idle = false;
  RequestInfo info;
  info.bytes_in = n;
  if (ec && !IsMalformedRequest(ec)) co_return false;  // closed, timed out or shut down
  if (ec) {
    // Named, not a temporary: GCC 12 mishandles temporaries with destructors
    // that live across a co_await.
    Response error = HeaderError(ec);
    co_return co_await Write(conn, std::move(error), info);
  }

  const auto& req = header.get();
  info.method = std::string(req.method_string());
  info.path = std::string(req.target().substr(0, req.target().find('?')));
  info.version = req.version();
  info.keep_alive = req.keep_alive();
  std::optional<Response> response;
  try {
    response = co_await Handle(conn, buffer, header, info);
  } catch (const std::exception& e) {
    spdlog::error("http handler_failed path={} error=\"{}\"", info.path, e.what());
    response = Closing(ErrorResponse({ErrorCode::kInternal, "internal error"}));
  }
  if (!response) {
    RecordRequest(info, 499, 0);  // the client went away first
    co_return false;
  }
  co_return co_await Write(conn, std::move(*response), info);
}

asio::awaitable<std::optional<Response>> Server::State::Handle(Connection& conn,
                                                               beast::flat_buffer& buffer,
                                                               HeaderParser& header,
                                                               RequestInfo& info) {
  RouteMatch match = MatchRoute(header.get().method(), header.get().target());
  info.route = match.label;
  if (match.error) {
    // An unread body is still on the wire: do not reuse the connection.
    if (!header.is_done()) match.error->close = true;
    co_return std::move(*match.error);
  }
  if (*match.route != Route::kUpload) {
    co_return co_await ReadJsonAndDispatch(conn, buffer, header, match, info);
  }
  auto boundary = CheckUploadHeaders(header, options_.max_upload_bytes);
  if (!boundary) co_return Closing(ErrorResponse(boundary.error()));
  if (!co_await SendContinue(conn.stream, header)) co_return std::nullopt;
  co_return co_await ServeUpload(conn.stream, buffer, header, std::move(*boundary), options_,
                                 ingest_, info.bytes_in);
}

asio::awaitable<std::optional<Response>> Server::State::ReadJsonAndDispatch(
    Connection& conn, beast::flat_buffer& buffer, HeaderParser& header, const RouteMatch& match,
    RequestInfo& info) {
  std::string content_type(header.get()[beast_http::field::content_type]);
  std::string body;
  if (!header.is_done()) {
    const std::uint64_t limit = *match.route == Route::kOpenAiEmbeddings
                                    ? options_.max_embeddings_body_bytes
                                    : options_.max_json_body_bytes;
    if (header.content_length() && *header.content_length() > limit) co_return TooLarge(limit);
    if (!co_await SendContinue(conn.stream, header)) co_return std::nullopt;
    beast_http::request_parser<beast_http::string_body> parser(std::move(header));
    parser.body_limit(limit);
    conn.stream.expires_after(options_.request_timeout);
    auto [ec, n] = co_await beast_http::async_read(conn.stream, buffer, parser, kAwait);
    info.bytes_in += n;
    if (ec == beast_http::error::body_limit) co_return TooLarge(limit);
    if (ec && IsMalformedRequest(ec)) {
      co_return Closing(ErrorResponse({ErrorCode::kBadRequest, "malformed body: " + ec.message()}));
    }
    if (ec) co_return std::nullopt;
    body = std::move(parser.get().body());
  }
  co_return co_await Dispatch(match, std::move(content_type), std::move(body));
}

asio::awaitable<Response> Server::State::Dispatch(const RouteMatch& match, std::string content_type,
                                                  std::string body) {
  switch (*match.route) {
    case Route::kEmbeddingsCheck:
      co_return co_await CheckEmbeddings(ingest_, std::move(content_type), std::move(body));
    case Route::kEmbeddingsStatus:
      co_return co_await EmbeddingStatus(ingest_, match.file_id, match.model_choice);
    case Route::kNeighbors:
      co_return co_await FindNeighbors(searcher_, std::move(content_type), std::move(body));
    case Route::kDelete:
      co_return co_await DeleteFiles(ingest_, std::move(content_type), std::move(body));
    case Route::kAvailableModels:
      co_return AvailableModels(ingest_);
    case Route::kHealth:
      co_return Health(ingest_);
    case Route::kMetrics:
      co_return MetricsText(ingest_);
    case Route::kOpenAiEmbeddings:
      co_return co_await CreateEmbeddings(models_, cpu_, std::move(content_type), std::move(body),
                                          options_.max_embedding_inputs);
    case Route::kUpload:
      break;  // streamed by Handle()
  }
  co_return ErrorResponse({ErrorCode::kInternal, "route without a handler"});
}

asio::awaitable<bool> Server::State::Write(Connection& conn, Response response, RequestInfo& info) {
  beast_http::response<beast_http::string_body> res{response.status, info.version};
  res.set(beast_http::field::server, "ragpdf");
  res.set(beast_http::field::content_type, response.content_type);
  for (auto& [field, value] : response.headers) res.set(field, value);
  res.body() = std::move(response.body);
  const bool keep_alive = info.keep_alive && !response.close && !stopping_;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  conn.stream.expires_after(options_.idle_timeout);
  auto [ec, n] = co_await beast_http::async_write(conn.stream, res, kAwait);
  RecordRequest(info, static_cast<int>(response.status), n);
  if (ec) co_return false;
  if (response.close) co_await LingeringClose(conn.stream);
  co_return keep_alive;
}

void Server::State::CloseConnections(bool idle_only) {
  std::lock_guard lock(mu_);
  for (auto& [id, conn] : connections_) {
    asio::post(conn->stream.get_executor(), [conn = conn, idle_only] {
      if (!idle_only || conn->idle) conn->stream.close();
    });
  }
}

asio::awaitable<void> Server::State::Shutdown(std::chrono::milliseconds grace) {
  auto self = shared_from_this();
  stopping_ = true;
  asio::post(acceptor_.get_executor(), [self] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
  CloseConnections(/*idle_only=*/true);
  const auto deadline = Clock::now() + grace;
  while (ConnectionCount() > 0 && Clock::now() < deadline) co_await common::SleepFor(kShutdownPoll);
  if (ConnectionCount() > 0) {
    spdlog::warn("http shutdown_grace_expired connections={}", ConnectionCount());
    CloseConnections(/*idle_only=*/false);
  }
}

Server::Server(asio::io_context& io, ServerOptions options, ingest::Service& ingest,
               query::Searcher& searcher, const embed::EmbedderRegistry& models,
               asio::any_io_executor cpu)
    : state_(std::make_shared<State>(io, std::move(options), ingest, searcher, models,
                                     std::move(cpu))) {}

Server::~Server() = default;

Result<std::uint16_t> Server::Listen() { return state_->Listen(); }
void Server::Start() { state_->Start(); }
asio::awaitable<void> Server::Shutdown(std::chrono::milliseconds grace) {
  co_await state_->Shutdown(grace);
}

}  // namespace ragpdf::http
