#include "http/error_table.h"

namespace ragpdf::http {

using boost::beast::http::status;
using common::ErrorCode;

status HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
    case ErrorCode::kMissingField:
      return status::bad_request;
    case ErrorCode::kNotFound:
      return status::not_found;
    case ErrorCode::kPayloadTooLarge:
      return status::payload_too_large;
    case ErrorCode::kUnsupportedFormat:
      return status::unsupported_media_type;
    case ErrorCode::kEncryptedPdf:
    case ErrorCode::kInvalidPdf:
    case ErrorCode::kNoText:
    case ErrorCode::kInvalidEncoding:
    case ErrorCode::kInvalidTable:
    case ErrorCode::kEmptyFile:
    case ErrorCode::kParseTimeout:
    case ErrorCode::kParseFailed:
      return status::unprocessable_entity;
    case ErrorCode::kEmbeddingFailed:
    case ErrorCode::kEmbeddingAuthFailed:
    case ErrorCode::kEmbeddingBadRequest:
    case ErrorCode::kEmbeddingUnavailable:
    case ErrorCode::kEmbeddingBadResponse:
      return status::bad_gateway;
    case ErrorCode::kEmbeddingRateLimited:
      return status::too_many_requests;
    case ErrorCode::kEmbeddingTimeout:
      return status::gateway_timeout;
    case ErrorCode::kStorageBusy:
      return status::service_unavailable;
    case ErrorCode::kStorageError:
    case ErrorCode::kBlobError:
      return status::internal_server_error;
    case ErrorCode::kOverloaded:
      return status::too_many_requests;
    case ErrorCode::kUnavailable:
      return status::service_unavailable;
    case ErrorCode::kInterrupted:
    case ErrorCode::kInternal:
      return status::internal_server_error;
  }
  return status::internal_server_error;
}

}  // namespace ragpdf::http
