// ModelUpload: a model (or a new version of one) sent to the server, and the
// model.yaml it will be served with.
//
// The model.yaml of an upload is built from, in order: the uploaded model.yaml (if
// any), then form fields naming model.yaml keys with dots (`input.size` = "[512, 512]",
// `input.color` = "gray", `batching.max_batch_size` = "4", `warmup` = "false"; each
// value is read as YAML), then `runner` and `description`. `name` and `version` are
// the upload's own and must not be set by the YAML (a pinned version would make the
// repository serve some other version than the one uploaded); a `labels:` key is
// replaced by the uploaded labels file (and refused without one).
// Thread-safety: plain value type and a pure function.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace infera {

struct ModelUpload {
  std::string name;                             // ValidateModelName
  std::string runner;                           // a registered runner
  std::optional<std::string> description;       // overrides the YAML's
  std::string yaml_text;                        // the uploaded model.yaml, or ""
  std::map<std::string, std::string> fields;    // dotted model.yaml keys -> YAML values
  std::filesystem::path artifact;               // the uploaded model file (a temp file)
  std::optional<std::filesystem::path> labels;  // an uploaded labels file (one a line)
  std::optional<int64_t> version;  // the version folder to create; default: highest + 1
};

// The model.yaml text for `upload`: every key validated as the repository loader
// would (unknown keys, bad types, an unknown runner or backend are InvalidArgument
// naming the key), `labels: labels.txt` set when a labels file is uploaded.
StatusOr<std::string> BuildUploadYaml(const ModelUpload& upload);

}  // namespace infera
