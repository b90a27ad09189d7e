#include "api/http_types.h"

#include <gtest/gtest.h>

#include <string>

#include "nlohmann/json.hpp"

namespace infera {
namespace {

TEST(HttpTypesTest, HeaderIsCaseInsensitive) {
  HttpRequest request;
  request.headers["content-type"] = "image/png";
  request.headers["X-Mixed"] = "yes";  // built by hand, not lower-cased
  EXPECT_EQ(request.header("Content-Type"), "image/png");
  EXPECT_EQ(request.header("content-type"), "image/png");
  EXPECT_EQ(request.header("x-mixed"), "yes");
  EXPECT_EQ(request.header("missing"), "");
}

TEST(HttpTypesTest, QueryParamIsPercentDecoded) {
  HttpRequest request;
  request.query = "a=1&name=hello%20world&plus=a+b&flag&empty=&enc%5Fkey=v&bad=%zz%4";
  std::string value;
  ASSERT_TRUE(request.query_param("a", &value));
  EXPECT_EQ(value, "1");
  ASSERT_TRUE(request.query_param("name", &value));
  EXPECT_EQ(value, "hello world");
  ASSERT_TRUE(request.query_param("plus", &value));
  EXPECT_EQ(value, "a b");
  ASSERT_TRUE(request.query_param("flag", &value));
  EXPECT_EQ(value, "");
  ASSERT_TRUE(request.query_param("empty", &value));
  EXPECT_EQ(value, "");
  ASSERT_TRUE(request.query_param("enc_key", &value));
  EXPECT_EQ(value, "v");
  ASSERT_TRUE(request.query_param("bad", &value));
  EXPECT_EQ(value, "%zz%4");  // malformed escapes are kept literally
  EXPECT_FALSE(request.query_param("missing", &value));
  EXPECT_TRUE(request.query_param("a", nullptr));
}

TEST(HttpTypesTest, QueryParamReturnsTheFirstOccurrence) {
  HttpRequest request;
  request.query = "k=first&k=second";
  std::string value;
  ASSERT_TRUE(request.query_param("k", &value));
  EXPECT_EQ(value, "first");
}

TEST(HttpTypesTest, PercentDecode) {
  std::string out;
  ASSERT_TRUE(PercentDecode("/a%2Fb%41+c", /*plus_as_space=*/false, &out));
  EXPECT_EQ(out, "/a/bA+c");
  ASSERT_TRUE(PercentDecode("a+b", /*plus_as_space=*/true, &out));
  EXPECT_EQ(out, "a b");
  EXPECT_FALSE(PercentDecode("%", false, &out));
  EXPECT_FALSE(PercentDecode("%4", false, &out));
  EXPECT_FALSE(PercentDecode("%g0", false, &out));
  ASSERT_TRUE(PercentDecode("%00", false, &out));
  EXPECT_EQ(out, std::string(1, '\0'));
}

TEST(HttpTypesTest, JsonResponse) {
  const HttpResponse response = JsonResponse(201, R"({"ok":true})");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"ok":true})");
}

TEST(HttpTypesTest, ErrorResponseEscapesTheMessage) {
  const HttpResponse response = ErrorResponse(400, "bad \"quote\"\n\\ end");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"error":"bad \"quote\"\n\\ end"})");
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"], "bad \"quote\"\n\\ end");
}

TEST(HttpTypesTest, ErrorResponseSurvivesInvalidUtf8) {
  const HttpResponse response = ErrorResponse(404, "no route for GET /\xff\xfe");
  EXPECT_EQ(response.status, 404);
  EXPECT_NO_THROW(nlohmann::json::parse(response.body));
}

}  // namespace
}  // namespace infera
