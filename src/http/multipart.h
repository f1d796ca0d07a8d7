// Streaming multipart/form-data parser (RFC 7578 on top of RFC 2046).
//
// The body is pushed in pieces of any size with Feed(); part boundaries may be
// split anywhere across pieces. Part data is handed to a MultipartHandler as
// it arrives, so memory stays bounded by one piece plus one part header block
// whatever the body size. Preamble and epilogue are ignored.
//
// Ownership: the parser keeps a reference to its handler, which must outlive
// it. Thread-safety: one parser per request; not shareable.
// Errors: kBadRequest for malformed input (also a body that ends before the
// closing boundary, reported by Finish()), kPayloadTooLarge when a part header
// block or the part count exceeds its limit. Errors returned by the handler
// are passed through unchanged. After the first error the parser stays failed.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace ragpdf::http {

struct MultipartLimits {
  std::size_t max_header_bytes = 16 << 10;  // one part's header block
  std::size_t max_parts = 1100;
};

struct PartInfo {
  std::string name;                     // Content-Disposition `name`
  std::optional<std::string> filename;  // decoded `filename*`, else `filename`
  std::string content_type;             // empty when the part has none
};

class MultipartHandler {
 public:
  virtual ~MultipartHandler() = default;
  virtual common::Result<void> OnPartBegin(const PartInfo& part) = 0;
  // Called zero or more times per part with consecutive pieces of its data.
  virtual common::Result<void> OnPartData(std::string_view data) = 0;
  virtual common::Result<void> OnPartEnd() = 0;
};

// The boundary of a `multipart/form-data; boundary=...` Content-Type.
// kBadRequest for another media type or a missing/overlong boundary.
common::Result<std::string> MultipartBoundary(std::string_view content_type);

class MultipartParser {
 public:
  MultipartParser(std::string_view boundary, MultipartHandler& handler,
                  MultipartLimits limits = {});
  // The searcher points into delimiter_.
  MultipartParser(const MultipartParser&) = delete;
  MultipartParser& operator=(const MultipartParser&) = delete;

  common::Result<void> Feed(std::string_view data);
  // The body has ended: kBadRequest unless the closing boundary was seen.
  common::Result<void> Finish();
  // The closing boundary was seen (later bytes are epilogue).
  bool complete() const { return state_ == State::kEpilogue; }

 private:
  enum class State { kPreamble, kBoundaryLine, kHeaders, kBody, kEpilogue, kFailed };

  common::Result<void> Process();
  // Each step consumes from buf_ at pos_; returns false when it needs more input.
  common::Result<bool> StepScan();
  common::Result<bool> StepBoundaryLine();
  common::Result<bool> StepHeaders();

  std::string delimiter_;  // CRLF "--" boundary
  std::boyer_moore_horspool_searcher<std::string::const_iterator> searcher_;
  MultipartHandler& handler_;
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  std::string buf_;  // unconsumed input
  std::size_t pos_ = 0;
  std::size_t parts_ = 0;
  common::Error error_;
};

// Parses a part's header block (lines separated by CRLF, no final empty
// line). Exposed for tests. kBadRequest without a Content-Disposition name.
common::Result<PartInfo> ParsePartHeaders(std::string_view block);

}  // namespace ragpdf::http
