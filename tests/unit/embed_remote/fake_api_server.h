// A scripted OpenAI-compatible embeddings server on loopback for the tests
// of this module (Boost.Beast, its own thread). By default it answers each
// request with deterministic vectors (ExpectedVector) for its inputs; a
// script can replace any answer with an error status, headers, a raw body,
// a delay or a dropped connection. It records every request, the requests in
// flight and the connections accepted.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace ragpdf::embed::remote::testing {

struct Received {
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::vector<std::string> inputs;
  int connection = 0;
  std::chrono::steady_clock::time_point at;
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;  // nullopt: vectors for the inputs
  std::chrono::milliseconds delay{0};
  bool drop = false;  // close the connection without answering
  bool base64 = false;
  bool reverse = false;  // `data` in reverse order (each entry keeps its index)
  int dimension = 0;     // 0: the server's
};

// `n` is the 0-based number of the request.
using Script = std::function<Reply(const Received& request, int n)>;

// The unit vector the server returns for `text`.
std::vector<float> ExpectedVector(const std::string& text, int dimension);

class FakeApiServer {
 public:
  // `capacity` > 0: requests beyond that many in flight get 429 at once.
  explicit FakeApiServer(Script script = {}, int dimension = 8, int capacity = 0);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::string root_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<Received> requests() const;
  int request_count() const;
  int max_in_flight() const;
  int connections() const;
  int refused_over_capacity() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace ragpdf::embed::remote::testing
