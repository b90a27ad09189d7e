// YamlReader: typed, strict access to a YAML mapping with error messages that name the
// file, the key path and why ("config.yaml: models[0].batch_size: must be a positive
// integer (got 'x')"). Internal to models/; thread-compatible value type.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

class YamlReader {
 public:
  YamlReader(const YAML::Node& node, std::string file, std::string path)
      : node_(node), file_(std::move(file)), path_(std::move(path)) {}

  // Parses a YAML file; InvalidArgument naming the file and line on a syntax error,
  // NotFound when the file does not exist.
  static StatusOr<YAML::Node> LoadFile(const std::string& file);

  const YAML::Node& node() const { return node_; }
  // Error when the node is not a mapping or has keys other than `allowed`.
  Status CheckMapping(std::initializer_list<std::string_view> allowed) const;
  bool Has(std::string_view key) const;
  YamlReader Child(std::string_view key) const;
  YamlReader Item(size_t index) const;

  StatusOr<std::string> String(std::string_view key) const;
  StatusOr<int64_t> Int(std::string_view key, int64_t min, int64_t max) const;
  StatusOr<double> Double(std::string_view key) const;
  StatusOr<bool> Bool(std::string_view key) const;
  StatusOr<std::vector<double>> DoubleList(std::string_view key) const;
  StatusOr<std::vector<int64_t>> IntList(std::string_view key) const;
  StatusOr<std::vector<std::string>> StringList(std::string_view key) const;

  // "FILE: PATH.key: why" as an InvalidArgument.
  Status Error(std::string_view key, std::string_view why) const;
  std::string KeyPath(std::string_view key) const;
  const std::string& file() const { return file_; }

 private:
  YAML::Node node_;
  std::string file_;
  std::string path_;
};

}  // namespace infera
