// DicomwebClient: the three DICOMweb services infera uses, over one keep-alive HTTP
// connection (api/http_client.h):
//   QIDO-RS  search:   GET {base}/studies/{study}/instances,
//                      GET {base}/studies/{study}/series/{series}/instances
//                      (paged with limit/offset), GET {base}/series?SeriesInstanceUID=
//                      (the study of a series given alone)
//   WADO-RS  retrieve: GET {base}/studies/{s}/series/{se}/instances/{i}, Accept
//                      multipart/related; type="application/dicom" (the part is the
//                      instance's Part 10 file)
//   STOW-RS  store:    POST {base}/studies, multipart/related; type="application/dicom"
//
// Errors, with the PACS's URL (never the credentials) in the message:
//   Unavailable      the PACS cannot be reached (connection refused, reset, timeout)
//   PermissionDenied HTTP 401 or 403 ("the PACS refused the credentials (HTTP 401)")
//   NotFound         an unknown study/series/instance (HTTP 404, or a search with none)
//   Internal         any other HTTP error status, or an answer that is not what the
//                    standard says (not JSON, not multipart/related, no DICOM part)
//
// Thread-safety: NOT thread-safe (one connection); one client per job.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_client.h"
#include "common/status.h"
#include "dicomweb/dicomweb_auth.h"
#include "dicomweb/dicomweb_url.h"

namespace infera {

// One instance a search found.
struct DicomwebInstanceRef {
  std::string study_uid;
  std::string series_uid;
  std::string sop_instance_uid;
};

// What STOW-RS said of one instance sent.
struct StowOutcome {
  std::string sop_instance_uid;
  bool stored = false;
  std::string retrieve_url;  // when stored and the PACS gave one
  std::string reason;        // when not stored: the FailureReason code, or why
};

struct StowResult {
  int http_status = 0;  // 200 all stored, 202 some failed or warnings, 409 none stored
  std::vector<StowOutcome> outcomes;  // one per instance the response names
};

class DicomwebClient {
 public:
  DicomwebClient(DicomwebUrl url, DicomwebAuth auth, std::chrono::milliseconds timeout);

  // The instances of a study, or of one series (series_uid set; study_uid may be empty:
  // it is looked up). Ordered as the PACS lists them; at most `max_instances` (more:
  // InvalidArgument). A study or series with no instances: NotFound.
  StatusOr<std::vector<DicomwebInstanceRef>> SearchInstances(std::string_view study_uid,
                                                             std::string_view series_uid,
                                                             size_t max_instances = 100000);
  // The Part 10 bytes of one instance (the first application/dicom part of the answer),
  // at most `max_bytes` (more: InvalidArgument).
  StatusOr<std::string> RetrieveInstance(const DicomwebInstanceRef& ref, uint64_t max_bytes);
  // Stores Part 10 files in one request. An HTTP status other than 200/202/409 is an
  // error as above.
  StatusOr<StowResult> Store(const std::vector<std::string_view>& instances);

  const DicomwebUrl& url() const { return url_; }

 private:
  StatusOr<HttpResponse> Get(const std::string& target, std::string_view accept);
  Status CheckStatus(const HttpResponse& response, std::string_view what) const;
  StatusOr<nlohmann::json> JsonArray(const HttpResponse& response, std::string_view what) const;

  const DicomwebUrl url_;
  const DicomwebAuth auth_;
  HttpClient http_;
  bool connected_ = false;
};

// A DICOM JSON attribute's first string value ("0020000D" -> the UID), "" when absent.
std::string DicomJsonString(const nlohmann::json& object, std::string_view tag);

}  // namespace infera
