#include "ingest/ingest_service.h"

#include <atomic>
#include <fstream>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include "chunk/chunker.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "ingest/background.h"
#include "ingest/blob_keys.h"
#include "ingest/job_scheduler.h"

namespace ragpdf::ingest {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using common::Error;
using common::ErrorCode;
using common::Fail;
using common::FileStatus;
using common::Result;
using Clock = std::chrono::steady_clock;

namespace {

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void LogStage(const std::string& file_id, const std::string& model, std::string_view stage,
              Clock::time_point start, const Result<void>& outcome) {
  const double seconds = SecondsSince(start);
  common::Metrics::Global().Observe("ragpdf_stage_duration_seconds",
                                    fmt::format("stage=\"{}\"", stage), seconds);
  if (outcome) {
    spdlog::info("stage file_id={} model={} stage={} ms={:.1f} ok=true", file_id, model, stage,
                 seconds * 1000);
  } else {
    spdlog::warn("stage file_id={} model={} stage={} ms={:.1f} ok=false code={} message=\"{}\"",
                 file_id, model, stage, seconds * 1000, common::ErrorCodeName(outcome.error().code),
                 outcome.error().message);
  }
}

Result<void> VoidOf(const Error* error) {
  if (error) return Fail(*error);
  return {};
}

std::string ReadHead(const fs::path& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

FileOutcome ErrorOutcome(FileOutcome base, Error error) {
  base.status = FileStatus::kError;
  base.error = std::move(error);
  return base;
}

FileOutcome FromState(FileOutcome base, const store::ModelState& state) {
  base.status = state.status;
  base.pages = state.pages;
  base.chunks = state.chunks;
  if (state.status == FileStatus::kError && state.error) base.error = state.error;
  return base;
}

void CountFinal(const FileOutcome& outcome) {
  common::Metrics::Global().Inc(
      "ragpdf_files_total", fmt::format("status=\"{}\"", common::FileStatusName(outcome.status)));
}

}  // namespace

class IngestService::Impl {
 public:
  Impl(IngestDeps deps, IngestOptions options)
      : deps_(std::move(deps)),
        options_(std::move(options)),
        staging_(options_.data_dir / "staging"),
        scheduler_(std::make_unique<LocalJobScheduler>(options_.max_concurrent_tasks)),
        tasks_(deps_.io),
        background_(deps_, staging_,
                    BackgroundOptions{.worker_id = options_.process_id,
                                      .concurrency = options_.background_concurrency,
                                      .poll = options_.task_poll,
                                      .lease = options_.lease,
                                      .retry = options_.retry}) {
    auto& m = common::Metrics::Global();
    m.Describe("ragpdf_uploads_total", "counter", "Upload requests accepted.");
    m.Describe("ragpdf_files_total", "counter", "Files by the status they reached in an upload.");
    m.Describe("ragpdf_chunks_embedded_total", "counter", "Chunks embedded and committed.");
    m.Describe("ragpdf_stage_duration_seconds", "histogram", "Duration of each pipeline stage.");
    m.Describe("ragpdf_transient_retries_total", "counter", "Retries of transient failures.");
  }

  void Start() {
    background_.Start();
    tasks_.Spawn(RecoveryLoop());
  }

  asio::awaitable<void> Shutdown() {
    tasks_.Stop();
    co_await background_.Shutdown();
    co_await tasks_.Join();
  }

  // ---- Upload -------------------------------------------------------------

  asio::awaitable<Result<UploadResponse>> Upload(UploadRequest request) {
    auto embedder = deps_.models->Resolve(request.model_choice);
    if (!embedder) {
      DiscardTemps(request);
      co_return Fail(embedder.error());
    }
    if (tasks_.stopping()) {
      DiscardTemps(request);
      co_return Fail(ErrorCode::kUnavailable, "server is shutting down");
    }
    if (scheduler_->queued() + request.files.size() > options_.max_queued_files) {
      DiscardTemps(request);
      co_return Fail(ErrorCode::kOverloaded, "too many files queued; retry later");
    }
    common::Metrics::Global().Inc("ragpdf_uploads_total");
    std::vector<asio::awaitable<FileOutcome>> work;
    for (auto& file : request.files) {
      work.push_back(HandleUploaded(std::move(file), *embedder, request.username, request.wait));
    }
    for (auto& id : request.existing_file_ids) {
      work.push_back(HandleExisting(id, *embedder, request.username, request.wait));
    }
    UploadResponse response;
    response.model = (*embedder)->info().name;
    response.files = co_await common::WhenAll(std::move(work));
    for (const auto& f : response.files) CountFinal(f);
    co_return response;
  }

  // ---- Queries ------------------------------------------------------------

  asio::awaitable<Result<CheckResponse>> Check(std::vector<std::string> ids, std::string model) {
    auto embedder = deps_.models->Resolve(model);
    if (!embedder) co_return Fail(embedder.error());
    const std::string name = (*embedder)->info().name;
    auto states = co_await Db([this, &ids, &name]() -> Result<std::vector<CheckItem>> {
      std::vector<CheckItem> items;
      for (const auto& id : ids) {
        auto state = deps_.store->GetState(id, name);
        if (!state) return Fail(state.error());
        CheckItem item{.file_id = id, .model_type = name};
        if (*state) {
          item.status = (*state)->status;
          item.embeddings_exist = common::CanChat(item.status);
        }
        items.push_back(std::move(item));
      }
      return items;
    });
    if (!states) co_return Fail(states.error());
    co_return CheckResponse{.model = name, .results = std::move(*states)};
  }

  asio::awaitable<Result<StatusResponse>> Status(std::string id, std::string model) {
    auto embedder = deps_.models->Resolve(model);
    if (!embedder) co_return Fail(embedder.error());
    const std::string name = (*embedder)->info().name;
    auto state = co_await Db([this, &id, &name] { return deps_.store->GetState(id, name); });
    if (!state) co_return Fail(state.error());
    StatusResponse r{.file_id = id, .model = name};
    if (*state) {
      r.status = (*state)->status;
      r.pages = (*state)->pages;
      r.chunks = (*state)->chunks;
      r.error = (*state)->error;
    }
    r.message = StatusMessage(r);
    co_return r;
  }

  asio::awaitable<Result<DeleteResponse>> Delete(std::vector<std::string> ids,
                                                 std::string username) {
    DeleteResponse response;
    for (const auto& id : ids) {
      auto removed = co_await Db([this, &id, &username] { return DeleteForUser(id, username); });
      DeleteItem item{.file_id = id};
      if (removed) {
        item.removed = *removed;
      } else {
        item.error = removed.error();
      }
      response.results.push_back(std::move(item));
    }
    co_return response;
  }

  std::vector<embed::ModelInfo> AvailableModels() const {
    std::vector<embed::ModelInfo> out;
    for (const auto& e : deps_.models->All()) out.push_back(e->info());
    return out;
  }

  Stats GetStats() const {
    return Stats{.files_in_flight = scheduler_->running(),
                 .files_queued = scheduler_->queued(),
                 .background_tasks_running = background_.running(),
                 .ready = !tasks_.stopping()};
  }

 private:
  using EmbedderPtr = std::shared_ptr<embed::Embedder>;

  // Runs blocking store/blob work on the db pool, retrying transient errors.
  template <typename F>
  auto Db(F fn) -> asio::awaitable<std::invoke_result_t<F&>> {
    auto policy = options_.retry;
    co_return co_await common::Offload(deps_.db_pool, [fn = std::move(fn), policy]() mutable {
      int attempt = 0;
      return common::RetryBlocking(policy, [&] {
        if (attempt++ > 0) common::Metrics::Global().Inc("ragpdf_transient_retries_total");
        return fn();
      });
    });
  }

  static std::string StatusMessage(const StatusResponse& r) {
    switch (r.status) {
      case FileStatus::kNotStarted:
        return "No embeddings for this file and model yet.";
      case FileStatus::kInProgress:
        return "Embeddings are being created.";
      case FileStatus::kReadyForChat:
        return "Embeddings are ready; background storage is still running.";
      case FileStatus::kCompleted:
        return "Embeddings are ready and stored.";
      case FileStatus::kError:
        return r.error ? fmt::format("Processing failed: {}", r.error->message)
                       : "Processing failed.";
    }
    return {};
  }

  void DiscardTemps(const UploadRequest& request) {
    std::error_code ec;
    for (const auto& f : request.files) fs::remove(f.temp_path, ec);
  }

  std::string NewHolder() {
    return fmt::format("{}-{}", options_.process_id, next_holder_.fetch_add(1));
  }

  // Owner updates for existing files are off the critical path.
  void AddOwnerInBackground(std::string file_id, std::string username) {
    tasks_.Spawn([this, file_id = std::move(file_id),
                  username = std::move(username)]() -> asio::awaitable<void> {
      auto r = co_await Db(
          [this, &file_id, &username] { return deps_.store->AddOwner(file_id, username); });
      if (!r) {
        spdlog::warn("owner file_id={} user={} ok=false message=\"{}\"", file_id, username,
                     r.error().message);
      }
    });
  }

  struct Lookup {
    store::FileRecord file;
    std::optional<store::ModelState> state;
  };

  asio::awaitable<FileOutcome> HandleUploaded(UploadedFile upload, EmbedderPtr embedder,
                                              std::string username, bool wait) {
    FileOutcome base{.file_id = upload.sha256, .filename = upload.filename};
    const std::string model = embedder->info().name;
    // Categorize and look up existing embeddings in one trip to the pool.
    auto lookup = co_await Db([this, &upload, &model]() -> Result<Lookup> {
      const auto format = parse::DetectFormat(upload.filename, ReadHead(upload.temp_path, 1024));
      store::FileRecord rec{.file_id = upload.sha256,
                            .filename = upload.filename,
                            .format = format,
                            .kind = common::KindOf(format),
                            .size_bytes = static_cast<std::int64_t>(upload.size)};
      if (format == common::FileFormat::kUnknown) return Lookup{.file = rec};
      auto state = deps_.store->GetState(upload.sha256, model);
      if (!state) return Fail(state.error());
      return Lookup{.file = rec, .state = *state};
    });
    if (!lookup) {
      RemoveTemp(upload.temp_path);
      co_return ErrorOutcome(base, lookup.error());
    }
    base.kind = lookup->file.kind;
    if (lookup->file.format == common::FileFormat::kUnknown) {
      RemoveTemp(upload.temp_path);
      co_return ErrorOutcome(base, Error{ErrorCode::kUnsupportedFormat,
                                         "unsupported file type: " + upload.filename +
                                             " (expected PDF, TXT, MD, CSV, TSV or XLSX)"});
    }
    if (upload.size == 0) {
      RemoveTemp(upload.temp_path);
      co_return ErrorOutcome(base, Error{ErrorCode::kEmptyFile, "the file is empty"});
    }
    if (lookup->state && common::CanChat(lookup->state->status)) {
      RemoveTemp(upload.temp_path);
      AddOwnerInBackground(upload.sha256, username);
      auto out = FromState(base, *lookup->state);
      out.reused = true;
      co_return out;
    }
    // New for this model: the uploader must own it before anyone can see it.
    auto registered = co_await Db([this, &rec = lookup->file, &username]() -> Result<void> {
      auto stored = deps_.store->UpsertFile(rec);
      if (!stored) return Fail(stored.error());
      return deps_.store->AddOwner(rec.file_id, username);
    });
    if (!registered) {
      RemoveTemp(upload.temp_path);
      co_return ErrorOutcome(base, registered.error());
    }
    co_return co_await ClaimAndIngest(base, lookup->file.format, upload.temp_path, embedder, wait);
  }

  asio::awaitable<FileOutcome> HandleExisting(std::string file_id, EmbedderPtr embedder,
                                              std::string username, bool wait) {
    FileOutcome base{.file_id = file_id};
    const std::string model = embedder->info().name;
    auto lookup = co_await Db([this, &file_id, &model]() -> Result<Lookup> {
      auto file = deps_.store->GetFile(file_id);
      if (!file) return Fail(file.error());
      if (!*file) return Fail(ErrorCode::kNotFound, "no file with id " + file_id);
      auto state = deps_.store->GetState(file_id, model);
      if (!state) return Fail(state.error());
      return Lookup{.file = **file, .state = *state};
    });
    if (!lookup) co_return ErrorOutcome(base, lookup.error());
    base.filename = lookup->file.filename;
    base.kind = lookup->file.kind;
    AddOwnerInBackground(file_id, username);
    if (lookup->state && common::CanChat(lookup->state->status)) {
      auto out = FromState(base, *lookup->state);
      out.reused = true;
      co_return out;
    }
    // Known file, new model (or a failed attempt): embed it from its raw bytes.
    auto raw = co_await Db([this, &file_id] { return FetchRaw(file_id); });
    if (!raw) co_return ErrorOutcome(base, raw.error());
    co_return co_await ClaimAndIngest(base, lookup->file.format, *raw, embedder, wait);
  }

  // A private copy of the file's raw bytes from staging or the blob store.
  Result<fs::path> FetchRaw(const std::string& file_id) {
    const fs::path dest = options_.data_dir / "tmp" / fmt::format("fetch-{}", NewHolder());
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (auto staged = staging_.Find(file_id)) {
      fs::copy_file(*staged, dest, fs::copy_options::overwrite_existing, ec);
      if (!ec) return dest;
    }
    auto got = deps_.blobs->GetFile(RawKey(file_id), dest);
    if (!got) {
      return Fail(
          got.error().code == ErrorCode::kNotFound ? ErrorCode::kInterrupted : got.error().code,
          "raw bytes of " + file_id + " are not available: " + got.error().message);
    }
    return dest;
  }

  void RemoveTemp(const fs::path& path) {
    std::error_code ec;
    fs::remove(path, ec);
  }

  // Single flight: claim the (file, model) lease, or follow whoever holds it.
  asio::awaitable<FileOutcome> ClaimAndIngest(FileOutcome base, common::FileFormat format,
                                              fs::path raw, EmbedderPtr embedder, bool wait) {
    const std::string model = embedder->info().name;
    for (;;) {
      const std::string holder = NewHolder();
      auto claim = co_await Db([this, &id = base.file_id, &model, &holder] {
        return deps_.store->TryClaim(id, model, holder, options_.lease);
      });
      if (!claim) {
        RemoveTemp(raw);
        co_return ErrorOutcome(base, claim.error());
      }
      if (claim->outcome == store::ClaimOutcome::kReady) {
        RemoveTemp(raw);
        auto out = FromState(base, claim->state);
        out.reused = true;
        co_return out;
      }
      if (claim->outcome == store::ClaimOutcome::kClaimed) {
        co_return co_await RunClaimed(base, format, raw, embedder, holder, wait);
      }
      // Another worker holds a live lease.
      if (!wait) {
        RemoveTemp(raw);
        base.status = FileStatus::kInProgress;
        co_return base;
      }
      auto settled = co_await WaitForOther(base.file_id, model);
      if (!settled) {
        RemoveTemp(raw);
        co_return ErrorOutcome(base, settled.error());
      }
      if (settled->status != FileStatus::kInProgress) {
        RemoveTemp(raw);
        auto out = FromState(base, *settled);
        out.reused = common::CanChat(settled->status);
        co_return out;
      }
      if (tasks_.stopping()) {
        RemoveTemp(raw);
        base.status = FileStatus::kInProgress;
        co_return base;
      }
      // The other worker's lease expired: loop and try to take over.
    }
  }

  // The caller holds the lease as `holder`: stage the bytes and run the job.
  asio::awaitable<FileOutcome> RunClaimed(FileOutcome base, common::FileFormat format, fs::path raw,
                                          EmbedderPtr embedder, std::string holder, bool wait) {
    const std::string model = embedder->info().name;
    auto staged = co_await Db(
        [this, &raw, &id = base.file_id, &holder] { return staging_.Stage(raw, id, holder); });
    if (!staged) {
      RemoveTemp(raw);
      co_await Db([this, &id = base.file_id, &model, &e = staged.error()] {
        return deps_.store->MarkError(id, model, e);
      });
      co_return ErrorOutcome(base, staged.error());
    }
    Job job{
        .base = base, .format = format, .staged = *staged, .embedder = embedder, .holder = holder};
    if (wait) co_return co_await RunJob(std::move(job));
    tasks_.Spawn([this, job = std::move(job)]() mutable -> asio::awaitable<void> {
      co_await RunJob(std::move(job));
    });
    base.status = FileStatus::kInProgress;
    co_return base;
  }

  // Polls until the file leaves in_progress or its lease expires.
  asio::awaitable<Result<store::ModelState>> WaitForOther(std::string file_id, std::string model) {
    for (;;) {
      co_await common::SleepFor(options_.wait_poll);
      auto state =
          co_await Db([this, &file_id, &model] { return deps_.store->GetState(file_id, model); });
      if (!state) co_return Fail(state.error());
      if (!*state) co_return Fail(ErrorCode::kNotFound, "file was deleted while being processed");
      const auto& s = **state;
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      if (s.status != FileStatus::kInProgress || s.lease_expires_ms < now_ms || tasks_.stopping()) {
        co_return s;
      }
    }
  }

  struct Job {
    FileOutcome base;
    common::FileFormat format;
    fs::path staged;
    EmbedderPtr embedder;
    std::string holder;
  };

  asio::awaitable<FileOutcome> RunJob(Job job) {
    auto lease_alive = std::make_shared<bool>(true);
    auto stop_heartbeat = std::make_shared<asio::steady_timer>(deps_.io);
    tasks_.Spawn(Heartbeat(job.base.file_id, job.embedder->info().name, job.holder, lease_alive,
                           stop_heartbeat));
    JobTicket ticket{.file_id = job.base.file_id, .model = job.embedder->info().name};
    auto slot = co_await scheduler_->Acquire(std::move(ticket));
    auto outcome = co_await Pipeline(job);
    stop_heartbeat->cancel();
    *lease_alive = false;
    co_return outcome;
  }

  // Keeps the lease alive while the job is queued or running.
  asio::awaitable<void> Heartbeat(std::string file_id, std::string model, std::string holder,
                                  std::shared_ptr<bool> alive,
                                  std::shared_ptr<asio::steady_timer> timer) {
    while (*alive) {
      timer->expires_after(options_.lease / 3);
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!*alive) break;
      auto r = co_await Db([this, &file_id, &model, &holder] {
        return deps_.store->RenewLease(file_id, model, holder, options_.lease);
      });
      if (!r) {
        spdlog::warn("lease file_id={} model={} renewed=false message=\"{}\"", file_id, model,
                     r.error().message);
        break;
      }
    }
  }

  asio::awaitable<FileOutcome> Pipeline(const Job& job) {
    const std::string& id = job.base.file_id;
    const std::string model = job.embedder->info().name;
    const auto total_start = Clock::now();

    auto start = Clock::now();
    auto parsed = co_await common::Offload(deps_.parse_pool,
                                           [this, &path = job.staged, &format = job.format] {
                                             return deps_.parser->Parse(path, format);
                                           });
    LogStage(id, model, "parse", start, VoidOf(parsed ? nullptr : &parsed.error()));
    if (!parsed) co_return co_await FailJob(job, parsed.error());

    if (parsed->table) {
      start = Clock::now();
      auto stored = co_await Db([this, &id, table = &*parsed->table]() -> Result<void> {
        auto name = deps_.store->StoreTable(id, *table);
        if (!name) return Fail(name.error());
        return {};
      });
      LogStage(id, model, "table", start, stored);
      if (!stored) co_return co_await FailJob(job, stored.error());
    }

    start = Clock::now();
    auto chunks = co_await common::Offload(
        deps_.cpu_pool,
        [this, &parsed, &embedder = job.embedder]() -> Result<std::vector<chunk::Chunk>> {
          const auto& info = embedder->info();
          auto opts = chunk::ResolveChunkOptions(options_.chunk_tokens, options_.chunk_overlap,
                                                 info.max_tokens);
          if (!opts) return Fail(opts.error());
          if (parsed->table) return chunk::ChunkTable(*parsed->table, embedder->tokenizer(), *opts);
          return chunk::ChunkPages(parsed->pages, embedder->tokenizer(), *opts);
        });
    LogStage(id, model, "chunk", start, VoidOf(chunks ? nullptr : &chunks.error()));
    if (!chunks) co_return co_await FailJob(job, chunks.error());
    if (chunks->empty()) {
      Error no_text{ErrorCode::kNoText, "no text to index in this file"};
      co_return co_await FailJob(job, std::move(no_text));
    }

    start = Clock::now();
    embed::EmbedRequest req{.purpose = embed::Purpose::kDocument, .lane_key = id};
    req.texts.reserve(chunks->size());
    for (const auto& c : *chunks) req.texts.push_back(c.text);
    auto vectors = co_await job.embedder->Embed(std::move(req));
    if (vectors && vectors->rows() != chunks->size()) {
      vectors = Fail(ErrorCode::kEmbeddingFailed, "embedder returned a wrong number of vectors");
    }
    LogStage(id, model, "embed", start, VoidOf(vectors ? nullptr : &vectors.error()));
    if (!vectors) co_return co_await FailJob(job, vectors.error());

    start = Clock::now();
    store::IndexCommit commit{.file_id = id,
                              .model = model,
                              .worker_id = job.holder,
                              .pages = parsed->page_count,
                              .dimension = vectors->dimension,
                              .vectors = std::move(vectors->data),
                              .tasks = BackgroundTasksFor(job.staged)};
    commit.chunks.reserve(chunks->size());
    for (std::size_t i = 0; i < chunks->size(); ++i) {
      auto& c = (*chunks)[i];
      commit.chunks.push_back(store::ChunkRecord{.file_id = id,
                                                 .model = model,
                                                 .chunk_index = static_cast<int>(i),
                                                 .text = std::move(c.text),
                                                 .page_start = c.page_start,
                                                 .page_end = c.page_end,
                                                 .token_count = c.token_count});
    }
    const int n_chunks = static_cast<int>(commit.chunks.size());
    auto committed = co_await Db([this, &commit] { return deps_.store->CommitIndex(commit); });
    LogStage(id, model, "commit", start, committed);
    if (!committed) co_return co_await FailJob(job, committed.error());
    background_.Notify();

    common::Metrics::Global().Inc("ragpdf_chunks_embedded_total", {}, n_chunks);
    spdlog::info("file file_id={} model={} status=ready_for_chat pages={} chunks={} ms={:.1f}", id,
                 model, parsed->page_count, n_chunks, SecondsSince(total_start) * 1000);
    FileOutcome out = job.base;
    out.status = FileStatus::kReadyForChat;
    out.pages = parsed->page_count;
    out.chunks = n_chunks;
    co_return out;
  }

  static std::vector<store::NewTask> BackgroundTasksFor(const fs::path& staged) {
    boost::json::object payload{{"staged", staged.string()}};
    return {store::NewTask{.kind = std::string(kTaskCopyRaw),
                           .payload = boost::json::serialize(payload)},
            store::NewTask{.kind = std::string(kTaskExportEmbeddings), .payload = "{}"}};
  }

  // Records the failure (removing anything partial) and drops the staged copy.
  asio::awaitable<FileOutcome> FailJob(const Job& job, Error error) {
    const std::string model = job.embedder->info().name;
    if (error.code != ErrorCode::kInterrupted) {
      auto marked = co_await Db([this, &id = job.base.file_id, &model, &error] {
        return deps_.store->MarkError(id, model, error);
      });
      if (!marked) {
        spdlog::error("file file_id={} model={} mark_error=false message=\"{}\"", job.base.file_id,
                      model, marked.error().message);
      }
    }
    co_await Db([this, &staged = job.staged]() -> Result<bool> {
      staging_.Remove(staged);
      return true;
    });
    spdlog::warn("file file_id={} model={} status=error code={} message=\"{}\"", job.base.file_id,
                 model, common::ErrorCodeName(error.code), error.message);
    co_return ErrorOutcome(job.base, std::move(error));
  }

  Result<bool> DeleteForUser(const std::string& id, const std::string& username) {
    auto owners = deps_.store->ListOwners(id);
    if (!owners) return Fail(owners.error());
    if (std::find(owners->begin(), owners->end(), username) == owners->end()) {
      return Fail(ErrorCode::kNotFound, "file " + id + " is not owned by " + username);
    }
    auto remaining = deps_.store->RemoveOwner(id, username);
    if (!remaining) return Fail(remaining.error());
    if (*remaining > 0) return false;
    if (auto r = deps_.store->DeleteFile(id); !r) return Fail(r.error());
    staging_.RemoveAll(id);
    if (auto r = deps_.blobs->DeletePrefix(RawKey(id)); !r) return Fail(r.error());
    if (auto r = deps_.blobs->DeletePrefix(EmbeddingsPrefix(id)); !r) return Fail(r.error());
    return true;
  }

  // Takes over ingests whose worker died (expired leases), in any process.
  asio::awaitable<void> RecoveryLoop() {
    while (!tasks_.stopping()) {
      auto expired = co_await Db([this] { return deps_.store->ListExpiredLeases(); });
      if (expired) {
        for (const auto& state : *expired) co_await Recover(state);
      }
      for (auto waited = std::chrono::milliseconds(0);
           waited < options_.lease && !tasks_.stopping(); waited += options_.task_poll) {
        co_await common::SleepFor(options_.task_poll);
      }
    }
  }

  asio::awaitable<void> Recover(store::ModelState state) {
    auto embedder = deps_.models->Find(state.model);
    if (!embedder) co_return;  // not configured here; a process that has it recovers it
    auto file = co_await Db([this, &id = state.file_id] { return deps_.store->GetFile(id); });
    if (!file || !*file) co_return;
    // Claim first, so no other process is committing while we decide.
    const std::string holder = NewHolder();
    auto claim = co_await Db([this, &state, &holder] {
      return deps_.store->TryClaim(state.file_id, state.model, holder, options_.lease);
    });
    if (!claim || claim->outcome != store::ClaimOutcome::kClaimed) co_return;
    auto raw = co_await Db([this, &id = state.file_id] { return FetchRaw(id); });
    if (!raw) {
      co_await Db([this, &state, &e = raw.error()] {
        return deps_.store->MarkError(state.file_id, state.model, e);
      });
      co_return;
    }
    spdlog::info("recover file_id={} model={} previous_holder={}", state.file_id, state.model,
                 state.worker_id);
    FileOutcome base{
        .file_id = state.file_id, .filename = (*file)->filename, .kind = (*file)->kind};
    co_await RunClaimed(base, (*file)->format, *raw, embedder, holder, /*wait=*/false);
  }

  IngestDeps deps_;
  IngestOptions options_;
  Staging staging_;
  std::unique_ptr<JobScheduler> scheduler_;
  common::TaskGroup tasks_;
  BackgroundRunner background_;
  std::atomic<std::uint64_t> next_holder_{0};
};

IngestService::IngestService(IngestDeps deps, IngestOptions options)
    : impl_(std::make_unique<Impl>(std::move(deps), std::move(options))) {}
IngestService::~IngestService() = default;
void IngestService::Start() { impl_->Start(); }
asio::awaitable<void> IngestService::Shutdown() { return impl_->Shutdown(); }
asio::awaitable<Result<UploadResponse>> IngestService::Upload(UploadRequest request) {
  return impl_->Upload(std::move(request));
}
asio::awaitable<Result<CheckResponse>> IngestService::Check(std::vector<std::string> ids,
                                                            std::string model) {
  return impl_->Check(std::move(ids), std::move(model));
}
asio::awaitable<Result<StatusResponse>> IngestService::Status(std::string id, std::string model) {
  return impl_->Status(std::move(id), std::move(model));
}
asio::awaitable<Result<DeleteResponse>> IngestService::Delete(std::vector<std::string> ids,
                                                              std::string username) {
  return impl_->Delete(std::move(ids), std::move(username));
}
std::vector<embed::ModelInfo> IngestService::AvailableModels() const {
  return impl_->AvailableModels();
}
Stats IngestService::GetStats() const { return impl_->GetStats(); }

}  // namespace ragpdf::ingest
