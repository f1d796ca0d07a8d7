#include "http/multipart.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ragpdf::http {
namespace {

using common::ErrorCode;
using common::Result;

struct Part {
  PartInfo info;
  std::string data;
  bool ended = false;
};

class RecordingHandler : public MultipartHandler {
 public:
  Result<void> OnPartBegin(const PartInfo& info) override {
    EXPECT_TRUE(parts.empty() || parts.back().ended) << "part begun before the last one ended";
    parts.push_back({info, "", false});
    return {};
  }
  Result<void> OnPartData(std::string_view data) override {
    EXPECT_FALSE(data.empty());
    EXPECT_FALSE(parts.empty());
    parts.back().data.append(data);
    return {};
  }
  Result<void> OnPartEnd() override {
    parts.back().ended = true;
    return {};
  }
  std::vector<Part> parts;
};

constexpr std::string_view kBoundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

// Binary content that contains CRLFs, dashes and boundary prefixes.
std::string TrickyContent() {
  std::string s = "%PDF-1.7\r\n--\r\n\r\n--";
  s += std::string(kBoundary.substr(0, 10));
  s += "\r\n-";
  s += std::string(kBoundary.substr(0, kBoundary.size() - 1));
  s += "\r";
  for (int i = 0; i < 300; ++i) s.push_back(static_cast<char>(i % 256));
  s += "\r\n--";  // ends just like a delimiter would start
  return s;
}

std::string SampleBody() {
  std::string b;
  b += "preamble to ignore\r\n";
  b += "--" + std::string(kBoundary) + "\r\n";
  b += "Content-Disposition: form-data; name=\"username\"\r\n\r\n";
  b += "alice\r\n";
  b += "--" + std::string(kBoundary) + "\r\n";
  b += "Content-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\n";
  b += "Content-Type: application/pdf\r\n\r\n";
  b += TrickyContent() + "\r\n";
  b += "--" + std::string(kBoundary) + "  \t\r\n";  // transport padding
  b += "content-disposition: form-data; name=\"files\"; filename*=UTF-8''%E2%82%AC%20rates.csv\r\n";
  b += "\r\n";
  b += "a,b\r\n1,2\r\n";
  b += "--" + std::string(kBoundary) + "\r\n";
  b += "Content-Disposition: form-data; name=\"empty\"\r\n\r\n";
  b += "\r\n";
  b += "--" + std::string(kBoundary) + "--\r\n";
  b += "epilogue, also ignored\r\n--" + std::string(kBoundary) + "\r\n";
  return b;
}

void ExpectSampleParts(const std::vector<Part>& parts) {
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0].info.name, "username");
  EXPECT_FALSE(parts[0].info.filename.has_value());
  EXPECT_EQ(parts[0].data, "alice");
  EXPECT_EQ(parts[1].info.name, "files");
  EXPECT_EQ(parts[1].info.filename, "a.pdf");
  EXPECT_EQ(parts[1].info.content_type, "application/pdf");
  EXPECT_EQ(parts[1].data, TrickyContent());
  EXPECT_EQ(parts[2].info.filename, "\xE2\x82\xAC rates.csv");
  EXPECT_EQ(parts[2].data, "a,b\r\n1,2");
  EXPECT_EQ(parts[3].info.name, "empty");
  EXPECT_EQ(parts[3].data, "");
  for (const Part& p : parts) EXPECT_TRUE(p.ended);
}

// Feeds `body` split at the given offsets (sorted) and returns the parts.
std::vector<Part> ParseSplit(const std::string& body, const std::vector<std::size_t>& cuts) {
  RecordingHandler handler;
  MultipartParser parser(kBoundary, handler);
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    EXPECT_TRUE(parser.Feed(std::string_view(body).substr(from, cut - from)));
    from = cut;
  }
  EXPECT_TRUE(parser.Feed(std::string_view(body).substr(from)));
  EXPECT_TRUE(parser.Finish());
  EXPECT_TRUE(parser.complete());
  return handler.parts;
}

TEST(MultipartParserTest, ParsesWholeBody) { ExpectSampleParts(ParseSplit(SampleBody(), {})); }

TEST(MultipartParserTest, SameResultForEverySplitPosition) {
  const std::string body = SampleBody();
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    SCOPED_TRACE(cut);
    ExpectSampleParts(ParseSplit(body, {cut}));
  }
}

TEST(MultipartParserTest, SameResultByteByByte) {
  const std::string body = SampleBody();
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  ExpectSampleParts(ParseSplit(body, cuts));
}

TEST(MultipartParserTest, SameResultForRandomSplits) {
  const std::string body = SampleBody();
  std::mt19937 rng(1234);
  for (int round = 0; round < 300; ++round) {
    std::uniform_int_distribution<std::size_t> count(1, 12);
    std::uniform_int_distribution<std::size_t> pos(0, body.size());
    std::vector<std::size_t> cuts(count(rng));
    for (auto& c : cuts) c = pos(rng);
    std::sort(cuts.begin(), cuts.end());
    SCOPED_TRACE(round);
    ExpectSampleParts(ParseSplit(body, cuts));
  }
}

TEST(MultipartParserTest, BoundaryAtVeryStartWithoutEpilogue) {
  RecordingHandler handler;
  MultipartParser parser("b", handler);
  ASSERT_TRUE(parser.Feed("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--"));
  ASSERT_TRUE(parser.Finish());
  ASSERT_EQ(handler.parts.size(), 1u);
  EXPECT_EQ(handler.parts[0].info.name, "x");
  EXPECT_EQ(handler.parts[0].data, "1");
}

TEST(MultipartParserTest, PartWithoutHeadersFails) {
  RecordingHandler handler;
  MultipartParser parser("b", handler);
  auto r = parser.Feed("--b\r\n\r\n2\r\n--b--");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
}

TEST(MultipartParserTest, PartWithoutNameFails) {
  RecordingHandler handler;
  MultipartParser parser("b", handler);
  auto r = parser.Feed("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  // Stays failed.
  EXPECT_FALSE(parser.Feed("more"));
  EXPECT_FALSE(parser.Finish());
}

TEST(MultipartParserTest, MissingFinalBoundaryFails) {
  RecordingHandler handler;
  MultipartParser parser("b", handler);
  ASSERT_TRUE(parser.Feed("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\ndata\r\n"));
  auto r = parser.Finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  EXPECT_FALSE(parser.complete());
}

TEST(MultipartParserTest, EmptyBodyFails) {
  RecordingHandler handler;
  MultipartParser parser("b", handler);
  ASSERT_TRUE(parser.Feed(""));
  EXPECT_FALSE(parser.Finish());
}

TEST(MultipartParserTest, GarbageAfterBoundaryFails) {
  RecordingHandler handler;
  MultipartParser parser("b", handler);
  auto r = parser.Feed("--bX\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n1\r\n--b--");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
}

TEST(MultipartParserTest, HeaderBlockTooLargeFails) {
  RecordingHandler handler;
  MultipartParser parser("b", handler, {.max_header_bytes = 100, .max_parts = 10});
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"f\"\r\nX-Pad: " + std::string(200, 'x') +
      "\r\n\r\ndata\r\n--b--";
  // Byte by byte: the limit must trigger before the block is complete.
  Result<void> r;
  std::size_t fed = 0;
  for (; fed < body.size() && r; ++fed) r = parser.Feed(body.substr(fed, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_LT(fed, body.size());
  EXPECT_TRUE(handler.parts.empty());
}

TEST(MultipartParserTest, PartCountLimit) {
  std::string body;
  for (int i = 0; i < 4; ++i)
    body += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
  body += "--b--\r\n";
  {
    RecordingHandler handler;
    MultipartParser parser("b", handler, {.max_header_bytes = 1024, .max_parts = 4});
    EXPECT_TRUE(parser.Feed(body));
    EXPECT_TRUE(parser.Finish());
    EXPECT_EQ(handler.parts.size(), 4u);
  }
  RecordingHandler handler;
  MultipartParser parser("b", handler, {.max_header_bytes = 1024, .max_parts = 3});
  auto r = parser.Feed(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(handler.parts.size(), 3u);
}

TEST(MultipartParserTest, HandlerErrorStopsParsing) {
  class Failing : public RecordingHandler {
    Result<void> OnPartData(std::string_view) override {
      return common::Fail(ErrorCode::kStorageError, "disk full");
    }
  } handler;
  MultipartParser parser("b", handler);
  auto r = parser.Feed("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\ndata\r\n--b--");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kStorageError);
  EXPECT_EQ(r.error().message, "disk full");
}

TEST(MultipartParserTest, LargePartStreamsWithBoundedBuffering) {
  RecordingHandler handler;
  MultipartParser parser("boundary", handler);
  ASSERT_TRUE(parser.Feed("--boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"));
  std::string piece(64 << 10, 'z');
  std::size_t delivered_before = 0;
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(parser.Feed(piece));
    // Everything but a possible delimiter prefix is handed on at once.
    std::size_t delivered = handler.parts.back().data.size();
    EXPECT_GE(delivered, (i + 1) * piece.size() - 16);
    EXPECT_GT(delivered, delivered_before);
    delivered_before = delivered;
  }
  ASSERT_TRUE(parser.Feed("\r\n--boundary--"));
  ASSERT_TRUE(parser.Finish());
  EXPECT_EQ(handler.parts.back().data.size(), 32 * piece.size());
}

TEST(PartHeadersTest, FilenameVariants) {
  auto p = ParsePartHeaders(
      "Content-Disposition: form-data; name=\"files\"; filename=\"C:\\dir\\say \\\"hi\\\".pdf\"");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->filename, "C:\\dir\\say \"hi\".pdf");

  // filename* wins over filename, in either order.
  p = ParsePartHeaders(
      "Content-Disposition: form-data; filename*=utf-8'en'na%C3%AFve.txt; name=file; "
      "filename=\"naive.txt\"");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "file");
  EXPECT_EQ(p->filename, "na\xC3\xAFve.txt");

  p = ParsePartHeaders(
      "Content-Disposition: form-data; name=file; filename*=ISO-8859-1''caf%E9.md");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->filename, "caf\xC3\xA9.md");

  // A malformed filename* falls back to filename.
  p = ParsePartHeaders(
      "Content-Disposition: form-data; name=file; filename*=UTF-8''bad%zz; filename=ok.txt");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->filename, "ok.txt");

  // Empty filename is still a file part (browsers send it for "no file").
  p = ParsePartHeaders("Content-Disposition: form-data; name=\"files\"; filename=\"\"");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->filename, "");

  // Folded header line.
  p = ParsePartHeaders("Content-Disposition: form-data;\r\n name=\"folded\"");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "folded");

  EXPECT_FALSE(ParsePartHeaders("no colon here"));
  EXPECT_FALSE(ParsePartHeaders("Content-Disposition: form-data; filename=a.txt"));
}

TEST(MultipartBoundaryTest, FromContentType) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=abc").value(), "abc");
  EXPECT_EQ(MultipartBoundary("Multipart/Form-Data;boundary=\"a b;c\"").value(), "a b;c");
  EXPECT_EQ(MultipartBoundary("multipart/form-data; charset=utf-8; BOUNDARY=x").value(), "x");
  EXPECT_FALSE(MultipartBoundary("application/json"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary="));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=" + std::string(201, 'x')));
  EXPECT_EQ(MultipartBoundary("text/plain").error().code, ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace ragpdf::http
