#include "training/training_record.h"

#include <string>

namespace infera {

nlohmann::json EpochMetricsJson(const EpochMetrics& epoch) {
  return {{"epoch", epoch.epoch},       {"train_loss", epoch.train_loss},
          {"val_loss", epoch.val_loss}, {"metrics", epoch.metrics},
          {"score", epoch.score},       {"seconds", epoch.seconds}};
}

bool HeldBack(const TrainingResult& result) { return result.best_score < result.parent_score; }

nlohmann::json TrainingRecordJson(const TrainingResult& result, const TrainingParams& params,
                                  int64_t parent_version, std::string_view runner,
                                  const nlohmann::json& sources) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const EpochMetrics& e : result.epochs) epochs.push_back(EpochMetricsJson(e));
  return {{"parent_version", parent_version},
          {"runner", std::string(runner)},
          {"params", TrainingParamsToJson(params)},
          {"seed", params.seed},
          {"epochs", std::move(epochs)},
          {"best_epoch", result.best_epoch},
          {"parent_score", result.parent_score},
          {"best_score", result.best_score},
          {"held_back", HeldBack(result)},
          {"split", {{"train", result.train_names}, {"validation", result.val_names}}},
          {"duration_s", result.seconds},
          {"images_per_second", result.images_per_second},
          {"sources", sources}};
}

}  // namespace infera
