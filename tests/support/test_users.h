// The plain users the auth-on integration suites share: bob ("bob-password") and eve
// ("eve-password"), both of role user, added straight to a server's own user store as
// `infera users add` would (the admin comes from INFERA_ADMIN_PASSWORD at start-up).
#pragma once

#include <filesystem>

namespace infera::testing {

// Adds bob and eve to the SQLite user store of the server whose folder is `server_dir`
// (its data/infera.db; the server may be running). A failure is a fatal test failure in
// the calling test or SetUpTestSuite; adding a user twice fails.
void AddTestUsers(const std::filesystem::path& server_dir);

}  // namespace infera::testing
