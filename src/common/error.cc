#include "common/error.h"

namespace ragpdf::common {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kMissingField:
      return "missing_field";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kUnsupportedFormat:
      return "unsupported_format";
    case ErrorCode::kEncryptedPdf:
      return "encrypted_pdf";
    case ErrorCode::kInvalidPdf:
      return "invalid_pdf";
    case ErrorCode::kNoText:
      return "no_text";
    case ErrorCode::kInvalidEncoding:
      return "invalid_encoding";
    case ErrorCode::kInvalidTable:
      return "invalid_table";
    case ErrorCode::kEmptyFile:
      return "empty_file";
    case ErrorCode::kParseTimeout:
      return "parse_timeout";
    case ErrorCode::kParseFailed:
      return "parse_failed";
    case ErrorCode::kEmbeddingFailed:
      return "embedding_failed";
    case ErrorCode::kEmbeddingAuthFailed:
      return "embedding_auth_failed";
    case ErrorCode::kEmbeddingBadRequest:
      return "embedding_bad_request";
    case ErrorCode::kEmbeddingRateLimited:
      return "embedding_rate_limited";
    case ErrorCode::kEmbeddingTimeout:
      return "embedding_timeout";
    case ErrorCode::kEmbeddingUnavailable:
      return "embedding_unavailable";
    case ErrorCode::kEmbeddingBadResponse:
      return "embedding_bad_response";
    case ErrorCode::kStorageBusy:
      return "storage_busy";
    case ErrorCode::kStorageError:
      return "storage_error";
    case ErrorCode::kBlobError:
      return "blob_error";
    case ErrorCode::kOverloaded:
      return "overloaded";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInterrupted:
      return "interrupted";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

bool IsTransient(ErrorCode code) {
  return code == ErrorCode::kStorageBusy || code == ErrorCode::kBlobError;
}

}  // namespace ragpdf::common
