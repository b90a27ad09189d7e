// POST /api/annotations/{set}/images/{file}/assist: a mask the editor's assist tools
// propose for one image of the set (assist/mask_assist.h), answered as a label PNG and
// not stored — the user accepts or edits it, then saves a revision with PUT .../mask.
//   {"tool": "grabcut", "box": [x, y, width, height], "label"?: 1..65535 (1)}
//       -> the pixels GrabCut finds in the box, as `label`
//   {"tool": "watershed", "seeds": [{"x", "y", "label"}, ...]}   (label 0: background)
//       -> the whole image divided among the seeds' labels
// 400 with the reason for a bad body, box or seeds; ownership as every annotation route.
// Registered by api_annotations.cc; runs on the blocking pool.
#include <nlohmann/json.hpp>
#include <span>

#include "annotations/label_image.h"
#include "api/routes/annotation_common.h"
#include "api/routes/api_common.h"
#include "api/routes/image_labels.h"
#include "assist/mask_assist.h"
#include "common/strings.h"
#include "imaging/codec.h"
#include "store/blob_store.h"

namespace infera {

namespace {

StatusOr<int> IntField(const nlohmann::json& j, const char* what) {
  if (!j.is_number_integer())
    return absl::InvalidArgumentError(StrCat(what, " must be an integer"));
  const int64_t v = j.get<int64_t>();
  if (v < -(int64_t{1} << 30) || v > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(StrCat(what, " is out of range"));
  }
  return static_cast<int>(v);
}

}  // namespace

StatusOr<HttpResponse> AssistRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(int64_t file_id, ParseId(req.params.at("file"), "file"));
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  RETURN_IF_ERROR(CheckMaskSet(set));
  ASSIGN_OR_RETURN(FileRecord file, ImageOfSet(ctx, set, file_id));
  std::string tool;
  for (const auto& [key, value] : body.items()) {
    if (key == "tool") {
      if (!value.is_string()) return absl::InvalidArgumentError("'tool' must be a string");
      tool = value.get<std::string>();
    } else if (key != "box" && key != "label" && key != "seeds") {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key.substr(0, 64), "' (expected tool, box, label, seeds)"));
    }
  }
  if (tool != "grabcut" && tool != "watershed") {
    return absl::InvalidArgumentError(StrCat("'tool' must be \"grabcut\" or \"watershed\"",
                                             tool.empty() ? "" : ", not '", tool.substr(0, 64),
                                             tool.empty() ? "" : "'"));
  }
  AssistBox box;
  int label = 1;
  std::vector<AssistSeed> seeds;
  if (tool == "grabcut") {
    const nlohmann::json b = body.value("box", nlohmann::json());
    if (!b.is_array() || b.size() != 4) {
      return absl::InvalidArgumentError("grabcut needs 'box': [x, y, width, height]");
    }
    ASSIGN_OR_RETURN(box.x, IntField(b[0], "box x"));
    ASSIGN_OR_RETURN(box.y, IntField(b[1], "box y"));
    ASSIGN_OR_RETURN(box.width, IntField(b[2], "box width"));
    ASSIGN_OR_RETURN(box.height, IntField(b[3], "box height"));
    if (body.contains("label")) {
      ASSIGN_OR_RETURN(label, IntField(body["label"], "'label'"));
    }
  } else {
    const nlohmann::json s = body.value("seeds", nlohmann::json());
    if (!s.is_array()) {
      return absl::InvalidArgumentError("watershed needs 'seeds': [{x, y, label}, ...]");
    }
    if (s.size() > 10000) return absl::InvalidArgumentError("more than 10000 seeds");
    for (const nlohmann::json& seed : s) {
      if (!seed.is_object() || !seed.contains("x") || !seed.contains("y") ||
          !seed.contains("label")) {
        return absl::InvalidArgumentError("each seed must be {x, y, label}");
      }
      AssistSeed a;
      ASSIGN_OR_RETURN(a.x, IntField(seed["x"], "seed x"));
      ASSIGN_OR_RETURN(a.y, IntField(seed["y"], "seed y"));
      ASSIGN_OR_RETURN(a.label, IntField(seed["label"], "seed label"));
      seeds.push_back(a);
    }
  }
  ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(file.sha256));
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  ASSIGN_OR_RETURN(Image image,
                   DecodeImage(std::as_bytes(std::span(bytes.data(), bytes.size())), limits));
  StatusOr<Image> proposed =
      tool == "grabcut" ? GrabCutFromBox(image, box, label) : WatershedFromSeeds(image, seeds);
  RETURN_IF_ERROR(proposed.status());
  ASSIGN_OR_RETURN(std::vector<std::byte> png, EncodeLabelPng(*proposed));
  HttpResponse response;
  response.content_type = "image/png";
  response.headers["cache-control"] = "no-store";
  response.headers["x-assist-tool"] = tool;
  response.body.assign(reinterpret_cast<const char*>(png.data()), png.size());
  return response;
}

}  // namespace infera
