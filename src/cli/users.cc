// `infera users add|list|disable|enable|set-password --config FILE ...`: user
// management on the server's store (the same SQLite file the server uses; safe while
// it runs). Passwords are read from INFERA_PASSWORD when set, else from standard input
// (one line; not echoed on a terminal) — never from the command line, where other users
// of the machine could see them.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "auth/auth_service.h"
#include "auth/secret_file.h"
#include "cli/cli.h"
#include "common/logging.h"
#include "common/strings.h"
#include "models/server_config.h"
#include "store/store_registry.h"

namespace infera {

namespace {

StatusOr<std::string> ReadPassword(const std::string& prompt) {
  if (const char* env = std::getenv("INFERA_PASSWORD"); env != nullptr) return std::string(env);
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios old{};
  if (tty) {
    std::fprintf(stderr, "%s", prompt.c_str());
    std::fflush(stderr);
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  if (!got) return absl::InvalidArgumentError("no password given (stdin or INFERA_PASSWORD)");
  while (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Status Users(const UsersOptions& options) {
  ASSIGN_OR_RETURN(ServerConfig config, LoadServerConfig(options.config));
  ASSIGN_OR_RETURN(std::unique_ptr<UserStore> users,
                   OpenUserStore(StorageOptions{.driver = config.storage_driver,
                                                .path = config.storage_path,
                                                .url = config.storage_url,
                                                .now_ms = {}}));
  const std::filesystem::path secret_file = config.auth_secret_file.empty()
                                                ? config.storage_path / "auth_secret"
                                                : config.auth_secret_file;
  ASSIGN_OR_RETURN(std::string secret, LoadOrCreateSecret(secret_file));
  ASSIGN_OR_RETURN(std::unique_ptr<AuthService> auth,
                   AuthService::Create(users.get(), std::move(secret), AuthOptions{}));
  if (options.action == "list") {
    ASSIGN_OR_RETURN(std::vector<UserRecord> all, users->ListUsers());
    std::cout << absl::StrFormat("%-6s %-24s %-6s %s\n", "id", "username", "role", "state");
    for (const UserRecord& u : all) {
      std::cout << absl::StrFormat("%-6d %-24s %-6s %s\n", u.id, u.username, u.role,
                                   u.disabled_at != 0 ? "disabled" : "active");
    }
    return absl::OkStatus();
  }
  if (options.username.empty()) return absl::InvalidArgumentError("a username is required");
  if (options.action == "add") {
    ASSIGN_OR_RETURN(Role role, ParseRole(options.role));
    ASSIGN_OR_RETURN(std::string password, ReadPassword("password: "));
    ASSIGN_OR_RETURN(UserRecord user, auth->CreateUser(options.username, password, role));
    std::cout << "added user " << user.username << " (id " << user.id << ", " << user.role << ")\n";
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(UserRecord user, users->FindUser(options.username));
  if (options.action == "set-password") {
    ASSIGN_OR_RETURN(std::string password, ReadPassword("new password: "));
    RETURN_IF_ERROR(auth->SetPassword(user.id, password));
    std::cout << "password of " << user.username << " changed; its sessions are ended\n";
  } else if (options.action == "disable" || options.action == "enable") {
    RETURN_IF_ERROR(users->SetDisabled(user.id, options.action == "disable"));
    std::cout << user.username << " " << options.action << "d\n";
  } else {
    return absl::InvalidArgumentError(StrCat("unknown action '", options.action, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

int RunUsers(const UsersOptions& options) {
  SetLogLevel(LogLevel::kWarning);
  Status s = Users(options);
  if (!s.ok()) {
    std::cerr << "infera users: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace infera
