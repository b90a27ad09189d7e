// Helpers shared by the tests: where the generated test models are, temporary
// folders, reading files, and a running in-process server on a free port.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/server.h"

namespace infera::testing {

// The folder made by model_tools/make_test_models.py (repo/, images/, expected.json).
std::filesystem::path TestModelsDir();
// build/infera.
std::filesystem::path InferaBinary();

std::string ReadFile(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, const std::string& content);

// Replaces the first occurrence of `from` in the file (fails the test when absent).
void ReplaceInFile(const std::filesystem::path& path, const std::string& from,
                   const std::string& to);

// A fresh folder under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Copies repo model `name` (model.yaml, labels, version folders) into `dest/name`.
void CopyModel(const std::string& name, const std::filesystem::path& dest);

// Writes `yaml` as a server config file in `dir` and starts a Server from it on
// 127.0.0.1 with a free port. Fails the calling test (ADD_FAILURE) and returns null on
// error.
// `yaml` without an `auth:` key gets `auth: {enabled: false}`.
std::unique_ptr<Server> StartServer(const std::filesystem::path& dir, const std::string& yaml);

}  // namespace infera::testing
