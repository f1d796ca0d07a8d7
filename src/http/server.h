// The HTTP/1.1 API server (Boost.Beast on Asio C++20 coroutines): one
// coroutine per connection with keep-alive, header/body limits and timeouts.
// Handlers only co_await the ingest and query services, so the event loop is
// never blocked. One logfmt line and request metrics per request.
//
// Ownership: the services and models must outlive the io_context's run. Connections
// keep the server's shared state alive, so the Server object may be
// destroyed once Shutdown() completed.
// Thread-safety: construct, Listen() and Start() from one thread; the
// io_context may be run by several threads (each connection has a strand).
// Errors: Listen() returns kUnavailable when the address cannot be bound;
// request errors become JSON error responses (see error_table.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "common/error.h"
#include "embed/embedder.h"
#include "http/options.h"
#include "ingest/service.h"
#include "query/searcher.h"

namespace ragpdf::http {

class Server {
 public:
  // `models` serves POST /v1/embeddings; `cpu` runs that route's JSON
  // parsing and rendering.
  Server(boost::asio::io_context& io, ServerOptions options, ingest::Service& ingest,
         query::Searcher& searcher, const embed::EmbedderRegistry& models,
         boost::asio::any_io_executor cpu);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (port 0: an ephemeral port); returns the bound port.
  // Also creates the upload temp dir.
  common::Result<std::uint16_t> Listen();
  // Spawns the accept loop on the io_context. Call after Listen().
  void Start();
  // Stops accepting and closes idle connections; requests in flight may
  // finish within `grace`, then the remaining connections are closed.
  boost::asio::awaitable<void> Shutdown(std::chrono::milliseconds grace);

 private:
  class State;
  std::shared_ptr<State> state_;
};

}  // namespace ragpdf::http
