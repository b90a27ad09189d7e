#include "annotations/import_types.h"

#include <cstdint>

namespace infera {

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view Stem(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return name;
  return name.substr(0, dot);
}

ImageMatcher::ImageMatcher(std::vector<TargetImage> images) : images_(std::move(images)) {
  for (size_t i = 0; i < images_.size(); ++i) {
    by_name_.emplace(images_[i].filename, i);
    const std::string stem(Stem(images_[i].filename));
    auto [it, fresh] = by_stem_.emplace(stem, i);
    if (!fresh) it->second = SIZE_MAX;
  }
}

const TargetImage* ImageMatcher::Find(std::string_view name) const {
  if (auto it = by_name_.find(name); it != by_name_.end()) return &images_[it->second];
  if (auto it = by_name_.find(BaseName(name)); it != by_name_.end()) return &images_[it->second];
  return nullptr;
}

const TargetImage* ImageMatcher::FindByStem(std::string_view stem) const {
  auto it = by_stem_.find(stem);
  if (it == by_stem_.end() || it->second == SIZE_MAX) return nullptr;
  return &images_[it->second];
}

Status CollectingSink::Accept(ImportedMask&& mask) {
  result.masks.push_back(std::move(mask));
  return absl::OkStatus();
}

void CollectingSink::Refuse(ImportRefusal refusal) { result.refused.push_back(std::move(refusal)); }

void CollectingSink::Note(std::string note) { notes.push_back(std::move(note)); }

}  // namespace infera
