// Errors as values. Expected failures (a bad PDF, a busy database, a 429 from
// an API) travel as `Result<T>`; exceptions from libraries are caught at the
// adapter that calls them and turned into an `Error` here.
//
// Thread-safety: plain value types, safe to copy between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace ragpdf::common {

// Every error the server can report. The wire name (ErrorCodeName) is part of
// the public API: clients match on it. The HTTP status for each code lives in
// one table in src/http/error_table.cc.
enum class ErrorCode {
  kBadRequest,         // malformed request (JSON, multipart, parameters)
  kMissingField,       // a required request field is absent
  kNotFound,           // unknown file id, route or model
  kPayloadTooLarge,    // upload over --max-upload-mb or a field over its limit
  kUnsupportedFormat,  // file type we do not ingest
  kEncryptedPdf,       // PDF needs a password
  kInvalidPdf,         // PDF cannot be opened or read
  kNoText,             // document has no extractable text (no OCR yet)
  kInvalidEncoding,    // text is not UTF-8 and cannot be repaired
  kInvalidTable,       // CSV/TSV/XLSX cannot be read as a table
  kEmptyFile,          // zero bytes, or nothing to index
  kParseTimeout,       // parser exceeded its time limit
  kParseFailed,        // parser crashed or exceeded a resource limit
  kEmbeddingFailed,    // embedder returned an error
  kEmbeddingAuthFailed,    // remote API refused the credentials (401/403)
  kEmbeddingBadRequest,    // remote API rejected the request (400/404/422)
  kEmbeddingRateLimited,   // 429s outlasted the retry budget
  kEmbeddingTimeout,       // timeouts/connection failures outlasted the retry budget
  kEmbeddingUnavailable,   // 5xx answers outlasted the retry budget
  kEmbeddingBadResponse,   // malformed body, wrong count or wrong dimension
  kStorageBusy,        // transient: SQLite busy/locked (retried before surfacing)
  kStorageError,       // persistent storage failure
  kBlobError,          // blob store read/write failure
  kOverloaded,         // back-pressure: too many requests in flight
  kUnavailable,        // shutting down or not ready
  kInterrupted,        // work interrupted (process died) and cannot resume
  kInternal,           // programmer error or unexpected state
};

std::string_view ErrorCodeName(ErrorCode code);

// Whether retrying the same operation may succeed (busy DB, blob write error).
bool IsTransient(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Shorthand for returning an error: `return Fail(ErrorCode::kNotFound, "...")`.
inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}
inline tl::unexpected<Error> Fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace ragpdf::common
