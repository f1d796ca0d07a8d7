#include "app/serve.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "app/models.h"
#include "common/async.h"
#include "common/log.h"
#include "http/server.h"
#include "ingest/ingest_service.h"
#include "parse/parser.h"
#include "query/store_searcher.h"
#include "store/local_blob_store.h"
#include "store/sqlite_store.h"

namespace ragpdf::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

std::string ProcessId() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  return fmt::format("{}:{}:{:08x}", host, getpid(), rd());
}

// Temporary upload files live in <data>/tmp/<pid>; directories of processes
// that no longer exist are leftovers of a crash.
fs::path PrepareTempDir(const fs::path& data_dir) {
  const fs::path root = data_dir / "tmp";
  std::error_code ec;
  fs::create_directories(root, ec);
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    const bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && kill(static_cast<pid_t>(std::stol(name)), 0) != 0 && errno == ESRCH) {
      fs::remove_all(it->path(), ec);
    }
  }
  const fs::path mine = root / std::to_string(getpid());
  fs::create_directories(mine, ec);
  return mine;
}

std::size_t CpuThreads() { return std::max<std::size_t>(1, std::thread::hardware_concurrency()); }

}  // namespace

int RunWorker(const ServeConfig& config, bool reuse_port) {
  common::InitLogging(config.log_level);
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::critical("startup data_dir={} message=\"{}\"", config.data_dir.string(), ec.message());
    return 1;
  }
  const fs::path temp_dir = PrepareTempDir(config.data_dir);

  auto store = store::SqliteStore::Open({.db_path = config.data_dir / "ragpdf.db",
                                         .tabular_db_path = config.data_dir / "tabular_data.db"});
  if (!store) {
    spdlog::critical("startup store=false message=\"{}\"", store.error().message);
    return 1;
  }
  auto blobs = store::LocalBlobStore::Open(config.data_dir / "blobs");
  if (!blobs) {
    spdlog::critical("startup blobs=false message=\"{}\"", blobs.error().message);
    return 1;
  }

  asio::io_context io(1);
  asio::thread_pool parse_pool(static_cast<std::size_t>(config.max_concurrent_tasks));
  asio::thread_pool cpu_pool(CpuThreads());
  asio::thread_pool db_pool(4);

  embed::EmbedderRegistry models;
  const ProviderContext providers{.io = io.get_executor(), .cpu = cpu_pool.get_executor()};
  if (auto built = BuildModels(config.models, providers, models); !built) {
    spdlog::critical("startup models=false message=\"{}\"", built.error().message);
    return 1;
  }

  parse::ParseOptions parse_options;
  parse_options.timeout = std::chrono::seconds(config.parse_timeout_s);
  parse_options.worker_executable = fs::read_symlink("/proc/self/exe", ec);
  parse::Parser parser(parse_options);

  ingest::IngestOptions ingest_options{
      .data_dir = config.data_dir,
      .process_id = ProcessId(),
      .max_concurrent_tasks = static_cast<std::size_t>(config.max_concurrent_tasks),
      .lease = std::chrono::milliseconds(config.lease_ms)};
  if (config.chunk_tokens > 0) ingest_options.chunk_tokens = config.chunk_tokens;
  if (config.chunk_overlap >= 0) ingest_options.chunk_overlap = config.chunk_overlap;
  ingest::IngestService ingest(ingest::IngestDeps{.io = io.get_executor(),
                                                  .parse_pool = parse_pool.get_executor(),
                                                  .cpu_pool = cpu_pool.get_executor(),
                                                  .db_pool = db_pool.get_executor(),
                                                  .store = store->get(),
                                                  .blobs = blobs->get(),
                                                  .models = &models,
                                                  .parser = &parser},
                               ingest_options);
  query::StoreSearcher searcher(db_pool.get_executor(), cpu_pool.get_executor(), **store, models,
                                query::SearcherOptions{});

  http::ServerOptions http_options;
  http_options.host = config.host;
  http_options.port = config.port;
  http_options.reuse_port = reuse_port;
  http_options.temp_dir = temp_dir;
  http_options.max_upload_bytes = config.max_upload_mb << 20;
  http::Server server(io, http_options, ingest, searcher, models, cpu_pool.get_executor());
  auto port = server.Listen();
  if (!port) {
    spdlog::critical("startup listen=false message=\"{}\"", port.error().message);
    return 1;
  }
  ingest.Start();
  server.Start();
  spdlog::info("listening host={} port={} workers={} model={}", config.host, *port, config.workers,
               models.Default()->info().name);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int sig) {
    if (error) return;
    spdlog::info("shutdown signal={}", sig);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await server.Shutdown(std::chrono::seconds(10));
          co_await ingest.Shutdown();
          io.stop();
        },
        asio::detached);
  });
  io.run();
  parse_pool.join();
  cpu_pool.join();
  db_pool.join();
  fs::remove_all(temp_dir, ec);
  spdlog::info("stopped");
  return 0;
}

namespace {

pid_t SpawnWorker(const ServeConfig& config) {
  const pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    _exit(RunWorker(config, /*reuse_port=*/true));
  }
  return pid;
}

}  // namespace

int RunSupervisor(const ServeConfig& config) {
  common::InitLogging(config.log_level);
  // Signals are taken synchronously with sigwait; workers unblock them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  std::map<pid_t, int> workers;  // pid -> slot
  for (int slot = 0; slot < config.workers; ++slot) workers[SpawnWorker(config)] = slot;
  spdlog::info("supervisor workers={} port={}", config.workers, config.port);

  bool stopping = false;
  auto last_restart = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  while (!workers.empty()) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGINT || sig == SIGTERM) {
      stopping = true;
      for (const auto& [pid, slot] : workers) kill(pid, SIGTERM);
      continue;
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = workers.find(pid);
      if (it == workers.end()) continue;
      const int slot = it->second;
      workers.erase(it);
      if (stopping) continue;
      spdlog::error("supervisor worker_pid={} exited status={}; restarting", pid, status);
      // Avoid a tight crash loop.
      if (std::chrono::steady_clock::now() - last_restart < std::chrono::seconds(1)) sleep(1);
      last_restart = std::chrono::steady_clock::now();
      workers[SpawnWorker(config)] = slot;
    }
  }
  spdlog::info("supervisor stopped");
  return 0;
}

}  // namespace ragpdf::app
