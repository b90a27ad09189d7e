#include "support/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

namespace infera::testing {

Child Spawn(const std::vector<std::string>& args) {
  // Close-on-exec pipes: the child keeps only its dup2'ed stdout/stderr, so no process it
  // starts (a daemon) holds a write end that would keep a reader waiting for EOF, and no
  // child inherits another child's pipes.
  int out[2], err[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  c.out = out[0];
  c.err = err[0];
  return c;
}

// Reads `fd` until `needle` appears, EOF, or the deadline.
std::string ReadUntil(int fd, const std::string& needle, std::chrono::seconds limit) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline && text.find(needle) == std::string::npos) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    timeval tv{0, 100000};
    if (select(fd + 1, &set, nullptr, nullptr, &tv) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

int WaitExit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    usleep(20000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -2;
}

RunResult RunToExit(const std::vector<std::string>& args, std::chrono::seconds limit) {
  Child c = Spawn(args);
  RunResult r;
  r.out = ReadUntil(c.out, "\x01never", limit);
  r.err = ReadUntil(c.err, "\x01never", std::chrono::seconds(10));
  r.code = WaitExit(c.pid, limit);
  close(c.out);
  close(c.err);
  return r;
}

}  // namespace infera::testing
