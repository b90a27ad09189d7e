#include "support/orthanc_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "api/http_client.h"
#include "common/strings.h"

extern char** environ;

namespace infera::testing {

namespace {

namespace fs = std::filesystem;

fs::path FromEnv(const char* name, const fs::path& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? fs::path(value) : fallback;
}

// A port the kernel picks for 127.0.0.1 (closed again: Orthanc binds it next).
StatusOr<uint16_t> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot pick a free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

StatusOr<std::unique_ptr<OrthancServer>> OrthancServer::Start(const OrthancOptions& options) {
  const fs::path binary = FromEnv("INFERA_ORTHANC", "/usr/sbin/Orthanc");
  const fs::path plugin =
      FromEnv("INFERA_ORTHANC_DICOMWEB", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so");
  if (!fs::exists(binary)) {
    return absl::FailedPreconditionError(
        StrCat("Orthanc not found at ", binary.string(),
               ": the DICOMweb tests need a real PACS; install orthanc and orthanc-dicomweb "
               "(scripts/install-deps.sh) or set INFERA_ORTHANC"));
  }
  if (!fs::exists(plugin)) {
    return absl::FailedPreconditionError(
        StrCat("Orthanc's DICOMweb plugin not found at ", plugin.string(),
               ": install orthanc-dicomweb (scripts/install-deps.sh) or set "
               "INFERA_ORTHANC_DICOMWEB"));
  }
  // A port picked free can be taken before Orthanc binds it: a few tries.
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<OrthancServer> server(new OrthancServer());
    last = server->Launch(options);
    if (last.ok()) return server;
  }
  return last;
}

Status OrthancServer::Launch(const OrthancOptions& options) {
  const fs::path binary = FromEnv("INFERA_ORTHANC", "/usr/sbin/Orthanc");
  const fs::path plugin =
      FromEnv("INFERA_ORTHANC_DICOMWEB", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so");
  char pattern[] = "/tmp/infera-orthanc-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp failed");
  dir_ = pattern;
  ASSIGN_OR_RETURN(port_, PickFreePort());
  nlohmann::json config = {{"Name", "infera-test"},
                           {"HttpPort", port_},
                           {"HttpServerEnabled", true},
                           {"DicomServerEnabled", false},
                           {"StorageDirectory", (dir_ / "storage").string()},
                           {"IndexDirectory", (dir_ / "index").string()},
                           {"Plugins", nlohmann::json::array({plugin.string()})},
                           {"RemoteAccessAllowed", true},
                           {"AuthenticationEnabled", !options.users.empty()},
                           {"RegisteredUsers", options.users},
                           {"HttpThreadsCount", 8},
                           {"ConcurrentJobs", 1},
                           {"SaveJobs", false},
                           {"StableAge", 1},
                           {"DicomWeb", {{"Enable", true}, {"Root", "/dicom-web/"}}}};
  if (!options.users.empty()) {
    const auto& [user, password] = *options.users.begin();
    auth_header_ = StrCat("Basic ", absl::Base64Escape(StrCat(user, ":", password)));
  }
  {
    std::ofstream out(dir_ / "orthanc.json");
    out << config.dump(2);
  }
  const std::string log = (dir_ / "orthanc.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const std::string bin = binary.string();
  const std::string cfg = (dir_ / "orthanc.json").string();
  std::vector<char*> argv = {const_cast<char*>(bin.c_str()), const_cast<char*>(cfg.c_str()),
                             nullptr};
  const int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return absl::FailedPreconditionError(StrCat("cannot run ", bin, ": ", strerror(rc)));
  }
  // Up when /system answers and the plugin is loaded (bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(StrCat("Orthanc exited at start: ", Log()));
    }
    StatusOr<HttpResponse> plugins = Send("GET", "/plugins");
    if (plugins.ok() && plugins->status == 200) {
      if (plugins->body.find("dicom-web") == std::string::npos) {
        return absl::FailedPreconditionError(
            StrCat("Orthanc runs without its DICOMweb plugin (", plugin.string(),
                   "): /plugins = ", plugins->body, "; log: ", Log()));
      }
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::FailedPreconditionError(
      StrCat("Orthanc did not answer on port ", port_, " within 30 s; log: ", Log()));
}

OrthancServer::~OrthancServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!exited) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string OrthancServer::url() const { return StrCat("http://127.0.0.1:", port_); }

std::string OrthancServer::dicomweb_url() const { return StrCat(url(), "/dicom-web"); }

StatusOr<HttpResponse> OrthancServer::Send(const std::string& method, const std::string& target,
                                           const std::string& body, HttpHeaders headers) {
  HttpClient client(std::chrono::seconds(30));
  RETURN_IF_ERROR(client.Connect("127.0.0.1", port_));
  if (!auth_header_.empty() && headers.find("Authorization") == headers.end()) {
    headers["Authorization"] = auth_header_;
  }
  return client.Send(method, target, body, headers);
}

StatusOr<std::string> OrthancServer::Upload(const std::string& dicom) {
  ASSIGN_OR_RETURN(HttpResponse response,
                   Send("POST", "/instances", dicom, {{"Content-Type", "application/dicom"}}));
  if (response.status != 200) {
    return absl::InternalError(
        StrCat("Orthanc refused an instance: HTTP ", response.status, " ", response.body));
  }
  const nlohmann::json j = nlohmann::json::parse(response.body, nullptr, false);
  if (!j.is_object() || !j.contains("ID") || !j["ID"].is_string()) {
    return absl::InternalError(StrCat("Orthanc's answer to an upload has no ID: ", response.body));
  }
  return j["ID"].get<std::string>();
}

std::string OrthancServer::Log() const {
  std::ifstream in(dir_ / "orthanc.log");
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > 3000) text = text.substr(text.size() - 3000);
  return text;
}

}  // namespace infera::testing
