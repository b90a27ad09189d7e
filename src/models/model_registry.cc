#include "models/model_registry.h"

namespace infera {

void ModelRegistry::Put(std::shared_ptr<Model> model) {
  std::shared_ptr<Model> old;  // declared before the lock: released after it
  WriterMutexLock lock(&mu_);
  auto& slot = models_[model->config().name][model->config().version];
  old = std::move(slot);
  slot = std::move(model);
}

std::shared_ptr<Model> ModelRegistry::Get(const std::string& name,
                                          std::optional<int64_t> version) const {
  ReaderMutexLock lock(&mu_);
  auto it = models_.find(name);
  if (it == models_.end() || it->second.empty()) return nullptr;
  if (!version) return it->second.rbegin()->second;
  auto v = it->second.find(*version);
  return v == it->second.end() ? nullptr : v->second;
}

size_t ModelRegistry::Remove(const std::string& name) {
  std::map<int64_t, std::shared_ptr<Model>> removed;  // released after the lock
  WriterMutexLock lock(&mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return 0;
  removed = std::move(it->second);
  models_.erase(it);
  return removed.size();
}

bool ModelRegistry::RemoveVersion(const std::string& name, int64_t version) {
  std::shared_ptr<Model> removed;  // released after the lock
  WriterMutexLock lock(&mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return false;
  auto v = it->second.find(version);
  if (v == it->second.end()) return false;
  removed = std::move(v->second);
  it->second.erase(v);
  if (it->second.empty()) models_.erase(it);
  return true;
}

std::vector<std::shared_ptr<Model>> ModelRegistry::List() const {
  ReaderMutexLock lock(&mu_);
  std::vector<std::shared_ptr<Model>> out;
  for (const auto& [name, versions] : models_) {
    for (const auto& [v, model] : versions) out.push_back(model);
  }
  return out;
}

std::vector<std::string> ModelRegistry::Names() const {
  ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, versions] : models_) out.push_back(name);
  return out;
}

}  // namespace infera
