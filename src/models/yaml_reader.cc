#include "models/yaml_reader.h"

#include <cmath>
#include <filesystem>

#include "common/strings.h"

namespace infera {

namespace {

std::string Shown(const YAML::Node& n) {
  if (n.IsScalar()) return StrCat("'", n.Scalar(), "'");
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

}  // namespace

StatusOr<YAML::Node> YamlReader::LoadFile(const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return absl::NotFoundError(StrCat(file, ": no such file"));
  }
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(file, ":", e.mark.line + 1, ": ", e.msg));
  }
}

std::string YamlReader::KeyPath(std::string_view key) const {
  if (key.empty()) return path_;
  if (path_.empty()) return std::string(key);
  return StrCat(path_, ".", key);
}

Status YamlReader::Error(std::string_view key, std::string_view why) const {
  const std::string path = KeyPath(key);
  return absl::InvalidArgumentError(path.empty() ? StrCat(file_, ": ", why)
                                                 : StrCat(file_, ": ", path, ": ", why));
}

Status YamlReader::CheckMapping(std::initializer_list<std::string_view> allowed) const {
  if (!node_.IsMap()) {
    return Error("", StrCat("must be a mapping (got ", Shown(node_), ")"));
  }
  for (const auto& kv : node_) {
    const std::string key = kv.first.as<std::string>("");
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || key == a;
    if (!ok) {
      return Error(key, StrCat("unknown key (allowed: ", StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

bool YamlReader::Has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)].IsDefined() && !node_[std::string(key)].IsNull();
}

YamlReader YamlReader::Child(std::string_view key) const {
  return YamlReader(node_[std::string(key)], file_, KeyPath(key));
}

YamlReader YamlReader::Item(size_t index) const {
  return YamlReader(node_[index], file_, StrCat(path_, "[", index, "]"));
}

StatusOr<std::string> YamlReader::String(std::string_view key) const {
  const YAML::Node n = node_[std::string(key)];
  if (!n.IsScalar()) return Error(key, StrCat("must be a string (got ", Shown(n), ")"));
  return n.Scalar();
}

StatusOr<int64_t> YamlReader::Int(std::string_view key, int64_t min, int64_t max) const {
  const YAML::Node n = node_[std::string(key)];
  int64_t v = 0;
  if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) {
    return Error(key, StrCat("must be an integer (got ", Shown(n), ")"));
  }
  if (v < min || v > max) {
    return Error(key, StrCat("must be between ", min, " and ", max, " (got ", v, ")"));
  }
  return v;
}

StatusOr<double> YamlReader::Double(std::string_view key) const {
  const YAML::Node n = node_[std::string(key)];
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
    return Error(key, StrCat("must be a number (got ", Shown(n), ")"));
  }
  return v;
}

StatusOr<bool> YamlReader::Bool(std::string_view key) const {
  const YAML::Node n = node_[std::string(key)];
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return Error(key, StrCat("must be true or false (got ", Shown(n), ")"));
  }
  return v;
}

StatusOr<std::vector<double>> YamlReader::DoubleList(std::string_view key) const {
  const YAML::Node n = node_[std::string(key)];
  if (n.IsScalar()) {
    ASSIGN_OR_RETURN(double v, Double(key));
    return std::vector<double>{v};
  }
  if (!n.IsSequence()) return Error(key, StrCat("must be a list of numbers (got ", Shown(n), ")"));
  std::vector<double> out;
  for (size_t i = 0; i < n.size(); ++i) {
    double v = 0;
    if (!n[i].IsScalar() || !YAML::convert<double>::decode(n[i], v) || !std::isfinite(v)) {
      return Error(key, StrCat("item ", i, " must be a number (got ", Shown(n[i]), ")"));
    }
    out.push_back(v);
  }
  return out;
}

StatusOr<std::vector<int64_t>> YamlReader::IntList(std::string_view key) const {
  const YAML::Node n = node_[std::string(key)];
  if (!n.IsSequence()) return Error(key, StrCat("must be a list of integers (got ", Shown(n), ")"));
  std::vector<int64_t> out;
  for (size_t i = 0; i < n.size(); ++i) {
    int64_t v = 0;
    if (!n[i].IsScalar() || !YAML::convert<int64_t>::decode(n[i], v)) {
      return Error(key, StrCat("item ", i, " must be an integer (got ", Shown(n[i]), ")"));
    }
    out.push_back(v);
  }
  return out;
}

StatusOr<std::vector<std::string>> YamlReader::StringList(std::string_view key) const {
  const YAML::Node n = node_[std::string(key)];
  if (!n.IsSequence()) return Error(key, StrCat("must be a list of strings (got ", Shown(n), ")"));
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      return Error(key, StrCat("item ", i, " must be a string (got ", Shown(n[i]), ")"));
    }
    out.push_back(n[i].Scalar());
  }
  return out;
}

}  // namespace infera
