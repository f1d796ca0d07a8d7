#include "embed/remote/curl_client.h"

#include <curl/curl.h>

#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ragpdf::embed::remote {

namespace asio = boost::asio;

namespace {

// Upper bound of one wait for socket activity; curl wakes earlier for its
// own timers and curl_multi_wakeup() interrupts it for new requests.
constexpr int kPollMs = 1000;

struct Transfer {
  HttpRequest request;
  std::function<void(HttpResult)> done;
  std::size_t max_body = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse response;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  // A new status line: an interim (1xx) response precedes the final one.
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name(Trim(line.substr(0, colon)));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t->response.headers[std::move(name)] = std::string(Trim(line.substr(colon + 1)));
  return bytes;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (t->response.body.size() + bytes > t->max_body) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, bytes);
  return bytes;
}

TransportError Classify(CURLcode code, const Transfer& t) {
  using Kind = TransportError::Kind;
  std::string message = t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return {Kind::kTimeout, std::move(message)};
    case CURLE_WRITE_ERROR:
      if (t.too_large) {
        return {Kind::kTooLarge,
                "response body larger than " + std::to_string(t.max_body) + " bytes"};
      }
      return {Kind::kOther, std::move(message)};
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return {Kind::kConnection, std::move(message)};
    default:
      return {Kind::kOther, std::move(message)};
  }
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

class CurlClient::Loop {
 public:
  explicit Loop(CurlClientOptions options) : options_(options) {
    GlobalInit();
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options_.max_connections);
    thread_ = std::thread([this] { Run(); });
  }

  ~Loop() {
    Shutdown();
    curl_multi_cleanup(multi_);
  }

  void Submit(HttpRequest request, std::function<void(HttpResult)> done) {
    auto t = std::make_unique<Transfer>();
    t->request = std::move(request);
    t->done = std::move(done);
    t->max_body = options_.max_response_bytes;
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(t));
      }
    }
    if (t) {
      Fail(*t, {TransportError::Kind::kShutdown, "HTTP client is shut down"});
      return;
    }
    curl_multi_wakeup(multi_);
  }

  void Shutdown() {
    std::call_once(shutdown_once_, [this] {
      {
        std::lock_guard lock(mu_);
        stopping_ = true;
      }
      curl_multi_wakeup(multi_);
      thread_.join();
    });
  }

 private:
  static void Fail(Transfer& t, TransportError error) {
    t.done(tl::unexpected<TransportError>(std::move(error)));
  }

  void Run() {
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
        incoming.swap(queue_);
      }
      for (auto& t : incoming) Begin(std::move(t));
      int running = 0;
      curl_multi_perform(multi_, &running);
      Collect();
      curl_multi_poll(multi_, nullptr, 0, kPollMs, nullptr);
    }
    const TransportError shutdown{TransportError::Kind::kShutdown, "HTTP client is shut down"};
    for (auto& [easy, t] : active_) {
      curl_multi_remove_handle(multi_, easy);
      Fail(*t, shutdown);
    }
    active_.clear();
    std::deque<std::unique_ptr<Transfer>> queued;
    {
      std::lock_guard lock(mu_);
      queued.swap(queue_);
    }
    for (auto& t : queued) Fail(*t, shutdown);
  }

  void Begin(std::unique_ptr<Transfer> t) {
    CURL* easy = curl_easy_init();
    if (easy == nullptr) {
      Fail(*t, {TransportError::Kind::kOther, "curl_easy_init failed"});
      return;
    }
    t->easy = easy;
    for (const std::string& h : t->request.headers) {
      t->headers = curl_slist_append(t->headers, h.c_str());
    }
    // No `Expect: 100-continue` round trip before large bodies.
    t->headers = curl_slist_append(t->headers, "Expect:");
    curl_easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->request.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t->request.body.size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(t->request.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(t->request.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      Fail(*t, {TransportError::Kind::kOther, "curl_multi_add_handle failed"});
      return;
    }
    active_.emplace(easy, std::move(t));
  }

  void Collect() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi_, easy);
      auto node = active_.extract(easy);
      if (node.empty()) continue;
      Transfer& t = *node.mapped();
      if (code != CURLE_OK) {
        Fail(t, Classify(code, t));
        continue;
      }
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      t.response.status = static_cast<int>(status);
      t.done(std::move(t.response));
    }
  }

  CurlClientOptions options_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::once_flag shutdown_once_;
  std::mutex mu_;
  bool stopping_ = false;
  std::deque<std::unique_ptr<Transfer>> queue_;
  std::map<CURL*, std::unique_ptr<Transfer>> active_;  // touched by the thread only
};

CurlClient::CurlClient(CurlClientOptions options) : loop_(std::make_unique<Loop>(options)) {}
CurlClient::~CurlClient() = default;

void CurlClient::Start(HttpRequest request, std::function<void(HttpResult)> done) {
  loop_->Submit(std::move(request), std::move(done));
}

void CurlClient::Shutdown() { loop_->Shutdown(); }

asio::awaitable<HttpResult> CurlClient::Send(HttpRequest request) {
  auto initiate = [this](auto handler, HttpRequest req) {
    auto ex = asio::prefer(asio::get_associated_executor(handler),
                           asio::execution::outstanding_work.tracked);
    // std::function needs a copyable callable; the handler is move-only.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    Start(std::move(req), [shared, ex](HttpResult result) mutable {
      asio::post(ex, [shared, result = std::move(result)]() mutable {
        std::move (*shared)(std::move(result));
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(HttpResult)>(
      std::move(initiate), asio::use_awaitable, std::move(request));
}

}  // namespace ragpdf::embed::remote
