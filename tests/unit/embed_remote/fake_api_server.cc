#include "fake_api_server.h"

#include <algorithm>
#include <cmath>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

#include "embed/remote/wire_format.h"

namespace ragpdf::embed::remote::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;

std::vector<float> ExpectedVector(const std::string& text, int dimension) {
  std::vector<float> v(static_cast<std::size_t>(dimension));
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  double norm = 0;
  for (int i = 0; i < dimension; ++i) {
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    v[i] = static_cast<float>(static_cast<double>(h >> 40) / double(1 << 24) - 0.5);
    norm += double(v[i]) * v[i];
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

class FakeApiServer::Impl {
 public:
  Impl(Script script, int dimension, int capacity)
      : script_(std::move(script)), dimension_(dimension), capacity_(capacity), acceptor_(io_) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
  }

  std::uint16_t Start() {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
    return acceptor_.local_endpoint().port();
  }

  void Stop() {
    io_.stop();
    thread_.join();
  }

  mutable std::mutex mu;
  std::vector<Received> received;
  int in_flight = 0;
  int max_in_flight = 0;
  int connections = 0;
  int refused = 0;

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      int id = 0;
      {
        std::lock_guard lock(mu);
        id = ++connections;
      }
      asio::co_spawn(io_, Session(std::move(socket), id), asio::detached);
    }
  }

  std::string Body(const Received& r, const Reply& reply) const {
    const int dim = reply.dimension ? reply.dimension : dimension_;
    json::array data;
    for (std::size_t i = 0; i < r.inputs.size(); ++i) {
      const std::vector<float> v = ExpectedVector(r.inputs[i], dim);
      json::value embedding;
      if (reply.base64) {
        embedding = json::string(EncodeFloatsBase64(v));
      } else {
        json::array values;
        for (float x : v) values.push_back(static_cast<double>(x));
        embedding = std::move(values);
      }
      data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
    }
    if (reply.reverse) std::reverse(data.begin(), data.end());
    return json::serialize(json::object{{"object", "list"},
                                        {"data", std::move(data)},
                                        {"model", "fake"},
                                        {"usage", {{"prompt_tokens", 1}, {"total_tokens", 1}}}});
  }

  asio::awaitable<void> Session(tcp::socket socket, int id) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    try {
      for (;;) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(64 << 20);
        co_await bhttp::async_read(stream, buffer, parser, asio::use_awaitable);
        bhttp::request<bhttp::string_body> req = parser.release();
        Received r{.target = std::string(req.target()),
                   .body = req.body(),
                   .connection = id,
                   .at = std::chrono::steady_clock::now()};
        for (const auto& field : req) {
          std::string name(field.name_string());
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          r.headers[name] = std::string(field.value());
        }
        boost::system::error_code ec;
        json::value parsed = json::parse(r.body, ec);
        if (!ec && parsed.is_object() && parsed.as_object().contains("input")) {
          for (const auto& v : parsed.as_object().at("input").as_array()) {
            r.inputs.emplace_back(v.as_string());
          }
        }
        Reply reply;
        int n = 0;
        {
          std::lock_guard lock(mu);
          n = static_cast<int>(received.size());
          received.push_back(r);
          ++in_flight;
          max_in_flight = std::max(max_in_flight, in_flight);
          if (capacity_ > 0 && in_flight > capacity_) {
            ++refused;
            reply.status = 429;
            reply.body = R"({"error":{"message":"over capacity"}})";
          } else if (script_) {
            reply = script_(r, n);
          }
        }
        if (reply.delay.count() > 0) {
          asio::steady_timer timer(stream.get_executor(), reply.delay);
          co_await timer.async_wait(asio::use_awaitable);
        }
        if (reply.drop) {
          std::lock_guard lock(mu);
          --in_flight;
          break;
        }
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
        res.set(bhttp::field::content_type, "application/json");
        for (const auto& [name, value] : reply.headers) res.set(name, value);
        res.body() = reply.body ? *reply.body : Body(r, reply);
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        {
          std::lock_guard lock(mu);
          --in_flight;
        }
        co_await bhttp::async_write(stream, res, asio::use_awaitable);
        if (!req.keep_alive()) break;
      }
    } catch (const std::exception&) {
      // The client closed the connection.
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  }

  Script script_;
  int dimension_;
  int capacity_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

FakeApiServer::FakeApiServer(Script script, int dimension, int capacity)
    : impl_(std::make_unique<Impl>(std::move(script), dimension, capacity)) {
  port_ = impl_->Start();
}

FakeApiServer::~FakeApiServer() { impl_->Stop(); }

std::vector<Received> FakeApiServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}
int FakeApiServer::request_count() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->received.size());
}
int FakeApiServer::max_in_flight() const {
  std::lock_guard lock(impl_->mu);
  return impl_->max_in_flight;
}
int FakeApiServer::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections;
}
int FakeApiServer::refused_over_capacity() const {
  std::lock_guard lock(impl_->mu);
  return impl_->refused;
}

}  // namespace ragpdf::embed::remote::testing
