// Model versions in the repository: how "the active version" of a repository model is
// stored, and the training record each version folder may hold.
//
// The active version is the `version: V` pin of the model folder's model.yaml. A pin is
// a file every node reads: it survives restarts, and with model_control: poll every node
// sharing the repository follows it (a pin rewritten by one node is a changed model.yaml
// for the others' pollers, which then build the pinned version and swap it in). So:
//   activate V        model.yaml's pin is rewritten to V (atomically: a new file renamed
//                     over the old, so a reader sees the old pin or the new one);
//   held back         a version folder that exists while the pin stays on another one;
//   new active        the folder is written first, then the pin moves to it.
// A model.yaml with a version_policy (latest N, all, specific) has its policy replaced by
// the pin the first time a version is added or activated: from then on one version
// serves; edit model.yaml to serve several again.
//
// VERSION/training.json (written by ModelManager::AddVersion, absent for uploaded
// versions) is a JSON object; the keys read here are
//   parent_version   the version it was trained from (integer)
//   created_at       when it was written (ISO-8601 UTC)
//   annotation_sets  the annotation sets it was trained on
//   best_score, parent_score   the validation metric of the new and the parent version
//   held_back        whether it was written without being activated
// Thread-safety: functions, reentrant; concurrent pin writers must be serialised by the
// caller (the last rename wins).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/status.h"

namespace infera {

// Rewrites `dir`/model.yaml so that it pins `version` (`version: V`; a version_policy
// key is removed), every other key kept. InvalidArgument when model.yaml is not a YAML
// mapping; Internal when it cannot be written.
Status WriteVersionPin(const std::filesystem::path& dir, int64_t version);

// `dir`/VERSION/training.json; null when the file is absent. InvalidArgument when it is
// not a JSON object.
StatusOr<nlohmann::json> ReadTrainingRecord(const std::filesystem::path& dir, int64_t version);

// The record's parent_version, when it is a positive integer.
std::optional<int64_t> ParentVersion(const nlohmann::json& record);

// What /api/models shows of a record: {created_at, annotation_sets, best_score,
// parent_score, held_back} (null where the record lacks the key); null for a null record.
nlohmann::json TrainingSummary(const nlohmann::json& record);

// The current time as ISO-8601 UTC ("2026-12-07T03:52:18Z").
std::string UtcNowIso8601();

}  // namespace infera
