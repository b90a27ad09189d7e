// ModelRegistry: name[/version] -> loaded Model. Lookups take a shared lock and return
// a shared_ptr, so a model swapped out or removed stays alive for the requests that
// already hold it (availability-preserving reload). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "models/model.h"

namespace infera {

class ModelRegistry {
 public:
  // Adds the model, replacing a loaded model of the same name and version.
  void Put(std::shared_ptr<Model> model);
  // The given version, or the highest loaded version; nullptr when absent.
  std::shared_ptr<Model> Get(const std::string& name,
                             std::optional<int64_t> version = std::nullopt) const;
  // Removes one version; returns whether it was there.
  bool RemoveVersion(const std::string& name, int64_t version);
  // Removes every version of `name`; returns how many were removed.
  size_t Remove(const std::string& name);
  // All loaded models, by name then version.
  std::vector<std::shared_ptr<Model>> List() const;
  // Distinct names, sorted.
  std::vector<std::string> Names() const;

 private:
  mutable SharedMutex mu_;
  std::map<std::string, std::map<int64_t, std::shared_ptr<Model>>> models_ GUARDED_BY(mu_);
};

}  // namespace infera
