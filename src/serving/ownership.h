// Ownership rules of the stored records, for every front end. A record belongs to the
// user who created it (owner_id; 0 when auth was off). A caller may see it when auth is
// off (no principal), is an admin, or owns it. For any other caller a record is
// reported exactly as an unknown id is ("<kind> <id> not found", NotFound), so ids are
// no existence oracle.
//
// Thread-safety: pure functions of their arguments and the store (whose own contract
// applies).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "auth/principal.h"
#include "common/status.h"
#include "store/store.h"

namespace infera {

// The caller of a request: a principal when auth is on, none when it is off.
using Caller = std::optional<Principal>;

// The owner id new records of `caller` get (0 without a principal).
int64_t CallerId(const Caller& caller);
// The owner to filter lists by; nullopt: every owner (auth off, or an admin).
std::optional<int64_t> OwnerFilter(const Caller& caller);

// The record with `id` when `caller` may see it; NotFound otherwise (also for an
// unknown id), or the store's error.
StatusOr<DatasetRecord> VisibleDataset(Store& store, const Caller& caller, int64_t id);
StatusOr<FileRecord> VisibleFile(Store& store, const Caller& caller, int64_t id);
// For any other record of `kind` with `id` owned by `owner_id`: OK when `caller` may see
// it, else "<kind> <id> not found" (NotFound).
Status CheckVisible(const Caller& caller, int64_t owner_id, std::string_view kind, int64_t id);

}  // namespace infera
