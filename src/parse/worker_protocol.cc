#include "parse/worker_protocol.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "parse/text_decode.h"

namespace ragpdf::parse::internal {
namespace {

using common::ErrorCode;
using common::Fail;

constexpr std::string_view kMagic = "RAGPDFW1";
constexpr std::uint8_t kStatusOk = 0;
constexpr std::uint8_t kStatusError = 1;
constexpr std::uint64_t kPageHeaderBytes = 12;
constexpr std::uint64_t kMaxMessageBytes = 64 << 10;

template <typename T>
void Put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  template <typename T>
  std::optional<T> Get() {
    if (data_.size() < sizeof(T)) return std::nullopt;
    T value;
    std::memcpy(&value, data_.data(), sizeof value);
    data_.remove_prefix(sizeof value);
    return value;
  }
  std::optional<std::string_view> Bytes(std::uint64_t n) {
    if (data_.size() < n) return std::nullopt;
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  bool done() const { return data_.empty(); }

 private:
  std::string_view data_;
};

// Errors the worker may legitimately report; anything else is garbage.
bool IsWorkerErrorCode(std::uint32_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kEncryptedPdf:
    case ErrorCode::kInvalidPdf:
    case ErrorCode::kNoText:
    case ErrorCode::kEmptyFile:
    case ErrorCode::kParseFailed:
      return true;
    default:
      return false;
  }
}

tl::unexpected<common::Error> Garbled(std::string_view what) {
  return Fail(ErrorCode::kParseFailed,
              "parse worker sent a malformed result: " + std::string(what));
}

common::Result<common::ParsedFile> DecodePages(Reader& reader, const ParseOptions& options) {
  const auto page_count = reader.Get<std::uint32_t>();
  const auto n = reader.Get<std::uint32_t>();
  if (!page_count || !n) return Garbled("truncated header");
  if (*n > static_cast<std::uint64_t>(std::max(options.max_pages, 0)) || *n > *page_count) {
    return Garbled("too many pages");
  }
  common::ParsedFile parsed;
  parsed.format = common::FileFormat::kPdf;
  parsed.page_count = static_cast<int>(*page_count);
  parsed.pages.reserve(*n);
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < *n; ++i) {
    const auto page = reader.Get<std::uint32_t>();
    const auto length = reader.Get<std::uint64_t>();
    if (!page || !length || *page == 0 || *page > *page_count) return Garbled("bad page header");
    total += *length;
    if (total > options.max_text_bytes) return Garbled("text over the limit");
    const auto bytes = reader.Bytes(*length);
    if (!bytes) return Garbled("truncated page text");
    common::PageText text{static_cast<int>(*page), {}};
    AppendRepairedUtf8(*bytes, text.text);
    parsed.pages.push_back(std::move(text));
  }
  return parsed;
}

}  // namespace

std::string EncodeWorkerResult(const common::Result<common::ParsedFile>& result) {
  std::string out(kMagic);
  if (!result) {
    Put<std::uint8_t>(out, kStatusError);
    const std::string_view message =
        std::string_view(result.error().message).substr(0, kMaxMessageBytes);
    Put<std::uint32_t>(out, static_cast<std::uint32_t>(result.error().code));
    Put<std::uint32_t>(out, static_cast<std::uint32_t>(message.size()));
    out.append(message);
    return out;
  }
  Put<std::uint8_t>(out, kStatusOk);
  Put<std::uint32_t>(out, static_cast<std::uint32_t>(result->page_count));
  Put<std::uint32_t>(out, static_cast<std::uint32_t>(result->pages.size()));
  for (const common::PageText& page : result->pages) {
    Put<std::uint32_t>(out, static_cast<std::uint32_t>(page.page));
    Put<std::uint64_t>(out, page.text.size());
    out.append(page.text);
  }
  return out;
}

common::Result<common::ParsedFile> DecodeWorkerResult(std::string_view frame,
                                                      const ParseOptions& options) {
  Reader reader(frame);
  const auto magic = reader.Bytes(kMagic.size());
  if (!magic || *magic != kMagic) return Garbled("no frame header");
  const auto status = reader.Get<std::uint8_t>();
  common::Result<common::ParsedFile> result;
  if (status == kStatusOk) {
    result = DecodePages(reader, options);
    if (!result) return result;
  } else if (status == kStatusError) {
    const auto code = reader.Get<std::uint32_t>();
    const auto length = reader.Get<std::uint32_t>();
    if (!code || !length || !IsWorkerErrorCode(*code) || *length > kMaxMessageBytes) {
      return Garbled("bad error header");
    }
    const auto message = reader.Bytes(*length);
    if (!message) return Garbled("truncated error message");
    std::string clean;
    AppendRepairedUtf8(*message, clean);
    result = Fail(static_cast<ErrorCode>(*code), std::move(clean));
  } else {
    return Garbled("unknown status");
  }
  if (!reader.done()) return Garbled("trailing bytes");
  return result;
}

std::uint64_t MaxFrameBytes(const ParseOptions& options) {
  const auto pages = static_cast<std::uint64_t>(std::max(options.max_pages, 0));
  return kMagic.size() + 1 + 8 + pages * kPageHeaderBytes + options.max_text_bytes +
         kMaxMessageBytes;
}

}  // namespace ragpdf::parse::internal
