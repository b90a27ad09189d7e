#include "dicomweb/dicomweb_client.h"

#include <utility>

#include "common/strings.h"
#include "dicomweb/multipart_related.h"

namespace infera {

namespace {

// UIDs are digits and dots (PS3.5 9.1); anything else never reaches a URL.
bool ValidUid(std::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (char c : uid) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string DicomJsonString(const nlohmann::json& object, std::string_view tag) {
  if (!object.is_object()) return "";
  auto it = object.find(std::string(tag));
  if (it == object.end() || !it->is_object()) return "";
  auto value = it->find("Value");
  if (value == it->end() || !value->is_array() || value->empty()) return "";
  const nlohmann::json& first = (*value)[0];
  if (first.is_string()) return first.get<std::string>();
  if (first.is_number_integer()) return std::to_string(first.get<int64_t>());
  return "";
}

DicomwebClient::DicomwebClient(DicomwebUrl url, DicomwebAuth auth,
                               std::chrono::milliseconds timeout)
    : url_(std::move(url)), auth_(std::move(auth)), http_(timeout) {}

StatusOr<HttpResponse> DicomwebClient::Get(const std::string& target, std::string_view accept) {
  HttpHeaders headers = {{"Accept", std::string(accept)}};
  if (auth_.type != DicomwebAuth::Type::kNone) headers["Authorization"] = auth_.Header();
  if (!connected_) {
    Status connected = http_.Connect(url_.host, url_.port);
    if (!connected.ok()) {
      return absl::UnavailableError(
          StrCat("cannot reach the PACS at ", url_.ToString(), ": ", connected.message()));
    }
    connected_ = true;
  }
  StatusOr<HttpResponse> response = http_.Send("GET", target, {}, headers);
  if (!response.ok()) {
    return absl::UnavailableError(
        StrCat("cannot reach the PACS at ", url_.ToString(), ": ", response.status().message()));
  }
  return response;
}

Status DicomwebClient::CheckStatus(const HttpResponse& response, std::string_view what) const {
  if (response.status >= 200 && response.status < 300) return absl::OkStatus();
  if (response.status == 401 || response.status == 403) {
    return absl::PermissionDeniedError(StrCat("the PACS at ", url_.ToString(),
                                              " refused the credentials (HTTP ", response.status,
                                              ") for ", what));
  }
  if (response.status == 404) {
    return absl::NotFoundError(
        StrCat("the PACS at ", url_.ToString(), " has no ", what, " (HTTP 404)"));
  }
  return absl::InternalError(
      StrCat("the PACS at ", url_.ToString(), " answered HTTP ", response.status, " for ", what));
}

StatusOr<nlohmann::json> DicomwebClient::JsonArray(const HttpResponse& response,
                                                   std::string_view what) const {
  if (response.status == 204 || response.body.empty()) return nlohmann::json::array();
  nlohmann::json j = nlohmann::json::parse(response.body, nullptr, false);
  if (!j.is_array()) {
    return absl::InternalError(StrCat("the PACS at ", url_.ToString(), " answered a search for ",
                                      what, " with no JSON array"));
  }
  return j;
}

StatusOr<std::vector<DicomwebInstanceRef>> DicomwebClient::SearchInstances(
    std::string_view study_uid, std::string_view series_uid, size_t max_instances) {
  if (!study_uid.empty() && !ValidUid(study_uid)) {
    return absl::InvalidArgumentError("invalid study UID (digits and dots, at most 64)");
  }
  if (!series_uid.empty() && !ValidUid(series_uid)) {
    return absl::InvalidArgumentError("invalid series UID (digits and dots, at most 64)");
  }
  std::string study(study_uid);
  if (study.empty()) {
    if (series_uid.empty()) return absl::InvalidArgumentError("a study or a series UID is needed");
    const std::string what = StrCat("series ", series_uid);
    ASSIGN_OR_RETURN(
        HttpResponse found,
        Get(url_.Target(StrCat("/series?SeriesInstanceUID=", series_uid, "&includefield=0020000D")),
            "application/dicom+json"));
    RETURN_IF_ERROR(CheckStatus(found, what));
    ASSIGN_OR_RETURN(nlohmann::json list, JsonArray(found, what));
    if (list.empty()) {
      return absl::NotFoundError(
          StrCat("the PACS at ", url_.ToString(), " has no series ", series_uid));
    }
    study = DicomJsonString(list[0], "0020000D");
    if (!ValidUid(study)) {
      return absl::InternalError(StrCat("the PACS at ", url_.ToString(), " answered a search for ",
                                        what, " without its study"));
    }
  }
  const std::string path = series_uid.empty()
                               ? StrCat("/studies/", study, "/instances")
                               : StrCat("/studies/", study, "/series/", series_uid, "/instances");
  const std::string what =
      series_uid.empty() ? StrCat("study ", study) : StrCat("series ", series_uid);
  std::vector<DicomwebInstanceRef> out;
  constexpr size_t kPage = 1000;
  for (size_t offset = 0;; offset += kPage) {
    ASSIGN_OR_RETURN(HttpResponse page, Get(url_.Target(StrCat(path, "?limit=", kPage, "&offset=",
                                                               offset, "&includefield=0020000E")),
                                            "application/dicom+json"));
    RETURN_IF_ERROR(CheckStatus(page, what));
    ASSIGN_OR_RETURN(nlohmann::json list, JsonArray(page, what));
    for (const nlohmann::json& item : list) {
      DicomwebInstanceRef ref;
      ref.study_uid = DicomJsonString(item, "0020000D");
      if (ref.study_uid.empty()) ref.study_uid = study;
      ref.series_uid = DicomJsonString(item, "0020000E");
      if (ref.series_uid.empty()) ref.series_uid = std::string(series_uid);
      ref.sop_instance_uid = DicomJsonString(item, "00080018");
      if (!ValidUid(ref.study_uid) || !ValidUid(ref.series_uid) ||
          !ValidUid(ref.sop_instance_uid)) {
        return absl::InternalError(StrCat("the PACS at ", url_.ToString(),
                                          " listed an instance of ", what,
                                          " without valid study, series and SOP instance UIDs"));
      }
      out.push_back(std::move(ref));
      if (out.size() > max_instances) {
        return absl::InvalidArgumentError(
            StrCat(what, " has more than ", max_instances, " instances"));
      }
    }
    // A PACS that ignores paging answers everything at once: a short page ends it.
    if (list.size() < kPage) break;
  }
  if (out.empty()) {
    return absl::NotFoundError(
        StrCat("the PACS at ", url_.ToString(), " has no instances of ", what));
  }
  return out;
}

StatusOr<std::string> DicomwebClient::RetrieveInstance(const DicomwebInstanceRef& ref,
                                                       uint64_t max_bytes) {
  const std::string what = StrCat("instance ", ref.sop_instance_uid);
  ASSIGN_OR_RETURN(HttpResponse response,
                   Get(url_.Target(StrCat("/studies/", ref.study_uid, "/series/", ref.series_uid,
                                          "/instances/", ref.sop_instance_uid)),
                       "multipart/related; type=\"application/dicom\"; transfer-syntax=*"));
  RETURN_IF_ERROR(CheckStatus(response, what));
  if (response.body.size() > max_bytes + 4096) {
    return absl::InvalidArgumentError(StrCat(what, " is larger than ", max_bytes, " bytes"));
  }
  StatusOr<std::vector<RelatedPart>> parts =
      ParseMultipartRelated(response.content_type, response.body, 16);
  if (!parts.ok()) {
    return absl::InternalError(StrCat("the PACS at ", url_.ToString(), " answered a retrieve of ",
                                      what, " with a bad body: ", parts.status().message()));
  }
  for (RelatedPart& part : *parts) {
    if (MediaType(part.content_type) == "application/dicom") return std::move(part.body);
  }
  return absl::InternalError(StrCat("the PACS at ", url_.ToString(), " answered a retrieve of ",
                                    what, " with no application/dicom part"));
}

StatusOr<StowResult> DicomwebClient::Store(const std::vector<std::string_view>& instances) {
  const std::string boundary = NewBoundary(instances);
  const std::string body = BuildMultipartRelated(instances, "application/dicom", boundary);
  HttpHeaders headers = {
      {"Accept", "application/dicom+json"},
      {"Content-Type",
       StrCat("multipart/related; type=\"application/dicom\"; boundary=", boundary)}};
  if (auth_.type != DicomwebAuth::Type::kNone) headers["Authorization"] = auth_.Header();
  if (!connected_) {
    Status connected = http_.Connect(url_.host, url_.port);
    if (!connected.ok()) {
      return absl::UnavailableError(
          StrCat("cannot reach the PACS at ", url_.ToString(), ": ", connected.message()));
    }
    connected_ = true;
  }
  StatusOr<HttpResponse> response = http_.Send("POST", url_.Target("/studies"), body, headers);
  if (!response.ok()) {
    return absl::UnavailableError(
        StrCat("cannot reach the PACS at ", url_.ToString(), ": ", response.status().message()));
  }
  if (response->status != 409) RETURN_IF_ERROR(CheckStatus(*response, "a STOW-RS store"));
  StowResult result;
  result.http_status = response->status;
  const nlohmann::json j = nlohmann::json::parse(response->body, nullptr, false);
  auto sequence = [&j](const char* tag) -> const nlohmann::json* {
    if (!j.is_object()) return nullptr;
    auto it = j.find(tag);
    if (it == j.end() || !it->is_object()) return nullptr;
    auto value = it->find("Value");
    return value != it->end() && value->is_array() ? &*value : nullptr;
  };
  if (const nlohmann::json* stored = sequence("00081199")) {  // ReferencedSOPSequence
    for (const nlohmann::json& item : *stored) {
      StowOutcome o;
      o.sop_instance_uid = DicomJsonString(item, "00081155");
      o.stored = true;
      o.retrieve_url = DicomJsonString(item, "00081190");
      result.outcomes.push_back(std::move(o));
    }
  }
  if (const nlohmann::json* failed = sequence("00081198")) {  // FailedSOPSequence
    for (const nlohmann::json& item : *failed) {
      StowOutcome o;
      o.sop_instance_uid = DicomJsonString(item, "00081155");
      const std::string code = DicomJsonString(item, "00081197");  // FailureReason
      o.reason = code.empty() ? "refused by the PACS" : StrCat("FailureReason ", code);
      result.outcomes.push_back(std::move(o));
    }
  }
  return result;
}

}  // namespace infera
