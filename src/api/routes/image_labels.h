// Annotation sets of kind image_labels (one class per image) in the /api workflow, for
// the annotation routes (api_annotations.cc, api_annotation_formats.cc) and their own
// (api_image_labels.cc):
//   GET /api/annotations/{set}/images/{file}/label -> {file_id, label: id | null,
//       label_name, revision, author_id, origin, created_at} (label null, revision 0:
//       never labelled)
//   PUT /api/annotations/{set}/images/{file}/label {"label": id | null} -> 201 the new
//       revision (null clears the label; an id outside the set's label map is 400)
// Import and export (`format=labels_csv`, annotations/labels_csv.h: `file,label_name`
// lines) and a classification job's top-1 classes as a new set go through the existing
// routes, which call the functions below. A mask route on a labels set, or a label route
// on a mask set, is 400 with the reason.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "annotations/label_map.h"
#include "api/api_context.h"
#include "api/http_types.h"
#include "api/multipart.h"
#include "api/router.h"
#include "common/status.h"
#include "store/annotation_store.h"
#include "store/store.h"

namespace infera {

void AddApiImageLabelRoutes(Router& router, const ApiContext& ctx);

// InvalidArgument (400) unless the set holds masks / image labels, naming its kind and
// the route to use instead.
Status CheckMaskSet(const AnnotationSetRecord& set);
Status CheckLabelSet(const AnnotationSetRecord& set);

// A label revision as JSON: {id, set_id, file_id, revision, label: id | null,
// label_name, author_id, origin, created_at}.
nlohmann::json ImageLabelJson(const ImageLabelRecord& label, const LabelMap& labels);

// What GET /api/annotations/{set} adds for a labels set: "image_labels" (the current
// label of each labelled image, with its filename) and "label_counts" ({name: images}).
Status AddImageLabelsToSetJson(const ApiContext& ctx, const AnnotationSetRecord& set,
                               nlohmann::json* out);

// POST /api/annotations/{set}/import for a labels set: the labels_csv files of `parts`
// (field `file`; a part that is not a CSV is refused) -> 200 {set_id, imported, refused,
// notes}, 400 when nothing was imported. Rows name images as ImageMatcher finds them and
// labels by name; a row for an image another row already labels is refused.
StatusOr<HttpResponse> ImportLabelsCsv(const ApiContext& ctx, const HttpRequest& req,
                                       const AnnotationSetRecord& set,
                                       const std::vector<MultipartPart>& parts);

// GET /api/annotations/{set}/export?format=labels_csv for a labels set: the header
// "file,label" and a line per labelled image.
StatusOr<HttpResponse> ExportLabelsCsv(const ApiContext& ctx, const AnnotationSetRecord& set);

// POST /api/inferences/{id}/annotations for a classification job: a new image_labels set
// of ImageLabelsOfJob's labels -> 201 {annotation_set, images: per-image verdicts}. `job` is the
// job's report, `results` its results.
StatusOr<HttpResponse> ImageLabelsSetFromJob(const ApiContext& ctx, const HttpRequest& req,
                                             int64_t job_id, const std::string& name,
                                             const nlohmann::json& job,
                                             const std::vector<JobResultRecord>& results);

// A classification job's results as image labels: the label map (the model's classes,
// class k as label id k + 1, named as the model names it), each image's top-1 class as
// its label (origin job:<id>, in the results' order) and a verdict per image
// ({file_id, filename, status: added | skipped, label | reason}).
struct JobImageLabels {
  LabelMap labels;
  std::vector<ImageLabelRecord> records;
  nlohmann::json verdicts = nlohmann::json::array();
};
StatusOr<JobImageLabels> ImageLabelsOfJob(const ApiContext& ctx, const HttpRequest& req,
                                          int64_t job_id, const nlohmann::json& job,
                                          const std::vector<JobResultRecord>& results);

// GET /api/inferences/{id}/export?format=labels_csv for a classification job: the CSV
// the image_labels set made from the job (ImageLabelsSetFromJob) exports, as
// inference_<id>_labels.csv. 400 for a job whose results are masks.
StatusOr<HttpResponse> ExportJobLabelsCsv(const ApiContext& ctx, const HttpRequest& req);

// Whether a finished job's results are a classifier's (top-k predictions, no masks).
bool IsClassificationJob(const nlohmann::json& job, const std::vector<JobResultRecord>& results);

}  // namespace infera
