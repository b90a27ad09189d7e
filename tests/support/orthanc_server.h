// OrthancServer: a real Orthanc PACS with its DICOMweb plugin for the DICOMweb tests
// (issue 21), started by the test and stopped (its folder removed) when destroyed.
//
// Debian's `Orthanc` (/usr/sbin/Orthanc, or $INFERA_ORTHANC) runs from a JSON config the
// helper writes into a temp folder: HTTP on 127.0.0.1 at a free port, its DICOM server
// off, storage and index in the folder, the DICOMweb plugin (Debian's orthanc-dicomweb:
// /usr/share/orthanc/plugins/libOrthancDicomWeb.so, or $INFERA_ORTHANC_DICOMWEB) at
// /dicom-web/, and HTTP basic auth when users are given. Never the system service.
//
// Start waits (bounded) until GET /system answers and /plugins lists dicom-web. When the
// binary or the plugin is missing, or Orthanc does not come up, Start returns
// FailedPrecondition with what to install (or Orthanc's log); tests ASSERT on it, so they
// fail with that message rather than skip.
//
// Thread-safety: one test thread uses a server; Upload and Get open their own connection.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "common/status.h"

namespace infera::testing {

struct OrthancOptions {
  // user -> password; non-empty turns AuthenticationEnabled on.
  std::map<std::string, std::string> users;
};

class OrthancServer {
 public:
  static StatusOr<std::unique_ptr<OrthancServer>> Start(const OrthancOptions& options = {});
  ~OrthancServer();  // SIGTERM, waits up to 10 s, SIGKILL; removes the folder
  OrthancServer(const OrthancServer&) = delete;
  OrthancServer& operator=(const OrthancServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;           // http://127.0.0.1:PORT
  std::string dicomweb_url() const;  // http://127.0.0.1:PORT/dicom-web

  // POST /instances: stores one Part 10 file; returns Orthanc's id of the instance.
  StatusOr<std::string> Upload(const std::string& dicom);
  // A request to Orthanc's REST API (or /dicom-web/...), with the first user's basic auth
  // when users were given.
  StatusOr<HttpResponse> Send(const std::string& method, const std::string& target,
                              const std::string& body = "", HttpHeaders headers = {});
  // Orthanc's log so far (the tail), for failure messages.
  std::string Log() const;

 private:
  OrthancServer() = default;
  Status Launch(const OrthancOptions& options);

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string auth_header_;
};

}  // namespace infera::testing
