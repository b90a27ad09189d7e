#include "store/record_json.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

// Issue 22 item 1: a stored name that is not UTF-8 made every read of its dataset, file
// and jobs answer 500 (nlohmann's dump threw). The JSON of a record is always valid.
TEST(RecordJsonTest, StoredTextThatIsNotUtf8IsRepairedOnRead) {
  FileRecord f;
  f.filename = "\xFF\xFE.png";
  EXPECT_EQ(FileJson(f)["filename"], "\xEF\xBF\xBD\xEF\xBF\xBD.png");
  EXPECT_NO_THROW((void)FileJson(f).dump());
  DatasetRecord d;
  d.name = "caf\xE9";
  d.description = "\xC0";
  EXPECT_NO_THROW((void)DatasetJson(d).dump());
}

}  // namespace
}  // namespace infera
