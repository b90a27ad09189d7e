// LabelMap: an annotation set's labels — [{id, name, colour}] with background 0 implied —
// checked once where they come in (the API's JSON, an imported file's categories) and
// written back as the same JSON. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

// The largest label id (and instance id): what a 16-bit label image holds.
inline constexpr int kMaxLabelId = 65535;

struct AnnotationLabel {
  int id = 0;                              // 1..kMaxLabelId
  std::string name;                        // non-empty, unique within the map
  std::array<uint8_t, 3> colour{0, 0, 0};  // RGB
};

using LabelMap = std::vector<AnnotationLabel>;

// Pascal VOC's colour for class index `index` (0 is black), what CVAT uses by default.
std::array<uint8_t, 3> VocColour(int index);
// "#rrggbb" (lower-case hex).
std::string ColourHex(const std::array<uint8_t, 3>& rgb);
// Parses "#rrggbb" or "#RRGGBB"; nullopt otherwise.
std::optional<std::array<uint8_t, 3>> ParseColourHex(std::string_view text);

// Parses a JSON array of {"id": int, "name": string, "colour"?: "#rrggbb"} (a missing
// colour is VocColour(id)). InvalidArgument, naming the entry, for anything else: a
// non-array, unknown keys, ids outside 1..kMaxLabelId or repeated, empty or repeated
// names (names are cleaned of control and bidi characters and at most 200 bytes).
StatusOr<LabelMap> ParseLabelMap(const nlohmann::json& labels);
// The JSON form ParseLabelMap reads, with every colour written out.
nlohmann::json LabelMapJson(const LabelMap& labels);

// The label of `id` / named `name`, or null.
const AnnotationLabel* FindLabel(const LabelMap& labels, int id);
const AnnotationLabel* FindLabelByName(const LabelMap& labels, std::string_view name);

}  // namespace infera
