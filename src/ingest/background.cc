#include "ingest/background.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "common/metrics.h"
#include "ingest/blob_keys.h"

namespace ragpdf::ingest {

namespace asio = boost::asio;
using common::ErrorCode;
using common::Fail;
using common::Result;

BackgroundRunner::BackgroundRunner(const IngestDeps& deps, Staging staging,
                                   BackgroundOptions options)
    : deps_(deps), staging_(std::move(staging)), options_(std::move(options)), loops_(deps.io) {
  common::Metrics::Global().Describe("ragpdf_background_tasks_total", "counter",
                                     "Background tasks run, by kind and outcome.");
}

void BackgroundRunner::Start() {
  for (std::size_t i = 0; i < options_.concurrency; ++i) {
    wake_.push_back(std::make_unique<asio::steady_timer>(deps_.io));
  }
  for (std::size_t i = 0; i < options_.concurrency; ++i) loops_.Spawn(Loop(i));
}

void BackgroundRunner::Notify() {
  for (auto& t : wake_) t->cancel();
}

asio::awaitable<void> BackgroundRunner::Shutdown() {
  loops_.Stop();
  Notify();
  co_await loops_.Join();
}

asio::awaitable<void> BackgroundRunner::Loop(std::size_t index) {
  while (!loops_.stopping()) {
    auto claimed = co_await common::Offload(deps_.db_pool, [this] {
      return deps_.store->ClaimTask(options_.worker_id, options_.lease);
    });
    if (claimed && *claimed) {
      const store::Task task = **claimed;
      ++running_;
      auto result = co_await common::Offload(deps_.db_pool, [this, &task] { return Run(task); });
      --running_;
      common::Metrics::Global().Inc(
          "ragpdf_background_tasks_total",
          fmt::format("kind=\"{}\",ok=\"{}\"", task.kind, result ? "true" : "false"));
      continue;
    }
    if (!claimed) {
      spdlog::warn("task claim=false message=\"{}\"", claimed.error().message);
    }
    wake_[index]->expires_after(options_.poll);
    boost::system::error_code ec;
    co_await wake_[index]->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

Result<void> BackgroundRunner::Run(const store::Task& task) {
  const auto start = std::chrono::steady_clock::now();
  Result<void> result;
  if (task.kind == kTaskCopyRaw) {
    result = common::RetryBlocking(options_.retry, [&] { return CopyRaw(task); });
  } else if (task.kind == kTaskExportEmbeddings) {
    result = common::RetryBlocking(options_.retry, [&] { return ExportEmbeddings(task); });
  } else {
    result = Fail(ErrorCode::kInternal, "unknown task kind " + task.kind);
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!result) {
    spdlog::warn(
        "task id={} kind={} file_id={} model={} attempt={} ms={:.1f} ok=false "
        "message=\"{}\"",
        task.id, task.kind, task.file_id, task.model, task.attempts + 1, ms,
        result.error().message);
    auto delay = common::BackoffDelay(options_.task_backoff, task.attempts + 1);
    (void)deps_.store->RetryTask(task.id, delay, result.error().message);
    return result;
  }
  spdlog::info("task id={} kind={} file_id={} model={} ms={:.1f} ok=true", task.id, task.kind,
               task.file_id, task.model, ms);
  return common::RetryBlocking(options_.retry, [&] { return Finish(task); });
}

Result<void> BackgroundRunner::Finish(const store::Task& task) {
  if (auto r = deps_.store->CompleteTask(task.id); !r) return r;
  auto pending = deps_.store->PendingTasks(task.file_id, task.model);
  if (!pending) return Fail(pending.error());
  if (*pending > 0) return {};
  auto state = deps_.store->GetState(task.file_id, task.model);
  if (!state) return Fail(state.error());
  if (!*state || (*state)->status != common::FileStatus::kReadyForChat) return {};
  auto done = deps_.store->MarkCompleted(task.file_id, task.model);
  if (done) {
    spdlog::info("file file_id={} model={} status=completed", task.file_id, task.model);
  }
  return done;
}

Result<void> BackgroundRunner::CopyRaw(const store::Task& task) {
  std::string staged;
  boost::system::error_code ec;
  auto payload = boost::json::parse(task.payload, ec);
  if (!ec && payload.is_object()) {
    if (auto* p = payload.as_object().if_contains("staged"); p && p->is_string()) {
      staged = std::string(p->as_string());
    }
  }
  const std::string key = RawKey(task.file_id);
  auto exists = deps_.blobs->Exists(key);
  if (!exists) return Fail(exists.error());
  if (!*exists) {
    std::error_code fec;
    if (staged.empty() || !std::filesystem::exists(staged, fec)) {
      // Nothing left to copy (the file was deleted, or a copy already ran).
      return {};
    }
    if (auto put = deps_.blobs->PutFile(key, staged); !put) return put;
  }
  if (!staged.empty()) staging_.Remove(staged);
  // A delete may have raced with the copy: do not leave an orphan blob.
  auto file = deps_.store->GetFile(task.file_id);
  if (file && !*file) return deps_.blobs->DeletePrefix(key);
  return {};
}

Result<void> BackgroundRunner::ExportEmbeddings(const store::Task& task) {
  auto vectors = deps_.store->LoadVectors(task.file_id, task.model);
  if (!vectors) return Fail(vectors.error());
  if (!*vectors) return {};  // deleted meanwhile
  const auto& v = **vectors;
  const std::string key = EmbeddingsKey(task.file_id, task.model);
  std::string_view bytes(reinterpret_cast<const char*>(v.data.data()),
                         v.data.size() * sizeof(float));
  if (auto put = deps_.blobs->PutBytes(key, bytes); !put) return put;
  boost::json::object meta{{"file_id", task.file_id},  {"model", task.model},
                           {"dimension", v.dimension}, {"count", v.count()},
                           {"dtype", "float32"},       {"byte_order", "little"}};
  return deps_.blobs->PutBytes(key + ".json", boost::json::serialize(meta));
}

}  // namespace ragpdf::ingest
