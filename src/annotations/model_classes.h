// What a segmentation model's masks mean as annotation labels: the class names a model's
// labels file gives, and binary masks written 0/255 (binary_sigmoid's foreground is 255)
// read as class 1. Shared by the job -> annotation set route and the CVAT function
// endpoint. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "imaging/image.h"

namespace infera {

// The foreground value of binary segmenters' class masks (runners/binary_sigmoid).
inline constexpr int kBinaryForeground = 255;

// True when `class_mask` (a label image) holds only 0 and kBinaryForeground, with at
// least one foreground pixel, and the model names fewer classes than 256 — so 255
// cannot be a named class: the mask is a binary foreground mask.
bool IsBinaryForegroundMask(const Image& class_mask, size_t class_names);
// Rewrites kBinaryForeground as 1 in place (other values unchanged).
void MapBinaryForeground(Image* class_mask);

// The display name of class `k` (>= 1) of a model whose labels file gives `names`
// (index = class; may be empty): names[k] when present and not empty, else "class <k>".
std::string ModelClassName(const std::vector<std::string>& names, int k);
// The name of the foreground of a binary or instance model: names[1] when the labels
// file names it, else `fallback` ("foreground", "object").
std::string ModelForegroundName(const std::vector<std::string>& names, const char* fallback);

}  // namespace infera
