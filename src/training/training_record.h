// The training record of a trained version: VERSION/training.json in the model's
// repository folder, written by `infera train` (offline) and by the server's retraining
// job alike. One function makes it, so that both write the same format.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "training/trainer.h"

namespace infera {

// {"epoch", "train_loss", "val_loss", "metrics", "score", "seconds"}.
nlohmann::json EpochMetricsJson(const EpochMetrics& epoch);

// Whether a result is held back rather than served: its best score is below its parent's
// (epoch 0, the starting model on the same validation split).
bool HeldBack(const TrainingResult& result);

// The record:
//   {"parent_version": N, "runner": "binary_sigmoid", "params": {...every param...},
//    "seed": S, "epochs": [EpochMetricsJson, ... epoch 0 first], "best_epoch": B,
//    "parent_score": P, "best_score": X, "held_back": bool,
//    "split": {"train": [names], "validation": [names]},
//    "duration_s": seconds, "images_per_second": r, "sources": `sources`}
// `sources` says what was trained on (the CLI: {"images": dir, "masks": dir}; the server:
// annotation sets and their revisions); null when not given.
nlohmann::json TrainingRecordJson(const TrainingResult& result, const TrainingParams& params,
                                  int64_t parent_version, std::string_view runner,
                                  const nlohmann::json& sources = nullptr);

}  // namespace infera
