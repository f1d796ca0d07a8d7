// `ragpdf fetch-model HF_ID [--dest DIR] [--revision main]`: downloads the
// files of a sentence-embedding model from the Hugging Face hub with
// libcurl, for `provider = "local"`.
//
// URL scheme (ENDPOINT is https://huggingface.co unless --endpoint or
// HF_ENDPOINT names a mirror):
//   list:  ENDPOINT/api/models/HF_ID/revision/REVISION?blobs=true
//          (its `siblings` give each file's name, size and, for LFS files,
//          `lfs.sha256`)
//   file:  ENDPOINT/HF_ID/resolve/REVISION/FILE  (redirects are followed)
// Files fetched when listed: config.json, tokenizer.json, vocab.txt,
// tokenizer_config.json, special_tokens_map.json, modules.json,
// 1_Pooling/config.json, sentence_bert_config.json, model.safetensors.
// Each file is written to FILE.part and renamed when complete; an existing
// .part is resumed with an HTTP Range request, and interrupted transfers are
// retried (resuming) a few times. A file with a SHA-256 (the listing's
// lfs.sha256, else the X-Linked-Etag header) is verified before the rename;
// an already-present file with the right checksum is kept. HF_TOKEN, when
// set, is sent as a bearer token to the hub.
//
// Thread-safety: blocking; one call at a time per process (curl global
// init). Errors: kBadRequest for a bad id/revision or a repository without
// the files ragpdf needs, kNotFound for an unknown repository or revision,
// kUnavailable for network failures and kInternal for checksum mismatches
// and local I/O errors; each message names the file or URL.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "common/error.h"

namespace ragpdf::app {

struct FetchModelOptions {
  std::string repo_id;                              // "BAAI/bge-small-en-v1.5"
  std::string revision = "main";                    // branch, tag or commit
  std::filesystem::path dest;                       // empty: models/<repository name>
  std::string endpoint = "https://huggingface.co";  // --endpoint / HF_ENDPOINT
  std::string token;                                // HF_TOKEN
  int max_attempts = 5;                             // per file; retries resume
};

// Downloads the model into options.dest (created if needed) and returns it;
// progress lines go to `log`.
common::Result<std::filesystem::path> FetchModel(FetchModelOptions options, std::FILE* log);

void AddFetchModelFlags(CLI::App& cmd, FetchModelOptions& options);
// Runs the command (HF_TOKEN from the environment); returns the exit code.
int RunFetchModel(FetchModelOptions options);

}  // namespace ragpdf::app
