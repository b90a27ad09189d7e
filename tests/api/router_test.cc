#include "api/router.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/request_id.h"
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

TEST(RouterTest, RoutesListsEveryRouteInTheOrderAdded) {
  Router router;
  router.Add("GET", "/x/{a}", Named("first"));
  router.Add("POST", "/y", Named("second"));
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(router.Routes(), (std::vector<Pair>{{"GET", "/x/{a}"}, {"POST", "/y"}}));
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

namespace infera {
namespace {

TEST(RouterRequestIdTest, ClientIdIsEchoedOrReplacedAndObserverSeesEachRequest) {
  Router router;
  std::vector<RequestRecord> seen;
  router.SetObserver([&](const RequestRecord& r) { seen.push_back(r); });
  std::string id_in_handler;
  router.Add("GET", "/m/{model}", [&](HttpRequest&& request, const Responder& respond) {
    id_in_handler = request.request_id;
    respond(JsonResponse(201, "{}"));
  });
  auto call = [&](const std::string& path, const std::string& client_id) {
    HttpRequest request = MakeRequest("GET", path);
    if (!client_id.empty()) request.headers["x-request-id"] = client_id;
    HttpResponse answer;
    router.Dispatch(std::move(request), [&](HttpResponse r) { answer = std::move(r); });
    return answer;
  };
  HttpResponse kept = call("/m/a", "trace-42.x");
  EXPECT_EQ(kept.headers["x-request-id"], "trace-42.x");
  EXPECT_EQ(id_in_handler, "trace-42.x");
  HttpResponse replaced = call("/m/a", "bad id\nwith newline");
  EXPECT_EQ(replaced.headers["x-request-id"].size(), 16u);
  EXPECT_NE(replaced.headers["x-request-id"], "bad id\nwith newline");
  HttpResponse generated = call("/nowhere", "");
  EXPECT_EQ(generated.status, 404);
  EXPECT_EQ(generated.headers["x-request-id"].size(), 16u);
  EXPECT_NE(generated.headers["x-request-id"], replaced.headers["x-request-id"]);

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].route, "/m/{model}");
  EXPECT_EQ(seen[0].path, "/m/a");
  EXPECT_EQ(seen[0].status, 201);
  EXPECT_EQ(seen[0].request_id, "trace-42.x");
  EXPECT_GE(seen[0].seconds, 0.0);
  EXPECT_EQ(seen[2].route, "");
  EXPECT_EQ(seen[2].status, 404);
  EXPECT_EQ(router.in_flight(), 0);
}

TEST(RouterRequestIdTest, InFlightCountsRequestsUntilTheyAreAnswered) {
  Router router;
  Responder pending;
  router.Add("GET", "/slow", [&](HttpRequest&&, Responder respond) { pending = respond; });
  router.Dispatch(MakeRequest("GET", "/slow"), [](HttpResponse) {});
  EXPECT_EQ(router.in_flight(), 1);
  pending(JsonResponse(200, "{}"));
  EXPECT_EQ(router.in_flight(), 0);
}

TEST(RouterRequestIdTest, MakeRequestIdLimitsLengthAndCharacters) {
  EXPECT_EQ(MakeRequestId("abc-DEF_1.2:3"), "abc-DEF_1.2:3");
  EXPECT_EQ(MakeRequestId(std::string(129, 'a')).size(), 16u);
  EXPECT_EQ(MakeRequestId("a/b").size(), 16u);
}

}  // namespace
}  // namespace infera
