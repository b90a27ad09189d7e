// The web page over HTTP: GET / and every embedded file with its type, ETag revalidation
// (304), the security headers of index.html, unknown paths still JSON 404s; and
// `server.web_dir` serving a folder on disk instead (edits visible without a restart,
// nothing outside the folder reachable).
#include <gtest/gtest.h>

#include <fstream>

#include "api/http_client.h"
#include "support/server_fixture.h"
#include "web/static_site.h"
#include "web/web_assets.h"

namespace infera::testing {
namespace {

class WebPageTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_cls"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(WebPageTest, ServesTheEmbeddedPage) {
  HttpResponse index = Get("/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<html"), std::string::npos);
  const std::string csp = index.headers["content-security-policy"];
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(index.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");
  const std::string etag = index.headers["etag"];
  ASSERT_FALSE(etag.empty());

  // Revalidation: the same ETag answers 304 with no body; another gets the page.
  HttpResponse again = Send("GET", "/", "", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Send("GET", "/", "", {{"If-None-Match", "\"stale\""}}).status, 200);

  // Every embedded file, byte for byte, with its type.
  ASSERT_GE(EmbeddedWebAssets().size(), 2u);
  for (const WebAsset& asset : EmbeddedWebAssets()) {
    const std::string path = "/" + std::string(asset.path);
    SCOPED_TRACE(path);
    HttpResponse r = Get(path);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, asset.bytes);
    EXPECT_EQ(r.headers["content-type"], ContentTypeForPath(asset.path));
  }
  // The API keeps its JSON errors: no page for unknown paths.
  ExpectError(Get("/nope"), 404, "no route for GET /nope");
  ExpectError(Get("/js/nope.js"), 404, "no route");
  ExpectError(Get("/api/nope"), 404, "no route");
  ExpectError(Send("POST", "/", "x"), 405, "not allowed");
}

TEST(WebDirTest, ServesTheFolderAndNothingElse) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "site" / "js");
  std::ofstream(dir.path() / "site" / "index.html") << "<html>dev page</html>";
  std::ofstream(dir.path() / "site" / "js" / "app.js") << "export const v = 1;";
  std::ofstream(dir.path() / "secret.txt") << "not for the web";
  CopyModel("tiny_cls", dir.path() / "repo");
  std::unique_ptr<Server> server =
      StartServer(dir.path(), "server: {web_dir: site}\nmodel_repository: repo\n");
  ASSERT_NE(server, nullptr);
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", server->port()).ok());
  auto get = [&client](const std::string& target) {
    StatusOr<HttpResponse> r = client.Send("GET", target, "", {});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{};
  };
  HttpResponse index = get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<html>dev page</html>");
  EXPECT_EQ(get("/js/app.js").body, "export const v = 1;");
  std::ofstream(dir.path() / "site" / "js" / "app.js") << "export const v = 2;";
  EXPECT_EQ(get("/js/app.js").body, "export const v = 2;");
  for (const char* bad : {"/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt",
                          "/secret.txt", "/repo/tiny_cls/model.yaml"}) {
    SCOPED_TRACE(bad);
    HttpResponse r = get(bad);
    EXPECT_NE(r.status, 200);
    EXPECT_EQ(r.body.find("not for the web"), std::string::npos);
  }
  server->Stop();
}

TEST(WebDirTest, AFolderWithoutAnIndexStopsStartUp) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "empty");
  std::ofstream(dir.path() / "config.yaml") << "server: {web_dir: empty}\n";
  StatusOr<ServerConfig> config = LoadServerConfig(dir.path() / "config.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  StatusOr<std::unique_ptr<Server>> server = Server::Create(*config);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(std::string(server.status().message()).find("index.html"), std::string::npos)
      << server.status();
}

}  // namespace
}  // namespace infera::testing
