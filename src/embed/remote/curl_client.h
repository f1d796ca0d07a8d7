// An asynchronous HTTP client on libcurl's multi interface. One dedicated
// thread per client drives every transfer; connections are kept alive and
// reused (one connection cache per client, at most max_connections per
// host), TLS peers are verified, and every request has a connect and a
// total timeout, so each Send() completes.
//
// Send() never blocks its caller: the request is queued to the client's
// thread and the result is posted back to the awaiting coroutine's executor.
//
// Ownership: the client owns its thread; Shutdown() (or the destructor)
// fails queued and running requests with kShutdown and joins the thread; a
// Send() after that completes at once with kShutdown. The executors that
// await Send() must still accept posted work at that time (app/ destroys
// embedders before the io_context).
// Thread-safety: Send() may be called from any thread concurrently.
// Errors: transport failures are TransportError values; any HTTP status is a
// response (the caller classifies it).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <tl/expected.hpp>

#include "embed/remote/retry_hints.h"

namespace ragpdf::embed::remote {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent as POST
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds connect_timeout{10000};
};

struct HttpResponse {
  int status = 0;
  std::string body;
  HeaderMap headers;  // of the final response, lower-case names
};

struct TransportError {
  enum class Kind {
    kTimeout,     // connect or total timeout
    kConnection,  // refused, reset, closed without an answer, name lookup
    kTooLarge,    // response body over max_response_bytes
    kShutdown,    // the client was shut down
    kOther,       // TLS verification, malformed URL, ...
  };
  Kind kind = Kind::kOther;
  std::string message;
};

using HttpResult = tl::expected<HttpResponse, TransportError>;

struct CurlClientOptions {
  // Connections per host (and size of the connection cache).
  long max_connections = 64;
  std::size_t max_response_bytes = 512u << 20;
};

class CurlClient {
 public:
  explicit CurlClient(CurlClientOptions options);
  ~CurlClient();
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  boost::asio::awaitable<HttpResult> Send(HttpRequest request);
  // Callback form: `done` runs on the client's thread (keep it short).
  void Start(HttpRequest request, std::function<void(HttpResult)> done);
  void Shutdown();

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace ragpdf::embed::remote
