#include "app/config.h"

#include <toml.hpp>

namespace ragpdf::app {

using common::ErrorCode;
using common::Fail;

namespace {

// Flag name -> environment variable, documented in --help.
template <typename T>
CLI::Option* Flag(CLI::App& cmd, const std::string& name, T& value, const std::string& help) {
  std::string env = "RAGPDF_" + name;
  for (char& c : env) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return cmd.add_option("--" + name, value, help)->envname(env)->capture_default_str();
}

// `key` is the TOML spelling (underscores) of the flag --key-with-dashes.
template <typename T>
void FromToml(const CLI::App& cmd, const toml::value& table, const std::string& key, T& out) {
  std::string flag = "--" + key;
  for (char& ch : flag) ch = ch == '_' ? '-' : ch;
  if (cmd.count(flag) > 0 || !table.contains(key)) return;
  out = toml::find<T>(table, key);
}

void AppendModels(const toml::value& root, std::vector<ModelConfig>& out) {
  if (!root.contains("models")) return;
  for (const auto& entry : toml::find<std::vector<toml::value>>(root, "models")) {
    out.push_back(ModelConfig{.name = toml::find<std::string>(entry, "name"),
                              .provider = toml::find<std::string>(entry, "provider"),
                              .table = entry});
  }
}

// `--model NAME=PATH` as a local [[models]] entry.
common::Result<ModelConfig> LocalModelFlag(const std::string& flag) {
  const auto eq = flag.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
    return Fail(ErrorCode::kBadRequest, "--model \"" + flag + "\": expected NAME=PATH");
  }
  const std::string name = flag.substr(0, eq);
  toml::value table(
      toml::table{{"name", name}, {"provider", "local"}, {"path", flag.substr(eq + 1)}});
  return ModelConfig{.name = name, .provider = "local", .table = std::move(table)};
}

}  // namespace

void AddServeFlags(CLI::App& cmd, ServeConfig& c) {
  Flag(cmd, "host", c.host, "Address to listen on");
  Flag(cmd, "port", c.port, "TCP port (0: any free port, single worker only)");
  Flag(cmd, "data-dir", c.data_dir, "Directory for the database, blobs and staging");
  Flag(cmd, "workers", c.workers, "Worker processes sharing the port and data directory")
      ->check(CLI::Range(1, 64));
  Flag(cmd, "max-concurrent-tasks", c.max_concurrent_tasks,
       "Files parsed/chunked/embedded at once per process")
      ->check(CLI::Range(1, 256));
  Flag(cmd, "max-upload-mb", c.max_upload_mb, "Largest upload request body, in MiB")
      ->check(CLI::Range(1, 1 << 20));
  Flag(cmd, "config", c.config_file, "TOML configuration file");
  Flag(cmd, "log-level", c.log_level, "trace, debug, info, warn, error or off");
  Flag(cmd, "parse-timeout-s", c.parse_timeout_s, "Time limit for parsing one file")
      ->check(CLI::Range(1, 3600));
  Flag(cmd, "chunk-tokens", c.chunk_tokens, "Chunk size in model tokens (0: model default)");
  Flag(cmd, "chunk-overlap", c.chunk_overlap, "Chunk overlap in tokens (-1: chunk size / 8)");
  Flag(cmd, "lease-ms", c.lease_ms,
       "Ingest lease; files of a worker that died are taken over after it expires")
      ->check(CLI::Range(500, 3600000));
  Flag(cmd, "model", c.model_flags,
       "Local model NAME=PATH (a Hugging Face model directory), repeatable; "
       "the environment variable takes comma-separated pairs")
      ->delimiter(',');
}

common::Result<void> ApplyConfigFile(const CLI::App& cmd, ServeConfig& c) {
  if (!c.config_file.empty()) {
    try {
      const auto root = toml::parse(c.config_file.string());
      if (root.contains("server")) {
        const auto& s = toml::find(root, "server");
        FromToml(cmd, s, "host", c.host);
        FromToml(cmd, s, "port", c.port);
        std::string data_dir = c.data_dir.string();
        FromToml(cmd, s, "data_dir", data_dir);
        c.data_dir = data_dir;
        FromToml(cmd, s, "workers", c.workers);
        FromToml(cmd, s, "max_concurrent_tasks", c.max_concurrent_tasks);
        FromToml(cmd, s, "max_upload_mb", c.max_upload_mb);
        FromToml(cmd, s, "log_level", c.log_level);
        FromToml(cmd, s, "parse_timeout_s", c.parse_timeout_s);
        FromToml(cmd, s, "chunk_tokens", c.chunk_tokens);
        FromToml(cmd, s, "chunk_overlap", c.chunk_overlap);
        FromToml(cmd, s, "lease_ms", c.lease_ms);
      }
      AppendModels(root, c.models);
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kBadRequest, "config " + c.config_file.string() + ": " + e.what());
    }
  }
  for (const auto& flag : c.model_flags) {
    auto model = LocalModelFlag(flag);
    if (!model) return Fail(model.error());
    c.models.push_back(std::move(*model));
  }
  if (c.workers > 1 && c.port == 0) {
    return Fail(ErrorCode::kBadRequest, "--workers > 1 needs a fixed --port");
  }
  if (c.workers < 1 || c.max_concurrent_tasks < 1 || c.max_upload_mb < 1) {
    return Fail(ErrorCode::kBadRequest,
                "workers, max-concurrent-tasks and max-upload-mb must be >= 1");
  }
  return {};
}

common::Result<std::vector<ModelConfig>> ReadModelsFile(const std::filesystem::path& file) {
  try {
    std::vector<ModelConfig> models;
    AppendModels(toml::parse(file.string()), models);
    return models;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kBadRequest, "config " + file.string() + ": " + e.what());
  }
}

}  // namespace ragpdf::app
