#include "models/batch_timing_cache.h"

#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

constexpr int kFormat = 1;

StatusOr<std::string> FileSha256(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path.string()));
  Sha256Hasher hasher;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n > 0) hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  if (in.bad()) return absl::InternalError(StrCat("error reading ", path.string()));
  return hasher.FinishHex();
}

// The first "model name" line of /proc/cpuinfo; "" where there is none.
std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "";
}

}  // namespace

fs::path DefaultBatchTimingCacheDir() {
  if (const char* dir = std::getenv("INFERA_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return fs::path(dir) / "batch_timings";
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "infera" / "batch_timings";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".cache" / "infera" / "batch_timings";
  }
  return {};
}

StatusOr<nlohmann::json> BatchTimingKey(const ModelConfig& config, const Shape& row_shape) {
  ASSIGN_OR_RETURN(std::string sha256, FileSha256(config.artifact));
  return nlohmann::json{
      {"format", kFormat},
      {"artifact_sha256", sha256},
      {"backend", config.backend},
      {"device", config.instances.device},
      {"instances", config.instances.count},
      {"threads", config.instances.threads},
      {"cores", std::thread::hardware_concurrency()},
      {"cpu", CpuModel()},
      {"input", StrCat(DTypeName(config.input.dtype), ShapeToString(row_shape))},
      {"max_batch_size", config.batching.max_batch_size},
      {"budget_ms", config.batching.batch_timing_budget_ms},
  };
}

fs::path BatchTimingCache::FileOf(const std::string& model, int64_t version) const {
  return dir_ / model / StrCat(version, ".json");
}

std::optional<std::vector<BatchSizeTiming>> BatchTimingCache::Find(
    const std::string& model, int64_t version, const nlohmann::json& key) const {
  StatusOr<std::string> text = ReadFileToString(FileOf(model, version));
  if (!text.ok()) return std::nullopt;
  const nlohmann::json file = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!file.is_object() || !file.contains("key") || file["key"] != key ||
      !file.contains("timings") || !file["timings"].is_array()) {
    return std::nullopt;
  }
  std::vector<BatchSizeTiming> timings;
  for (const nlohmann::json& t : file["timings"]) {
    if (!t.is_object() || !t.contains("batch_size") || !t["batch_size"].is_number_integer() ||
        !t.contains("seconds") || !t.contains("samples") || !t["samples"].is_number_integer()) {
      return std::nullopt;
    }
    BatchSizeTiming timing;
    timing.batch_size = t["batch_size"].get<int64_t>();
    timing.samples = t["samples"].get<int>();
    if (t["seconds"].is_number()) {
      timing.seconds = t["seconds"].get<double>();
    } else if (!t["seconds"].is_null()) {
      return std::nullopt;
    }
    timings.push_back(timing);
  }
  return timings;
}

Status BatchTimingCache::Store(const std::string& model, int64_t version, const nlohmann::json& key,
                               const std::vector<BatchSizeTiming>& timings) const {
  const fs::path file = FileOf(model, version);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) {
    return absl::InternalError(
        StrCat("cannot create ", file.parent_path().string(), ": ", ec.message()));
  }
  nlohmann::json list = nlohmann::json::array();
  for (const BatchSizeTiming& t : timings) {
    list.push_back({{"batch_size", t.batch_size},
                    {"seconds", t.seconds ? nlohmann::json(*t.seconds) : nlohmann::json()},
                    {"samples", t.samples}});
  }
  const nlohmann::json content = {{"key", key}, {"timings", std::move(list)}};
  return WriteFileDurably(file, content.dump(2) + "\n");
}

}  // namespace infera
