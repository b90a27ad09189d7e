// The web page: GET / (index.html) and GET /<file> for every file of the StaticSite.
// Responses carry an ETag and `Cache-Control: no-cache` (the browser revalidates and
// gets 304 while the file is unchanged, so a new binary's page shows at once), and a
// Content-Security-Policy that allows only the page's own scripts, and images from the
// page, blob: and data: URLs (the page fetches images with its token and shows blobs).
#include "api/http_status.h"
#include "api/routes/routes.h"
#include "common/strings.h"
#include "web/static_site.h"

namespace infera {

void AddWebRoutes(Router& router, const StaticSite& site) {
  for (const std::string& url_path : site.url_paths()) {
    router.Add("GET", url_path, [&site, url_path](HttpRequest&& req, Responder respond) {
      StatusOr<StaticFile> file = site.Get(url_path);
      if (!file.ok()) return respond(StatusResponse(file.status()));
      HttpResponse response;
      response.headers["etag"] = file->etag;
      response.headers["cache-control"] = "no-cache";
      response.headers["x-content-type-options"] = "nosniff";
      response.headers["referrer-policy"] = "no-referrer";
      if (file->content_type.starts_with("text/html")) {
        response.headers["content-security-policy"] =
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
        response.headers["x-frame-options"] = "DENY";
      }
      if (req.header("if-none-match") == file->etag) {
        response.status = 304;
        response.content_type.clear();
        return respond(std::move(response));
      }
      response.content_type = std::move(file->content_type);
      response.body = std::move(file->bytes);
      respond(std::move(response));
    });
  }
}

}  // namespace infera
