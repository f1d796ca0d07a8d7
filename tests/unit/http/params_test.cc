// Request parameter validation, JSON field access, the route table and the
// upload collector (temp files) without a network.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>
#include <boost/json/parse.hpp>

#include "common/hash.h"
#include "http/json_request.h"
#include "http/params.h"
#include "http/router.h"
#include "http/upload.h"

namespace ragpdf::http {
namespace {

using boost::beast::http::status;
using boost::beast::http::verb;
using common::ErrorCode;

const std::string kId(64, 'a');
const std::string kId2 = std::string(63, '0') + "f";

TEST(SanitizeFilenameTest, KeepsOnlyASafeBaseName) {
  EXPECT_EQ(SanitizeFilename("report.pdf"), "report.pdf");
  EXPECT_EQ(SanitizeFilename("../../etc/passwd"), "passwd");
  EXPECT_EQ(SanitizeFilename("C:\\Users\\bob\\cv.docx"), "cv.docx");
  EXPECT_EQ(SanitizeFilename("a\x01"
                             "b\r\nc\x7f.txt"),
            "abc.txt");
  EXPECT_EQ(SanitizeFilename("bad\xff\xfe utf8.md"), "bad utf8.md");
  EXPECT_EQ(SanitizeFilename("caf\xC3\xA9 \xE2\x82\xAC.csv"), "caf\xC3\xA9 \xE2\x82\xAC.csv");
  EXPECT_EQ(SanitizeFilename("x\xC2\x85y"), "xy");  // C1 control
  EXPECT_EQ(SanitizeFilename("  spaced.txt  "), "spaced.txt");
  EXPECT_EQ(SanitizeFilename(""), "upload");
  EXPECT_EQ(SanitizeFilename("dir/"), "upload");
  EXPECT_EQ(SanitizeFilename(".."), "upload");
  EXPECT_EQ(SanitizeFilename("\x01\x02"), "upload");
}

TEST(SanitizeFilenameTest, ShortensLongNamesKeepingExtensionAndUtf8) {
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\xC3\xA9";  // 400 bytes
  std::string cut = SanitizeFilename(name + ".pdf");
  EXPECT_LE(cut.size(), kMaxFilenameBytes);
  EXPECT_TRUE(cut.ends_with(".pdf"));
  EXPECT_EQ(SanitizeFilename(cut), cut);  // still valid UTF-8: nothing dropped
  EXPECT_EQ(cut.size(), 254u);            // 125 two-byte characters + ".pdf"
}

TEST(ParamsTest, FileIdList) {
  auto ids =
      ParseFileIdList(" " + kId + " ,\n\n" + std::string(64, 'B') + ",,", "existing_file_ids");
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{kId, std::string(64, 'b')}));
  EXPECT_TRUE(ParseFileIdList("", "x")->empty());
  auto bad = ParseFileIdList(kId + ",nothex", "existing_file_ids");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(bad.error().message.find("existing_file_ids"), std::string::npos);
  EXPECT_FALSE(ParseFileIdList(std::string(63, 'a'), "x"));
}

TEST(ParamsTest, BoolModeUsername) {
  for (const char* t : {"true", "1", "YES", " True "}) EXPECT_TRUE(ParseBool(t, "wait").value());
  for (const char* f : {"false", "0", "no", "No"}) EXPECT_FALSE(ParseBool(f, "wait").value());
  EXPECT_FALSE(ParseBool("maybe", "wait"));
  EXPECT_EQ(ParseMode("").value(), query::SearchMode::kHybrid);
  EXPECT_EQ(ParseMode("Vector").value(), query::SearchMode::kVector);
  EXPECT_EQ(ParseMode("keyword").value(), query::SearchMode::kKeyword);
  EXPECT_EQ(ParseMode("semantic").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(ModeName(query::SearchMode::kKeyword), "keyword");
  EXPECT_EQ(ValidateUsername(" bob ").value(), "bob");
  EXPECT_EQ(ValidateUsername(std::nullopt).error().code, ErrorCode::kMissingField);
  EXPECT_EQ(ValidateUsername("  ").error().code, ErrorCode::kMissingField);
  EXPECT_EQ(ValidateUsername(std::string(257, 'u')).error().code, ErrorCode::kBadRequest);
  EXPECT_TRUE(ValidateUsername(std::string(256, 'u')));
}

TEST(JsonRequestTest, ParseAndFields) {
  EXPECT_TRUE(ParseJsonObject("", "{}"));
  EXPECT_TRUE(ParseJsonObject("application/json; charset=utf-8", "{}"));
  EXPECT_TRUE(ParseJsonObject("application/vnd.api+json", "{}"));
  EXPECT_EQ(ParseJsonObject("text/plain", "{}").error().code, ErrorCode::kBadRequest);
  auto malformed = ParseJsonObject("application/json", "{\"a\": ");
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.error().message.find("malformed JSON"), std::string::npos);
  EXPECT_FALSE(ParseJsonObject("", "[1]"));

  auto obj = ParseJsonObject("", R"({"s": "x", "n": 3, "d": 4.0, "f": 2.5, "z": null})").value();
  EXPECT_EQ(GetString(obj, "s").value(), "x");
  EXPECT_EQ(GetString(obj, "missing").value(), std::nullopt);
  EXPECT_EQ(GetString(obj, "z").value(), std::nullopt);
  auto wrong = GetString(obj, "n");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("n:"), std::string::npos);
  EXPECT_EQ(GetInt(obj, "n").value(), 3);
  EXPECT_EQ(GetInt(obj, "d").value(), 4);
  EXPECT_FALSE(GetInt(obj, "f"));
  EXPECT_FALSE(GetInt(obj, "s"));
}

TEST(JsonRequestTest, FileIds) {
  auto obj = [](const std::string& text) { return boost::json::parse(text).as_object(); };
  EXPECT_EQ(GetFileIds(obj("{\"file_ids\": [\"" + kId + "\", \"" + kId2 + "\", \"" + kId + "\"]}"))
                .value(),
            (std::vector<std::string>{kId, kId2}));
  EXPECT_EQ(
      GetFileIds(obj("{\"file_id\": \"" + kId2 + "\", \"file_ids\": [\"" + kId + "\"]}")).value(),
      (std::vector<std::string>{kId2, kId}));
  EXPECT_EQ(GetFileIds(obj("{\"file_ids\": \"" + kId + "\"}")).value(), std::vector{kId});
  EXPECT_EQ(GetFileIds(obj("{}")).error().code, ErrorCode::kMissingField);
  EXPECT_EQ(GetFileIds(obj("{\"file_ids\": [1]}")).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(GetFileIds(obj("{\"file_ids\": [\"xyz\"]}")).error().code, ErrorCode::kBadRequest);
}

TEST(RouterTest, MatchesRoutesMethodsAndParameters) {
  auto m = MatchRoute(verb::post, "/file/upload");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(*m.route, Route::kUpload);
  EXPECT_EQ(m.label, "/file/upload");

  m = MatchRoute(verb::get, "/embeddings/status/" + kId + "?model_choice=mini%20lm&x=1");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(*m.route, Route::kEmbeddingsStatus);
  EXPECT_EQ(m.file_id, kId);
  EXPECT_EQ(m.model_choice, "mini lm");
  EXPECT_EQ(m.label, "/embeddings/status/{file_id}");

  EXPECT_EQ(*MatchRoute(verb::delete_, "/delete").route, Route::kDelete);
  EXPECT_EQ(*MatchRoute(verb::post, "/delete").route, Route::kDelete);
  EXPECT_EQ(*MatchRoute(verb::get, "/health/").route, Route::kHealth);

  m = MatchRoute(verb::get, "/nope");
  ASSERT_FALSE(m.route);
  EXPECT_EQ(m.error->status, status::not_found);
  EXPECT_EQ(m.label, "unmatched");
  EXPECT_EQ(MatchRoute(verb::get, "/embeddings/status/").error->status, status::not_found);
  EXPECT_EQ(MatchRoute(verb::get, "/embeddings/status/a/b").error->status, status::not_found);

  m = MatchRoute(verb::get, "/delete");
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->status, status::method_not_allowed);
  EXPECT_NE(m.error->body.find("\"bad_request\""), std::string::npos);
  ASSERT_EQ(m.error->headers.size(), 1u);
  EXPECT_EQ(m.error->headers[0].first, boost::beast::http::field::allow);
  EXPECT_EQ(m.error->headers[0].second, "DELETE, POST");

  EXPECT_EQ(MatchRoute(verb::get, "http://x/abs").error->status, status::bad_request);
}

class UploadCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ragpdf_collector_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::size_t FilesInDir() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                                  std::filesystem::directory_iterator()));
  }
  static PartInfo File(std::string filename) { return {"files", std::move(filename), ""}; }
  static PartInfo Field(std::string name) { return {std::move(name), std::nullopt, ""}; }
  static void Send(UploadCollector& c, const PartInfo& part, std::string_view data) {
    ASSERT_TRUE(c.OnPartBegin(part));
    ASSERT_TRUE(c.OnPartData(data));
    ASSERT_TRUE(c.OnPartEnd());
  }

  std::filesystem::path dir_;
};

TEST_F(UploadCollectorTest, BuildsRequestAndHandsOverFiles) {
  std::filesystem::path kept;
  {
    UploadCollector c(dir_, {});
    Send(c, File("../a.pdf"), "pdf bytes");
    Send(c, Field("username"), "carol");
    Send(c, Field("existing_file_ids"), kId);
    Send(c, Field("existing_file_ids"), kId2);
    Send(c, Field("wait"), "no");
    Send(c, Field("model_choice"), " m2 ");
    Send(c, Field("unknown"), "ignored");
    Send(c, File(""), "");  // browser: no file chosen
    auto r = c.TakeRequest();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->username, "carol");
    EXPECT_EQ(r->model_choice, "m2");
    EXPECT_FALSE(r->wait);
    EXPECT_EQ(r->existing_file_ids, (std::vector<std::string>{kId, kId2}));
    ASSERT_EQ(r->files.size(), 1u);
    EXPECT_EQ(r->files[0].filename, "a.pdf");
    EXPECT_EQ(r->files[0].size, 9u);
    EXPECT_EQ(r->files[0].sha256, common::Sha256Hex("pdf bytes"));
    EXPECT_EQ(r->files[0].temp_path.parent_path(), dir_);
    kept = r->files[0].temp_path;
  }
  // Handed over: the collector did not delete it.
  std::ifstream in(kept, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "pdf bytes");
  EXPECT_EQ(FilesInDir(), 1u);
}

TEST_F(UploadCollectorTest, DeletesTempFilesOnFailure) {
  {
    UploadCollector c(dir_, {});
    Send(c, File("a.txt"), "one");
    ASSERT_TRUE(c.OnPartBegin(File("b.txt")));
    ASSERT_TRUE(c.OnPartData("half"));  // the body stops mid-part
    EXPECT_EQ(FilesInDir(), 2u);
    auto r = c.TakeRequest();  // no username
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kMissingField);
  }
  EXPECT_EQ(FilesInDir(), 0u);
}

TEST_F(UploadCollectorTest, Limits) {
  UploadCollector c(dir_, {.max_files = 2, .max_field_bytes = 8});
  Send(c, File("1.txt"), "1");
  Send(c, File("2.txt"), "2");
  auto third = c.OnPartBegin(File("3.txt"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kPayloadTooLarge);

  UploadCollector d(dir_, {.max_files = 2, .max_field_bytes = 8});
  ASSERT_TRUE(d.OnPartBegin(Field("username")));
  ASSERT_TRUE(d.OnPartData("12345678"));
  auto over = d.OnPartData("9");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kPayloadTooLarge);
}

TEST_F(UploadCollectorTest, RequiresAFileOrAnId) {
  UploadCollector c(dir_, {});
  Send(c, Field("username"), "dave");
  EXPECT_EQ(c.TakeRequest().error().code, ErrorCode::kBadRequest);
  UploadCollector d(dir_, {});
  Send(d, Field("username"), "dave");
  Send(d, Field("wait"), "perhaps");
  Send(d, File("x.txt"), "x");
  EXPECT_EQ(d.TakeRequest().error().code, ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace ragpdf::http
