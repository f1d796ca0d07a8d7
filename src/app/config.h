// Server configuration: command-line flags, each also settable by an
// environment variable RAGPDF_<FLAG_IN_CAPS>, and a TOML file (--config).
// Precedence: flag > environment > TOML file > default.
//
// TOML layout (every key optional):
//   [server]   host, port, data_dir, workers, max_concurrent_tasks,
//              max_upload_mb, log_level, parse_timeout_s, chunk_tokens,
//              chunk_overlap, lease_ms
//   [[models]] name, provider ("builtin"; later issues add more), and the
//              provider's own keys (builtin: dimension, max_tokens)
//              (local: path, query_prefix, document_prefix, max_tokens,
//              max_batch_tokens, threads)
//              (openai / azure-openai: base_url, model / endpoint,
//              deployment, api_version; api_key_env, limits: see
//              provider_openai.cc)
// `--model NAME=PATH` (repeatable; RAGPDF_MODEL: comma-separated pairs) adds
// local models after the TOML ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <toml.hpp>

#include "common/error.h"

namespace ragpdf::app {

// One [[models]] entry. `table` keeps the whole entry so that each provider
// reads its own keys.
struct ModelConfig {
  std::string name;
  std::string provider;
  toml::value table;
};

// `table[key]` as T, or `fallback` when absent; throws toml's exception for a
// value of the wrong type (the provider factories turn it into an error).
template <typename T>
T TomlOr(const toml::value& table, const std::string& key, T fallback) {
  return table.contains(key) ? toml::find<T>(table, key) : fallback;
}

struct ServeConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  std::filesystem::path data_dir = "./data";
  int workers = 1;
  int max_concurrent_tasks = 4;
  std::uint64_t max_upload_mb = 512;
  std::filesystem::path config_file;
  std::string log_level = "info";
  int parse_timeout_s = 60;
  int chunk_tokens = 0;             // 0: sized to the model
  int chunk_overlap = -1;           // -1: chunk_tokens / 8
  int lease_ms = 30000;             // ingest lease; a dead worker's files are taken over after it
  std::vector<ModelConfig> models;  // [[models]] from the TOML file; empty: built-in only
  std::vector<std::string> model_flags;  // --model NAME=PATH, appended to `models` as local
};

// Declares the `serve` flags on `cmd`, bound to `config`.
void AddServeFlags(CLI::App& cmd, ServeConfig& config);
// After CLI parsing: fills options not given by flag or environment from the
// TOML file named by config.config_file (if any), then validates.
common::Result<void> ApplyConfigFile(const CLI::App& cmd, ServeConfig& config);
// The [[models]] entries of a TOML file (for commands other than serve).
common::Result<std::vector<ModelConfig>> ReadModelsFile(const std::filesystem::path& file);

}  // namespace ragpdf::app
