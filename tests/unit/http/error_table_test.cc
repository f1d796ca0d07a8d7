#include "http/error_table.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "http/response.h"

namespace ragpdf::http {
namespace {

using boost::beast::http::status;
using common::ErrorCode;

TEST(ErrorTableTest, EveryCodeHasItsDocumentedStatus) {
  const std::pair<ErrorCode, status> expected[] = {
      {ErrorCode::kBadRequest, status::bad_request},
      {ErrorCode::kMissingField, status::bad_request},
      {ErrorCode::kNotFound, status::not_found},
      {ErrorCode::kPayloadTooLarge, status::payload_too_large},
      {ErrorCode::kUnsupportedFormat, status::unsupported_media_type},
      {ErrorCode::kEncryptedPdf, status::unprocessable_entity},
      {ErrorCode::kInvalidPdf, status::unprocessable_entity},
      {ErrorCode::kNoText, status::unprocessable_entity},
      {ErrorCode::kInvalidEncoding, status::unprocessable_entity},
      {ErrorCode::kInvalidTable, status::unprocessable_entity},
      {ErrorCode::kEmptyFile, status::unprocessable_entity},
      {ErrorCode::kParseTimeout, status::unprocessable_entity},
      {ErrorCode::kParseFailed, status::unprocessable_entity},
      {ErrorCode::kEmbeddingFailed, status::bad_gateway},
      {ErrorCode::kEmbeddingAuthFailed, status::bad_gateway},
      {ErrorCode::kEmbeddingBadRequest, status::bad_gateway},
      {ErrorCode::kEmbeddingRateLimited, status::too_many_requests},
      {ErrorCode::kEmbeddingTimeout, status::gateway_timeout},
      {ErrorCode::kEmbeddingUnavailable, status::bad_gateway},
      {ErrorCode::kEmbeddingBadResponse, status::bad_gateway},
      {ErrorCode::kStorageBusy, status::service_unavailable},
      {ErrorCode::kStorageError, status::internal_server_error},
      {ErrorCode::kBlobError, status::internal_server_error},
      {ErrorCode::kOverloaded, status::too_many_requests},
      {ErrorCode::kUnavailable, status::service_unavailable},
      {ErrorCode::kInterrupted, status::internal_server_error},
      {ErrorCode::kInternal, status::internal_server_error},
  };
  // The list covers the whole enum: kInternal is its last value.
  ASSERT_EQ(std::size(expected), static_cast<std::size_t>(ErrorCode::kInternal) + 1);
  for (const auto& [code, want] : expected) {
    EXPECT_EQ(HttpStatusFor(code), want) << common::ErrorCodeName(code);
  }
}

TEST(ErrorResponseTest, BodyShapeAndHeaders) {
  Response r = ErrorResponse({ErrorCode::kNotFound, "no such \"file\""});
  EXPECT_EQ(r.status, status::not_found);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.headers.empty());
  auto body = boost::json::parse(r.body).as_object();
  ASSERT_EQ(body.size(), 1u);
  const auto& error = body.at("error").as_object();
  EXPECT_EQ(error.size(), 2u);
  EXPECT_EQ(error.at("code").as_string(), "not_found");
  EXPECT_EQ(error.at("message").as_string(), "no such \"file\"");

  Response busy = ErrorResponse({ErrorCode::kOverloaded, "busy"});
  EXPECT_EQ(busy.status, status::too_many_requests);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0].first, boost::beast::http::field::retry_after);
  EXPECT_EQ(busy.headers[0].second, "1");

  Response overridden = ErrorResponse({ErrorCode::kBadRequest, "x"}, status::method_not_allowed);
  EXPECT_EQ(overridden.status, status::method_not_allowed);
}

}  // namespace
}  // namespace ragpdf::http
