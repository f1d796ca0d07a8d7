// The HTTP client alone, against the loopback fake server.
#include "embed/remote/curl_client.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "fake_api_server.h"

namespace ragpdf::embed::remote {
namespace {

namespace asio = boost::asio;
using testing::FakeApiServer;
using testing::Received;
using testing::Reply;
using Kind = TransportError::Kind;

HttpResult Send(CurlClient& client, HttpRequest request) {
  asio::io_context io;
  auto f = asio::co_spawn(io, client.Send(std::move(request)), asio::use_future);
  io.run();
  return f.get();
}

HttpRequest Post(const FakeApiServer& server, std::string body) {
  return HttpRequest{.url = server.base_url() + "/embeddings",
                     .headers = {"Content-Type: application/json", "X-Custom: 1"},
                     .body = std::move(body)};
}

TEST(CurlClient, StatusBodyAndLowerCaseHeaders) {
  FakeApiServer server([](const Received&, int) {
    return Reply{.status = 503,
                 .headers = {{"Retry-After", "7"}, {"X-RateLimit-Reset-Tokens", "6m0s"}},
                 .body = "busy"};
  });
  CurlClient client({});
  HttpResult r = Send(client, Post(server, R"({"input":["a"]})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy");
  EXPECT_EQ(r->headers.at("retry-after"), "7");
  EXPECT_EQ(r->headers.at("x-ratelimit-reset-tokens"), "6m0s");
  const Received got = server.requests().at(0);
  EXPECT_EQ(got.headers.at("x-custom"), "1");
  EXPECT_FALSE(got.headers.contains("expect"));
  EXPECT_EQ(got.inputs, std::vector<std::string>{"a"});
}

TEST(CurlClient, ResponseSizeLimit) {
  FakeApiServer server([](const Received&, int) { return Reply{.body = std::string(5000, 'x')}; });
  CurlClient client({.max_response_bytes = 1000});
  HttpResult r = Send(client, Post(server, "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Kind::kTooLarge);
}

TEST(CurlClient, LargeBodyIsSentWhole) {
  FakeApiServer server;
  CurlClient client({});
  const std::string text(3 << 20, 'q');
  HttpResult r = Send(client, Post(server, R"({"input":[")" + text + R"("]})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.requests().at(0).inputs.at(0), text);
}

TEST(CurlClient, SendAfterShutdownFailsAtOnce) {
  FakeApiServer server;
  CurlClient client({});
  client.Shutdown();
  client.Shutdown();  // idempotent
  HttpResult r = Send(client, Post(server, "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Kind::kShutdown);
  EXPECT_EQ(server.request_count(), 0);
}

TEST(CurlClient, MalformedUrlIsAnError) {
  CurlClient client({});
  HttpResult r = Send(client, HttpRequest{.url = "http://[::1"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Kind::kOther);
  EXPECT_FALSE(r.error().message.empty());
}

}  // namespace
}  // namespace ragpdf::embed::remote
