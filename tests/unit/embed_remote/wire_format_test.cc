#include "embed/remote/wire_format.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ragpdf::embed::remote {
namespace {

namespace json = boost::json;
using common::ErrorCode;

std::string Response(const std::vector<std::string>& embeddings,
                     const std::vector<int>& indexes = {}) {
  std::string data;
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    if (!data.empty()) data += ",";
    const int index = indexes.empty() ? static_cast<int>(i) : indexes[i];
    data += R"({"object":"embedding","index":)" + std::to_string(index) + R"(,"embedding":)" +
            embeddings[i] + "}";
  }
  return R"({"object":"list","data":[)" + data +
         R"(],"model":"m","usage":{"prompt_tokens":3,"total_tokens":3}})";
}

void ExpectBad(std::string_view body, std::size_t count, int dimension, std::string_view what) {
  auto r = ParseEmbeddingsResponse(body, count, dimension);
  ASSERT_FALSE(r) << body;
  EXPECT_EQ(r.error().code, ErrorCode::kEmbeddingBadResponse) << body;
  EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
}

TEST(WireFormat, RequestBody) {
  std::vector<std::string> inputs = {"a", "b \"quoted\""};
  auto body = json::parse(BuildEmbeddingsRequest(
                              {.model = "text-embedding-3-small", .dimensions = 256}, inputs))
                  .as_object();
  EXPECT_EQ(body.at("model").as_string(), "text-embedding-3-small");
  EXPECT_EQ(body.at("dimensions").as_int64(), 256);
  EXPECT_EQ(body.at("encoding_format").as_string(), "float");
  ASSERT_EQ(body.at("input").as_array().size(), 2u);
  EXPECT_EQ(body.at("input").as_array()[1].as_string(), "b \"quoted\"");

  auto azure =
      json::parse(BuildEmbeddingsRequest({.encoding_format = "base64"}, inputs)).as_object();
  EXPECT_FALSE(azure.contains("model"));
  EXPECT_FALSE(azure.contains("dimensions"));
  EXPECT_EQ(azure.at("encoding_format").as_string(), "base64");
}

TEST(WireFormat, ParsesInOrderAndNormalizes) {
  auto r = ParseEmbeddingsResponse(Response({"[3, 4]", "[0.6, 0.8]", "[0, 0]"}), 3, 2);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->dimension, 2);
  ASSERT_EQ(r->rows(), 3u);
  EXPECT_FLOAT_EQ(r->Row(0)[0], 0.6f);
  EXPECT_FLOAT_EQ(r->Row(0)[1], 0.8f);
  EXPECT_EQ(r->Row(1)[0], 0.6f);  // already unit length: kept as sent
  EXPECT_EQ(r->Row(1)[1], 0.8f);
  EXPECT_EQ(r->Row(2)[0], 0.0f);  // zero stays zero
}

TEST(WireFormat, PlacesEntriesByIndex) {
  auto r = ParseEmbeddingsResponse(Response({"[0,1]", "[1,0]", "[0.6,0.8]"}, {2, 0, 1}), 3, 2);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->data, (std::vector<float>{1, 0, 0.6f, 0.8f, 0, 1}));
}

TEST(WireFormat, UnitVectorsAreKeptBitForBit) {
  const std::vector<float> v = {0.1f, 0.2f, 0.3f, 0.9273618495495704f};
  double norm = 0;
  for (float x : v) norm += double(x) * x;
  std::vector<float> unit;
  for (float x : v) unit.push_back(static_cast<float>(x / std::sqrt(norm)));
  std::string array = "[";
  for (std::size_t i = 0; i < unit.size(); ++i) {
    array += std::string(i ? "," : "") + json::serialize(json::value(static_cast<double>(unit[i])));
  }
  array += "]";
  auto r = ParseEmbeddingsResponse(Response({array}), 1, 0);
  ASSERT_TRUE(r) << r.error().message;
  for (std::size_t i = 0; i < unit.size(); ++i) EXPECT_EQ(r->Row(0)[i], unit[i]);
}

TEST(WireFormat, AcceptsBase64AndNoIndex) {
  const std::vector<float> v = {0.6f, -0.8f, 0.0f};
  const std::string b64 = "\"" + EncodeFloatsBase64(v) + "\"";
  auto r = ParseEmbeddingsResponse(R"({"data":[{"embedding":)" + b64 + "}]}", 1, 3);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(std::vector<float>(r->data.begin(), r->data.end()), v);
}

TEST(WireFormat, Base64RoundTripAndRejects) {
  for (std::size_t n : {0u, 1u, 2u, 3u, 7u}) {
    std::vector<float> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(0.25f * static_cast<float>(i) - 1.0f);
    auto back = DecodeFloatsBase64(EncodeFloatsBase64(v));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
  }
  EXPECT_FALSE(DecodeFloatsBase64("abc"));       // not a multiple of 4 chars
  EXPECT_FALSE(DecodeFloatsBase64("AAA="));      // 2 bytes: not a float
  EXPECT_FALSE(DecodeFloatsBase64("!!!!!!!!"));  // not base64
}

TEST(WireFormat, EmptyResponseForNoInputs) {
  auto r = ParseEmbeddingsResponse(R"({"data":[]})", 0, 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows(), 0u);
}

TEST(WireFormat, RejectsEveryMalformedVariant) {
  ExpectBad("", 1, 0, "malformed JSON");
  ExpectBad("{\"data\": [", 1, 0, "malformed JSON");
  ExpectBad("<html>502 Bad Gateway</html>", 1, 0, "malformed JSON");
  ExpectBad("[1,2]", 1, 0, "not a JSON object");
  ExpectBad("{}", 1, 0, "no data array");
  ExpectBad(R"({"data": {}})", 1, 0, "no data array");
  ExpectBad(R"({"error": {"message": "quota"}})", 1, 0, "quota");
  ExpectBad(Response({"[1,0]"}), 2, 0, "expected 2 embeddings, got 1");
  ExpectBad(Response({"[1,0]", "[0,1]", "[1,1]"}), 2, 0, "expected 2 embeddings, got 3");
  ExpectBad(Response({"[1,0]", "[0,1]"}, {0, 0}), 2, 0, "appears twice");
  ExpectBad(Response({"[1,0]", "[0,1]"}, {0, 2}), 2, 0, "out of range");
  ExpectBad(Response({"[1,0]"}, {-1}), 1, 0, "out of range");
  ExpectBad(R"({"data":[{"index":1,"embedding":[1]},{"embedding":[1]}]})", 2, 0, "some data");
  ExpectBad(R"({"data":[{"index":"0","embedding":[1]}]})", 1, 0, "index is not an integer");
  ExpectBad(R"({"data":[{"index":0}]})", 1, 0, "without embedding");
  ExpectBad(R"({"data":[5]})", 1, 0, "not an object");
  ExpectBad(R"({"data":[{"embedding":{}}]})", 1, 0, "neither");
  ExpectBad(R"({"data":[{"embedding":[1,"x"]}]})", 1, 0, "non-numeric");
  ExpectBad(R"({"data":[{"embedding":[1,null]}]})", 1, 0, "non-numeric");
  ExpectBad(R"({"data":[{"embedding":[1e999]}]})", 1, 0, "non-finite");
  ExpectBad(R"({"data":[{"embedding":[1e300]}]})", 1, 0, "non-finite");
  ExpectBad(R"({"data":[{"embedding":[]}]})", 1, 0, "empty embedding");
  ExpectBad(R"({"data":[{"embedding":"***"}]})", 1, 0, "base64");
  ExpectBad(Response({"[1,0]", "[0,1,0]"}), 2, 0, "different dimensions");
  ExpectBad(Response({"[1,0,0]"}), 1, 2, "dimension 3, expected 2");
}

TEST(WireFormat, DescribeErrorBody) {
  EXPECT_EQ(DescribeErrorBody(R"({"error":{"message":"Rate limit reached","type":"x"}})"),
            "Rate limit reached");
  EXPECT_EQ(DescribeErrorBody(R"({"error":"model not found"})"), "model not found");
  EXPECT_EQ(DescribeErrorBody(R"({"message":"nope"})"), "nope");
  EXPECT_EQ(DescribeErrorBody("Bad\ngateway"), "Bad gateway");
  EXPECT_EQ(DescribeErrorBody(std::string(1000, 'x')).size(), 300u);
}

}  // namespace
}  // namespace ragpdf::embed::remote
