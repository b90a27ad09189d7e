#include "api/router.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "nlohmann/json.hpp"

namespace infera {
namespace {

HttpRequest MakeRequest(std::string method, std::string path) {
  HttpRequest request;
  request.method = std::move(method);
  request.path = path;
  request.target = std::move(path);
  return request;
}

// Dispatches synchronously and returns what was answered (the router and the handlers
// below always answer before returning).
HttpResponse Call(const Router& router, std::string method, std::string path) {
  HttpResponse answer;
  int calls = 0;
  router.Dispatch(MakeRequest(std::move(method), std::move(path)), [&](HttpResponse response) {
    ++calls;
    answer = std::move(response);
  });
  EXPECT_EQ(calls, 1);
  return answer;
}

// A handler answering 200 with `name` and the parameters it received.
Handler Named(std::string name) {
  return [name](HttpRequest&& request, const Responder& respond) {
    nlohmann::json body = {{"route", name}, {"params", request.params}};
    respond(JsonResponse(200, body.dump()));
  };
}

std::string RouteOf(const HttpResponse& response) {
  return nlohmann::json::parse(response.body).value("route", "");
}

TEST(RouterTest, MatchesLiteralPath) {
  Router router;
  router.Add("GET", "/health", Named("health"));
  router.Add("GET", "/", Named("root"));
  EXPECT_EQ(RouteOf(Call(router, "GET", "/health")), "health");
  EXPECT_EQ(RouteOf(Call(router, "GET", "/")), "root");
}

TEST(RouterTest, FillsParameters) {
  Router router;
  router.Add("POST", "/v2/models/{model}/versions/{version}/infer", Named("infer"));
  const HttpResponse response = Call(router, "POST", "/v2/models/mobilenet v2/versions/3/infer");
  ASSERT_EQ(response.status, 200);
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["params"]["model"], "mobilenet v2");
  EXPECT_EQ(body["params"]["version"], "3");
}

TEST(RouterTest, UnknownPathIs404WithJsonError) {
  Router router;
  router.Add("GET", "/health", Named("health"));
  const HttpResponse response = Call(router, "GET", "/x");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"error":"no route for GET /x"})");
}

TEST(RouterTest, OtherMethodIs405WithAllowHeader) {
  Router router;
  router.Add("POST", "/models/{name}", Named("load"));
  router.Add("GET", "/models/{name}", Named("get"));
  router.Add("GET", "/models/{name}", Named("duplicate"));
  const HttpResponse response = Call(router, "DELETE", "/models/a");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.at("allow"), "GET, POST");
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"],
            "method DELETE is not allowed for /models/a (allowed: GET, POST)");
}

TEST(RouterTest, MethodsAreCaseSensitive) {
  Router router;
  router.Add("GET", "/health", Named("health"));
  EXPECT_EQ(Call(router, "get", "/health").status, 405);
}

// The trailing slash is significant: "/health/" is another path than "/health".
TEST(RouterTest, TrailingSlashDoesNotMatch) {
  Router router;
  router.Add("GET", "/health", Named("health"));
  router.Add("GET", "/models/", Named("models-dir"));
  EXPECT_EQ(Call(router, "GET", "/health/").status, 404);
  EXPECT_EQ(Call(router, "GET", "/models").status, 404);
  EXPECT_EQ(RouteOf(Call(router, "GET", "/models/")), "models-dir");
}

TEST(RouterTest, ParameterNeverMatchesAnEmptySegment) {
  Router router;
  router.Add("GET", "/predict/{model}", Named("predict"));
  EXPECT_EQ(Call(router, "GET", "/predict/").status, 404);
  EXPECT_EQ(Call(router, "GET", "/predict").status, 404);
  EXPECT_EQ(Call(router, "GET", "/predict/a/b").status, 404);
}

TEST(RouterTest, LiteralSegmentBeatsParameterWhateverTheOrder) {
  Router router;
  router.Add("GET", "/models/{name}", Named("model"));
  router.Add("GET", "/models/stats", Named("stats"));
  router.Add("GET", "/{a}/b/c", Named("param-first"));
  router.Add("GET", "/a/{b}/c", Named("literal-first"));
  EXPECT_EQ(RouteOf(Call(router, "GET", "/models/stats")), "stats");
  EXPECT_EQ(RouteOf(Call(router, "GET", "/models/resnet")), "model");
  EXPECT_EQ(RouteOf(Call(router, "GET", "/a/b/c")), "literal-first");
}

TEST(RouterTest, FirstAddedWinsAmongEqualRoutes) {
  Router router;
  router.Add("GET", "/x/{a}", Named("first"));
  router.Add("GET", "/x/{b}", Named("second"));
  EXPECT_EQ(RouteOf(Call(router, "GET", "/x/1")), "first");
}

TEST(RouterTest, RejectsPathWithNulOrWithoutLeadingSlash) {
  Router router;
  router.Add("GET", "/predict/{model}", Named("predict"));
  EXPECT_EQ(Call(router, "GET", std::string("/predict/a\0b", 12)).status, 400);
  EXPECT_EQ(Call(router, "GET", "predict/a").status, 400);
  EXPECT_EQ(Call(router, "GET", "").status, 400);
}

TEST(RouterTest, HandlerExceptionPropagates) {
  Router router;
  router.Add("GET", "/boom",
             [](HttpRequest&&, const Responder&) { throw std::runtime_error("handler failed"); });
  EXPECT_THROW(router.Dispatch(MakeRequest("GET", "/boom"), [](const HttpResponse&) {}),
               std::runtime_error);
}

TEST(RouterTest, HandlerMayRespondLater) {
  Router router;
  Responder saved;
  router.Add("GET", "/later",
             [&saved](HttpRequest&&, Responder respond) { saved = std::move(respond); });
  int calls = 0;
  router.Dispatch(MakeRequest("GET", "/later"), [&calls](const HttpResponse&) { ++calls; });
  EXPECT_EQ(calls, 0);
  saved(JsonResponse(200, "{}"));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace infera
