// A Python client generated at test time from proto/grpc_service.proto (grpc_tools, as
// a third-party client would be) against a real server: tests/grpc/python_client.py
// checks every read RPC, typed and raw inference equal to HTTP's bytes, and error codes.
// A missing /usr/bin/python3, grpcio or grpc_tools fails the test (never skipped).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "server/server.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

class GrpcPythonClientTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_cls"}, "server: {grpc_port: 0}\n"); }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(GrpcPythonClientTest, GeneratedClientCallsEveryRpc) {
  testing::TempDir out;
  const std::string source = INFERA_SOURCE_DIR;
  // `timeout` bounds the run (the script's calls have their own 30 s deadlines).
  const std::string command =
      "timeout 120 /usr/bin/python3 " + source + "/tests/grpc/python_client.py --grpc-port " +
      std::to_string(server()->grpc_port()) + " --http-port " + std::to_string(server()->port()) +
      " --proto " + source + "/proto/grpc_service.proto --models " +
      testing::TestModelsDir().string() + " --out " + out.path().string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("python grpc client: ok"), std::string::npos) << output;
}

}  // namespace
}  // namespace infera
