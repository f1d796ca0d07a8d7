// ragpdf: the async parallel embedding server.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "app/config.h"
#include "app/embed_command.h"
#include "app/fetch_model.h"
#include "app/serve.h"
#include "parse/parser.h"

int main(int argc, char** argv) {
  // Internal: the sandboxed PDF parser runs as `ragpdf parse-worker ...`.
  if (argc > 1 && std::string(argv[1]) == "parse-worker") {
    return ragpdf::parse::RunParseWorker(argc, argv);
  }
  CLI::App app{"ragpdf: turns uploaded documents into searchable embeddings"};
  app.require_subcommand(1);
  ragpdf::app::ServeConfig config;
  auto* serve = app.add_subcommand("serve", "Run the HTTP server");
  ragpdf::app::AddServeFlags(*serve, config);
  ragpdf::app::EmbedCommandConfig embed_config;
  auto* embed = app.add_subcommand("embed", "Embed stdin lines with a local model (JSON per line)");
  ragpdf::app::AddEmbedFlags(*embed, embed_config);
  ragpdf::app::FetchModelOptions fetch_options;
  auto* fetch = app.add_subcommand("fetch-model", "Download a model from the Hugging Face hub");
  ragpdf::app::AddFetchModelFlags(*fetch, fetch_options);
  app.add_subcommand("version", "Print the version")->callback([] { std::puts("ragpdf 0.1.0"); });
  CLI11_PARSE(app, argc, argv);

  if (serve->parsed()) {
    if (auto ok = ragpdf::app::ApplyConfigFile(*serve, config); !ok) {
      std::fprintf(stderr, "ragpdf: %s\n", ok.error().message.c_str());
      return 2;
    }
    return config.workers > 1 ? ragpdf::app::RunSupervisor(config)
                              : ragpdf::app::RunWorker(config, /*reuse_port=*/false);
  }
  if (embed->parsed()) return ragpdf::app::RunEmbedCommand(embed_config);
  if (fetch->parsed()) return ragpdf::app::RunFetchModel(fetch_options);
  return 0;
}
