#include "app/embed_command.h"

#include <cstdio>
#include <exception>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "app/config.h"
#include "app/provider_local.h"
#include "embed/local/local_embedder.h"

namespace ragpdf::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using common::ErrorCode;
using common::Fail;
using common::Result;
using embed::local::LocalEmbedder;
using embed::local::LocalEmbedderOptions;

namespace {

// Lines submitted as one request: enough for the engine to form full,
// length-grouped batches.
constexpr std::size_t kBlockLines = 512;
constexpr std::size_t kMaxLineBytes = 1 << 20;

Result<LocalEmbedderOptions> ResolveModel(const EmbedCommandConfig& c) {
  if (!c.config_file.empty()) {
    auto models = ReadModelsFile(c.config_file);
    if (!models) return Fail(models.error());
    for (const auto& m : *models) {
      if (m.name != c.model) continue;
      if (m.provider != "local") {
        return Fail(ErrorCode::kBadRequest, "model " + m.name + " uses provider \"" + m.provider +
                                                "\"; ragpdf embed runs local models only");
      }
      try {
        return LocalModelOptions(m);
      } catch (const std::exception& e) {  // toml11 reports bad keys by throwing
        return Fail(ErrorCode::kBadRequest, "model " + m.name + ": " + e.what());
      }
    }
  }
  std::error_code ec;
  if (!fs::is_directory(c.model, ec)) {
    return Fail(ErrorCode::kBadRequest, "model \"" + c.model +
                                            "\" is neither a local model of the config file nor a "
                                            "model directory");
  }
  LocalEmbedderOptions options;
  options.path = c.model;
  options.name = options.path.filename().empty() ? c.model : options.path.filename().string();
  return options;
}

// One line without its '\n'; false at the end of the input.
Result<bool> ReadLine(std::FILE* in, std::string& line) {
  line.clear();
  bool any = false;
  for (int ch; (ch = getc_unlocked(in)) != EOF;) {
    any = true;
    if (ch == '\n') return true;
    if (line.size() == kMaxLineBytes) {
      return Fail(ErrorCode::kPayloadTooLarge, "a line is longer than 1 MiB");
    }
    line.push_back(static_cast<char>(ch));
  }
  if (std::ferror(in)) return Fail(ErrorCode::kBadRequest, "cannot read standard input");
  return any;
}

void WriteVectors(const embed::Embeddings& vectors) {
  fmt::memory_buffer out;
  for (std::size_t r = 0; r < vectors.rows(); ++r) {
    out.push_back('[');
    const auto row = vectors.Row(r);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) out.push_back(',');
      fmt::format_to(std::back_inserter(out), "{}", row[i]);  // shortest round-trip form
    }
    out.append(std::string_view("]\n"));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

asio::awaitable<void> Pump(LocalEmbedder& embedder, bool query, int& status) {
  std::size_t line_number = 0;
  for (bool eof = false; !eof;) {
    embed::EmbedRequest request{
        .purpose = query ? embed::Purpose::kQuery : embed::Purpose::kDocument,
        .lane_key = query ? "" : "stdin"};
    while (request.texts.size() < kBlockLines) {
      std::string line;
      auto got = ReadLine(stdin, line);
      if (!got) {
        std::fprintf(stderr, "ragpdf embed: line %zu: %s\n", line_number + 1,
                     got.error().message.c_str());
        status = 2;
        co_return;
      }
      if (!*got) {
        eof = true;
        break;
      }
      ++line_number;
      request.texts.push_back(std::move(line));
    }
    if (request.texts.empty()) break;
    auto vectors = co_await embedder.Embed(std::move(request));
    if (!vectors) {
      std::fprintf(stderr, "ragpdf embed: %s\n", vectors.error().message.c_str());
      status = 1;
      co_return;
    }
    WriteVectors(*vectors);
  }
  std::fflush(stdout);
}

}  // namespace

void AddEmbedFlags(CLI::App& cmd, EmbedCommandConfig& c) {
  cmd.add_option("--model", c.model,
                 "A local model's name in the config file, or a model directory")
      ->required();
  cmd.add_flag("--query", c.query, "Embed the lines as queries (the model's query prefix)");
  cmd.add_option("--config", c.config_file, "TOML configuration file with [[models]] entries")
      ->envname("RAGPDF_CONFIG");
}

int RunEmbedCommand(const EmbedCommandConfig& c) {
  auto options = ResolveModel(c);
  if (!options) {
    std::fprintf(stderr, "ragpdf embed: %s\n", options.error().message.c_str());
    return 2;
  }
  asio::thread_pool tokenizers(1);
  options->cpu = tokenizers.get_executor();
  auto embedder = LocalEmbedder::Load(std::move(*options));
  if (!embedder) {
    std::fprintf(stderr, "ragpdf embed: %s\n", embedder.error().message.c_str());
    tokenizers.join();
    return 2;
  }
  int status = 0;
  asio::io_context io(1);
  asio::co_spawn(io, Pump(**embedder, c.query, status), asio::detached);
  io.run();
  embedder->reset();
  tokenizers.join();
  return status;
}

}  // namespace ragpdf::app
