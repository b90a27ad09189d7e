#include "annotations/label_map.h"

#include <set>

#include "common/strings.h"
#include "common/utf8.h"

namespace infera {

std::array<uint8_t, 3> VocColour(int index) {
  std::array<uint8_t, 3> rgb{0, 0, 0};
  int c = index;
  for (int shift = 7; shift >= 0 && c > 0; --shift) {
    rgb[0] |= static_cast<uint8_t>(((c >> 0) & 1) << shift);
    rgb[1] |= static_cast<uint8_t>(((c >> 1) & 1) << shift);
    rgb[2] |= static_cast<uint8_t>(((c >> 2) & 1) << shift);
    c >>= 3;
  }
  return rgb;
}

std::string ColourHex(const std::array<uint8_t, 3>& rgb) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "#";
  for (uint8_t v : rgb) {
    out += kHex[v >> 4];
    out += kHex[v & 15];
  }
  return out;
}

std::optional<std::array<uint8_t, 3>> ParseColourHex(std::string_view text) {
  if (text.size() != 7 || text[0] != '#') return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::array<uint8_t, 3> rgb{};
  for (int i = 0; i < 3; ++i) {
    const int hi = nibble(text[1 + 2 * i]);
    const int lo = nibble(text[2 + 2 * i]);
    if (hi < 0 || lo < 0) return std::nullopt;
    rgb[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return rgb;
}

StatusOr<LabelMap> ParseLabelMap(const nlohmann::json& labels) {
  if (!labels.is_array()) {
    return absl::InvalidArgumentError("'labels' must be an array of {id, name, colour}");
  }
  if (labels.size() > static_cast<size_t>(kMaxLabelId)) {
    return absl::InvalidArgumentError(StrCat("more than ", kMaxLabelId, " labels"));
  }
  LabelMap out;
  std::set<int> ids;
  std::set<std::string> names;
  for (size_t i = 0; i < labels.size(); ++i) {
    const nlohmann::json& entry = labels[i];
    const std::string where = StrCat("label ", i);
    if (!entry.is_object()) {
      return absl::InvalidArgumentError(StrCat(where, " is not an object {id, name, colour}"));
    }
    AnnotationLabel label;
    bool has_colour = false;
    for (const auto& [key, value] : entry.items()) {
      if (key == "id") {
        if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
            value.get<int64_t>() > kMaxLabelId) {
          return absl::InvalidArgumentError(StrCat(where, ": 'id' must be an integer from 1 to ",
                                                   kMaxLabelId, " (0 is background)"));
        }
        label.id = value.get<int>();
      } else if (key == "name") {
        if (!value.is_string())
          return absl::InvalidArgumentError(StrCat(where, ": 'name' must be a string"));
        label.name = CleanDisplayText(value.get<std::string>());
      } else if (key == "colour" || key == "color") {
        std::optional<std::array<uint8_t, 3>> rgb;
        if (value.is_string()) rgb = ParseColourHex(value.get<std::string>());
        if (!rgb)
          return absl::InvalidArgumentError(StrCat(where, ": 'colour' must be \"#rrggbb\""));
        label.colour = *rgb;
        has_colour = true;
      } else {
        return absl::InvalidArgumentError(
            StrCat(where, ": unknown key '", key.substr(0, 64), "' (expected id, name, colour)"));
      }
    }
    if (label.id == 0) return absl::InvalidArgumentError(StrCat(where, ": 'id' is required"));
    if (label.name.empty())
      return absl::InvalidArgumentError(StrCat(where, ": 'name' is required"));
    if (label.name.size() > 200) {
      return absl::InvalidArgumentError(StrCat(where, ": 'name' is longer than 200 bytes"));
    }
    if (!ids.insert(label.id).second) {
      return absl::InvalidArgumentError(StrCat(where, ": id ", label.id, " is used twice"));
    }
    if (!names.insert(label.name).second) {
      return absl::InvalidArgumentError(StrCat(where, ": name '", label.name, "' is used twice"));
    }
    if (!has_colour) label.colour = VocColour(label.id);
    out.push_back(std::move(label));
  }
  return out;
}

nlohmann::json LabelMapJson(const LabelMap& labels) {
  nlohmann::json out = nlohmann::json::array();
  for (const AnnotationLabel& l : labels) {
    out.push_back({{"id", l.id}, {"name", l.name}, {"colour", ColourHex(l.colour)}});
  }
  return out;
}

const AnnotationLabel* FindLabel(const LabelMap& labels, int id) {
  for (const AnnotationLabel& l : labels) {
    if (l.id == id) return &l;
  }
  return nullptr;
}

const AnnotationLabel* FindLabelByName(const LabelMap& labels, std::string_view name) {
  for (const AnnotationLabel& l : labels) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

}  // namespace infera
