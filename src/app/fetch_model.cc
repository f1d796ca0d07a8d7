#include "app/fetch_model.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/hash.h"
#include "common/retry.h"

namespace ragpdf::app {

namespace fs = std::filesystem;
using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

constexpr std::array<std::string_view, 9> kWantedFiles = {"config.json",
                                                          "tokenizer.json",
                                                          "vocab.txt",
                                                          "tokenizer_config.json",
                                                          "special_tokens_map.json",
                                                          "modules.json",
                                                          "1_Pooling/config.json",
                                                          "sentence_bert_config.json",
                                                          "model.safetensors"};
constexpr std::size_t kMaxListingBytes = 16 << 20;
constexpr std::size_t kMaxErrorBodyBytes = 2048;
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{64} << 30;
// Network retries: a few seconds apart at most, each resuming the download.
constexpr common::RetryPolicy kRetry{.max_attempts = 5,
                                     .base_delay = std::chrono::milliseconds(500),
                                     .max_delay = std::chrono::milliseconds(8000)};

struct HubFile {
  std::string name;
  std::optional<std::uint64_t> size;
  std::string sha256;  // empty when the hub gives none (non-LFS files)
};

bool IsNamePart(std::string_view part) {
  if (part.empty() || part.size() > 96 || part == "." ||
      part.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(part.begin(), part.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

// "name" or "owner/name", each part [A-Za-z0-9._-] without "..": safe both in
// a URL path and as a directory name.
Result<void> ValidateRepoId(std::string_view id) {
  const auto slash = id.find('/');
  const bool ok = slash == std::string_view::npos
                      ? IsNamePart(id)
                      : IsNamePart(id.substr(0, slash)) && IsNamePart(id.substr(slash + 1));
  if (!ok) {
    return Fail(ErrorCode::kBadRequest,
                "\"" + std::string(id) + "\" is not a Hugging Face model id (owner/name)");
  }
  return {};
}

std::string PercentEncode(std::string_view s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string ApiUrl(const FetchModelOptions& o) {
  return fmt::format("{}/api/models/{}/revision/{}?blobs=true", o.endpoint, o.repo_id,
                     PercentEncode(o.revision, false));
}

std::string FileUrl(const FetchModelOptions& o, std::string_view file) {
  return fmt::format("{}/{}/resolve/{}/{}", o.endpoint, o.repo_id, PercentEncode(o.revision, false),
                     PercentEncode(file, true));
}

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::vector<HubFile>> ParseSiblings(std::string_view json) {
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(json, ec);
  const boost::json::object* obj = ec ? nullptr : root.if_object();
  const boost::json::value* siblings = obj ? obj->if_contains("siblings") : nullptr;
  if (!siblings || !siblings->is_array()) {
    return Fail(ErrorCode::kUnavailable, "the hub's file listing has no \"siblings\" array");
  }
  std::vector<HubFile> files;
  for (const auto& s : siblings->as_array()) {
    const auto* entry = s.if_object();
    const auto* name = entry ? entry->if_contains("rfilename") : nullptr;
    if (!name || !name->is_string()) continue;
    HubFile f{.name = std::string(name->as_string()), .size = std::nullopt, .sha256 = {}};
    if (const auto* size = entry->if_contains("size");
        size && size->is_int64() && size->as_int64() >= 0) {
      f.size = static_cast<std::uint64_t>(size->as_int64());
    }
    if (const auto* lfs = entry->if_contains("lfs"); lfs && lfs->is_object()) {
      const auto* sha = lfs->as_object().if_contains("sha256");
      if (sha && sha->is_string() && IsSha256Hex(sha->as_string())) {
        f.sha256 = std::string(sha->as_string());
      }
      const auto* size = lfs->as_object().if_contains("size");
      if (size && size->is_int64() && size->as_int64() >= 0) {
        f.size = static_cast<std::uint64_t>(size->as_int64());
      }
    }
    files.push_back(std::move(f));
  }
  return files;
}

// ---- libcurl -------------------------------------------------------------

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// What one transfer saw. Body bytes go to `file` for a 200/206 answer (see
// OnBody) and to `body` otherwise (capped).
struct Transfer {
  long status = 0;  // of the last response (redirects reset it)
  std::string content_range;
  std::string linked_etag;  // the hub's X-Linked-Etag: an LFS file's sha256
  std::string body;
  std::size_t body_limit = kMaxErrorBodyBytes;
  // File download only.
  const fs::path* part = nullptr;
  std::uint64_t resume_from = 0;
  std::uint64_t limit = kMaxFileBytes;
  std::uint64_t written = 0;
  std::FILE* file = nullptr;
  bool bad_resume = false;  // a 206 that does not continue our .part
  std::string local_error;  // set when we aborted the transfer ourselves
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool HeaderIs(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  }
  return true;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect)
    const auto space = line.find(' ');
    t.status = space == std::string_view::npos
                   ? 0
                   : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    t.content_range.clear();
  } else if (HeaderIs(line, "content-range")) {
    t.content_range = Trim(line.substr(14));
  } else if (HeaderIs(line, "x-linked-etag")) {
    std::string_view v = Trim(line.substr(14));
    if (v.starts_with("W/")) v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    t.linked_etag = v;
  }
  return size * n;
}

// Opens the .part file on the first body byte of a successful answer: 206
// continues it, 200 starts it over (the server ignored the range).
bool OpenPart(Transfer& t) {
  if (t.status == 206) {
    const std::string expected = fmt::format("bytes {}-", t.resume_from);
    if (!t.content_range.starts_with(expected)) {
      t.bad_resume = true;
      return false;
    }
    t.file = std::fopen(t.part->c_str(), "ab");
  } else {
    t.resume_from = 0;
    t.file = std::fopen(t.part->c_str(), "wb");
  }
  if (!t.file) t.local_error = "cannot write " + t.part->string();
  return t.file != nullptr;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  const bool to_file = t.part && (t.status == 200 || t.status == 206);
  if (!to_file) {
    if (t.body.size() + bytes > t.body_limit) {
      t.local_error = "the answer is larger than " + std::to_string(t.body_limit) + " bytes";
      return 0;
    }
    t.body.append(data, bytes);
    return bytes;
  }
  if (!t.file && !OpenPart(t)) return 0;
  if (t.resume_from + t.written + bytes > t.limit) {
    t.local_error = "the file is larger than expected (" + std::to_string(t.limit) + " bytes)";
    return 0;
  }
  if (std::fwrite(data, 1, bytes, t.file) != bytes) {
    t.local_error = "cannot write " + t.part->string();
    return 0;
  }
  t.written += bytes;
  return bytes;
}

struct Outcome {
  CURLcode code = CURLE_OK;
  std::string curl_error;
};

Outcome Perform(const FetchModelOptions& o, const std::string& url, Transfer& t,
                std::optional<std::uint64_t> range_from) {
  std::unique_ptr<CURL, CurlDeleter> h(curl_easy_init());
  std::unique_ptr<curl_slist, CurlDeleter> headers;
  if (!h) return {CURLE_FAILED_INIT, "curl_easy_init failed"};
  std::array<char, CURL_ERROR_SIZE> error{};
  CURL* c = h.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error.data());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ragpdf/0.1.0");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 KiB/s for a minute) fails and is retried.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  // libcurl does not forward this header when a redirect leaves the host
  // (the hub redirects LFS files to a signed CDN URL).
  if (!o.token.empty()) {
    headers.reset(curl_slist_append(nullptr, ("Authorization: Bearer " + o.token).c_str()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  }
  std::string range;
  if (range_from) {
    range = std::to_string(*range_from) + "-";
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  const CURLcode code = curl_easy_perform(c);
  return {code, code == CURLE_OK ? "" : (error[0] ? error.data() : curl_easy_strerror(code))};
}

bool IsRetryableStatus(long status) { return status == 408 || status == 429 || status >= 500; }

std::string HttpError(const std::string& url, long status, const std::string& body) {
  std::string why;
  if (status == 401 || status == 403) {
    why = " (a gated or private model needs HF_TOKEN with access to it)";
  } else if (status == 404) {
    why = " (unknown model id, revision or file)";
  }
  return fmt::format("{} answered HTTP {}{}{}", url, status, why,
                     body.empty() ? "" : ": " + std::string(Trim(body.substr(0, 200))));
}

Result<std::vector<HubFile>> ListFiles(const FetchModelOptions& o) {
  const std::string url = ApiUrl(o);
  for (int attempt = 1;; ++attempt) {
    Transfer t;
    t.body_limit = kMaxListingBytes;
    const Outcome out = Perform(o, url, t, std::nullopt);
    const bool transient =
        out.code != CURLE_OK ? t.local_error.empty() : IsRetryableStatus(t.status);
    if (transient && attempt < o.max_attempts) {
      std::this_thread::sleep_for(common::BackoffDelay(kRetry, attempt));
      continue;
    }
    if (!t.local_error.empty()) return Fail(ErrorCode::kUnavailable, url + ": " + t.local_error);
    if (out.code != CURLE_OK) return Fail(ErrorCode::kUnavailable, url + ": " + out.curl_error);
    if (t.status != 200) {
      return Fail(t.status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                  HttpError(url, t.status, t.body));
    }
    return ParseSiblings(t.body);
  }
}

std::uint64_t FileSize(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  return ec ? 0 : static_cast<std::uint64_t>(size);
}

Result<void> Verify(const fs::path& part, const HubFile& f, const std::string& sha256) {
  const std::uint64_t size = FileSize(part);
  if (f.size && size != *f.size) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("{}: got {} bytes, the hub lists {}", f.name, size, *f.size));
  }
  if (sha256.empty()) return {};
  auto actual = common::Sha256File(part);
  if (!actual) return Fail(actual.error());
  if (*actual != sha256) {
    std::error_code ec;
    fs::remove(part, ec);
    return Fail(ErrorCode::kInternal,
                fmt::format("{}: checksum mismatch: expected sha256 {}, got {} (the partial "
                            "download was deleted; run again to retry)",
                            f.name, sha256, *actual));
  }
  return {};
}

// Downloads one file into `target` through `target`.part, resuming.
Result<void> Download(const FetchModelOptions& o, const HubFile& f, const fs::path& target,
                      std::FILE* log) {
  const std::string url = FileUrl(o, f.name);
  const fs::path part = target.string() + ".part";
  std::string sha256 = f.sha256;
  for (int attempt = 1;; ++attempt) {
    const std::uint64_t have = FileSize(part);
    Transfer t;
    t.part = &part;
    t.resume_from = have;
    t.limit = f.size.value_or(kMaxFileBytes);
    if (have > 0)
      std::fprintf(log, "  resuming %s at byte %llu\n", f.name.c_str(),
                   static_cast<unsigned long long>(have));
    const Outcome out =
        Perform(o, url, t, have > 0 ? std::optional<std::uint64_t>(have) : std::nullopt);
    const bool closed_ok = !t.file || std::fclose(t.file) == 0;
    if (!closed_ok) return Fail(ErrorCode::kInternal, "cannot write " + part.string());
    if (sha256.empty() && IsSha256Hex(t.linked_etag)) sha256 = t.linked_etag;

    if ((t.status == 416 && have > 0) || t.bad_resume) {
      // Nothing left past `have` (complete already, or a stale part), or a
      // range we did not ask for: keep a complete part, else start over.
      if (t.status == 416 && f.size && have == *f.size) return Verify(part, f, sha256);
      std::error_code ec;
      fs::remove(part, ec);
    } else if (!t.local_error.empty() && out.code != CURLE_OK) {
      return Fail(ErrorCode::kInternal, url + ": " + t.local_error);
    } else if (out.code == CURLE_OK && (t.status == 200 || t.status == 206)) {
      if (t.status == 200 && !t.file) {  // an empty file
        if (std::FILE* empty = std::fopen(part.c_str(), "wb")) std::fclose(empty);
      }
      return Verify(part, f, sha256);
    } else if (out.code == CURLE_OK && !IsRetryableStatus(t.status)) {
      return Fail(t.status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                  HttpError(url, t.status, t.body));
    }
    if (attempt >= o.max_attempts) {
      return Fail(
          ErrorCode::kUnavailable,
          fmt::format("{}: {} after {} attempts (run again to resume)", url,
                      out.code != CURLE_OK ? out.curl_error : "HTTP " + std::to_string(t.status),
                      attempt));
    }
    std::fprintf(log, "  %s: %s; retrying\n", f.name.c_str(),
                 out.code != CURLE_OK ? out.curl_error.c_str()
                                      : ("HTTP " + std::to_string(t.status)).c_str());
    std::this_thread::sleep_for(common::BackoffDelay(kRetry, attempt));
  }
}

// Keeps a present file whose checksum is known and matches.
bool AlreadyThere(const fs::path& target, const HubFile& f) {
  std::error_code ec;
  if (f.sha256.empty() || !fs::is_regular_file(target, ec)) return false;
  auto sha = common::Sha256File(target);
  return sha && *sha == f.sha256;
}

}  // namespace

Result<fs::path> FetchModel(FetchModelOptions o, std::FILE* log) {
  if (auto ok = ValidateRepoId(o.repo_id); !ok) return Fail(ok.error());
  if (o.revision.empty() || o.revision.size() > 255 ||
      std::any_of(o.revision.begin(), o.revision.end(),
                  [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    return Fail(ErrorCode::kBadRequest, "bad --revision \"" + o.revision + "\"");
  }
  while (o.endpoint.ends_with('/')) o.endpoint.pop_back();
  if (!o.endpoint.starts_with("https://") && !o.endpoint.starts_with("http://")) {
    return Fail(ErrorCode::kBadRequest, "the endpoint must be an http(s) URL: " + o.endpoint);
  }
  if (o.dest.empty()) o.dest = fs::path("models") / fs::path(o.repo_id).filename();

  auto listed = ListFiles(o);
  if (!listed) return Fail(listed.error());
  std::vector<HubFile> wanted;
  for (std::string_view name : kWantedFiles) {
    auto it = std::find_if(listed->begin(), listed->end(),
                           [&](const HubFile& f) { return f.name == name; });
    if (it != listed->end()) wanted.push_back(*it);
  }
  auto has = [&](std::string_view name) {
    return std::any_of(wanted.begin(), wanted.end(),
                       [&](const HubFile& f) { return f.name == name; });
  };
  if (!has("config.json") || !has("model.safetensors") ||
      (!has("vocab.txt") && !has("tokenizer.json"))) {
    return Fail(ErrorCode::kBadRequest,
                o.repo_id + "@" + o.revision +
                    " lacks what ragpdf loads: config.json, model.safetensors (safetensors "
                    "weights only) and vocab.txt or tokenizer.json");
  }

  std::error_code ec;
  fs::create_directories(o.dest / "1_Pooling", ec);
  if (ec)
    return Fail(ErrorCode::kInternal, "cannot create " + o.dest.string() + ": " + ec.message());
  for (const HubFile& f : wanted) {
    const fs::path target = o.dest / f.name;
    if (AlreadyThere(target, f)) {
      std::fprintf(log, "%s: present, checksum ok\n", f.name.c_str());
      continue;
    }
    std::fprintf(log, "%s%s\n", f.name.c_str(),
                 f.size ? fmt::format(" ({} bytes)", *f.size).c_str() : "");
    if (auto done = Download(o, f, target, log); !done) return Fail(done.error());
    fs::rename(target.string() + ".part", target, ec);
    if (ec) return Fail(ErrorCode::kInternal, "cannot rename into " + target.string());
  }
  return o.dest;
}

void AddFetchModelFlags(CLI::App& cmd, FetchModelOptions& o) {
  cmd.add_option("HF_ID", o.repo_id, "Hugging Face model id, e.g. BAAI/bge-small-en-v1.5")
      ->required();
  cmd.add_option("--dest", o.dest, "Target directory (default: models/<repository name>)");
  cmd.add_option("--revision", o.revision, "Branch, tag or commit")->capture_default_str();
  cmd.add_option("--endpoint", o.endpoint, "Hub URL (a mirror)")
      ->envname("HF_ENDPOINT")
      ->capture_default_str();
  cmd.footer(
      "Lists ENDPOINT/api/models/HF_ID/revision/REVISION?blobs=true, then downloads\n"
      "ENDPOINT/HF_ID/resolve/REVISION/FILE for config.json, the tokenizer files,\n"
      "modules.json, 1_Pooling/config.json, sentence_bert_config.json and\n"
      "model.safetensors. Downloads resume from FILE.part (HTTP Range) and are\n"
      "checked against the hub's SHA-256 where it gives one. HF_TOKEN, if set,\n"
      "is sent as a bearer token. Use the directory with --model NAME=DIR.");
}

int RunFetchModel(FetchModelOptions options) {
  if (const char* token = std::getenv("HF_TOKEN")) options.token = token;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto dest = FetchModel(std::move(options), stderr);
  curl_global_cleanup();
  if (!dest) {
    std::fprintf(stderr, "ragpdf fetch-model: %s\n", dest.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "model saved to %s\n", dest->string().c_str());
  return 0;
}

}  // namespace ragpdf::app
