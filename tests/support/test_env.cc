#include "support/test_env.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

namespace infera::testing {

namespace fs = std::filesystem;

fs::path TestModelsDir() {
  if (const char* env = std::getenv("INFERA_TEST_MODELS")) return env;
  return INFERA_TEST_MODELS;
}

fs::path InferaBinary() { return INFERA_BINARY; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

void ReplaceInFile(const fs::path& path, const std::string& from, const std::string& to) {
  std::string text = ReadFile(path);
  const size_t at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "'" << from << "' not in " << path;
    return;
  }
  text.replace(at, from.size(), to);
  WriteFile(path, text);
}

TempDir::TempDir() {
  std::random_device rd;
  path_ =
      fs::temp_directory_path() / ("infera-test-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void CopyModel(const std::string& name, const fs::path& dest) {
  fs::create_directories(dest / name);
  fs::copy(TestModelsDir() / "repo" / name, dest / name, fs::copy_options::recursive);
}

std::unique_ptr<Server> StartServer(const fs::path& dir, const std::string& yaml) {
  const fs::path file = dir / "config.yaml";
  // Suites about other things than users run with auth off (auth_test turns it on).
  WriteFile(file,
            yaml.find("auth:") == std::string::npos ? yaml + "auth: {enabled: false}\n" : yaml);
  StatusOr<ServerConfig> config = LoadServerConfig(file);
  if (!config.ok()) {
    ADD_FAILURE() << config.status();
    return nullptr;
  }
  config->http.host = "127.0.0.1";
  config->http.port = 0;
  StatusOr<std::unique_ptr<Server>> server = Server::Create(*config);
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return nullptr;
  }
  (*server)->Start();
  return std::move(*server);
}

}  // namespace infera::testing
