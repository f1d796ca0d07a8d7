// `ragpdf embed --model NAME_OR_PATH [--query] [--config FILE]`: reads UTF-8
// lines on stdin and writes, per line, the pooled, normalized embedding as a
// JSON array of floats on stdout, through the same batching engine the
// server uses (blocks of lines are submitted together). NAME is a local
// [[models]] entry of the TOML file; otherwise NAME_OR_PATH is a model
// directory.
//
// Thread-safety: runs once per process. Errors: exit code 2 for a bad
// model, flag or input line (message on stderr), 1 if embedding fails.
#pragma once

#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

namespace ragpdf::app {

struct EmbedCommandConfig {
  std::string model;   // NAME or PATH
  bool query = false;  // use the query prefix
  std::filesystem::path config_file;
};

void AddEmbedFlags(CLI::App& cmd, EmbedCommandConfig& config);
int RunEmbedCommand(const EmbedCommandConfig& config);

}  // namespace ragpdf::app
