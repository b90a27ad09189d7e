#include "api/multipart.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

constexpr char kBoundary[] = "----InferaBoundary7MA4YWxk";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

struct TestPart {
  std::string headers;  // header lines, each ending in "\r\n"
  std::string content;
};

TestPart File(std::string_view name, std::string_view filename, std::string_view content,
              std::string_view type = "image/png") {
  return {"Content-Disposition: form-data; name=\"" + std::string(name) + "\"; filename=\"" +
              std::string(filename) + "\"\r\nContent-Type: " + std::string(type) + "\r\n",
          std::string(content)};
}

TestPart TextField(std::string_view name, std::string_view value) {
  return {"Content-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n",
          std::string(value)};
}

std::string Body(const std::vector<TestPart>& parts, std::string_view boundary = kBoundary,
                 std::string_view preamble = "", std::string_view epilogue = "") {
  std::string body(preamble);
  if (!preamble.empty()) body += "\r\n";
  for (const TestPart& part : parts) {
    body += "--" + std::string(boundary) + "\r\n" + part.headers + "\r\n" + part.content + "\r\n";
  }
  body += "--" + std::string(boundary) + "--\r\n" + std::string(epilogue);
  return body;
}

// A parsed part with the content of its file read back.
struct Parsed {
  std::string name, filename, content_type, value, file_content;
  bool is_file = false;
  uint64_t size = 0;
  bool operator==(const Parsed&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Parsed& p) {
  return os << "{name=" << p.name << " filename=" << p.filename << " type=" << p.content_type
            << " is_file=" << p.is_file << " size=" << p.size << "}";
}

// Parses `body` from memory and from a file, with chunk sizes 1..7, 13 and the default,
// checking that every way gives the same parts (returned) or the same error code (in
// *code), and that no temporary file survives.
std::vector<Parsed> ParseAllWays(const std::string& body, MultipartLimits limits = {},
                                 absl::StatusCode* code = nullptr,
                                 std::string_view boundary = kBoundary) {
  testing::TempDir tmp;
  const fs::path body_file = tmp.path() / "body";
  testing::WriteFile(body_file, body);
  const fs::path parts_dir = tmp.path() / "parts";
  fs::create_directories(parts_dir);

  std::optional<std::vector<Parsed>> first;
  std::optional<absl::StatusCode> first_code;
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{5}, size_t{6}, size_t{7},
                       size_t{13}, size_t{64 * 1024}}) {
    limits.chunk_bytes = chunk;
    for (bool from_file : {false, true}) {
      StatusOr<std::vector<MultipartPart>> parts =
          from_file ? ParseMultipartFile(body_file, boundary, parts_dir, limits)
                    : ParseMultipartString(body, boundary, parts_dir, limits);
      const absl::StatusCode got_code = parts.status().code();
      if (!first_code.has_value()) first_code = got_code;
      EXPECT_EQ(got_code, *first_code)
          << "chunk " << chunk << " file " << from_file << ": " << parts.status();
      if (!parts.ok()) {
        EXPECT_TRUE(fs::is_empty(parts_dir)) << "temporary files left after an error";
        continue;
      }
      MultipartTempFiles cleanup(*parts);
      std::vector<Parsed> parsed;
      for (const MultipartPart& p : *parts) {
        Parsed q{p.name, p.filename, p.content_type, p.value, "", p.is_file, p.size};
        if (p.is_file) {
          EXPECT_EQ(p.file.parent_path(), parts_dir);
          q.file_content = testing::ReadFile(p.file);
          EXPECT_EQ(q.file_content.size(), p.size);
        } else {
          EXPECT_TRUE(p.file.empty());
          EXPECT_EQ(p.value.size(), p.size);
        }
        parsed.push_back(std::move(q));
      }
      if (!first.has_value()) {
        first = parsed;
      } else {
        EXPECT_EQ(parsed, *first) << "chunk " << chunk << " file " << from_file;
      }
      cleanup.RemoveAll();
      EXPECT_TRUE(fs::is_empty(parts_dir));
    }
  }
  if (code != nullptr) *code = first_code.value_or(absl::StatusCode::kUnknown);
  return first.value_or(std::vector<Parsed>{});
}

absl::StatusCode ErrorCode(const std::string& body, MultipartLimits limits = {}) {
  absl::StatusCode code = absl::StatusCode::kOk;
  ParseAllWays(body, limits, &code);
  return code;
}

TEST(MultipartBoundaryTest, ReadsPlainAndQuotedBoundaries) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data;boundary=\"a b:c'()+_,-./=?\""),
            "a b:c'()+_,-./=?");
  EXPECT_EQ(*MultipartBoundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=XyZ"), "XyZ");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data ; boundary = \"q\" "), "q");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=" + std::string(70, 'x')),
            std::string(70, 'x'));
}

TEST(MultipartBoundaryTest, RefusesOtherTypesAndBadBoundaries) {
  for (const std::string& type :
       {std::string("application/json"), std::string("multipart/mixed; boundary=abc"),
        std::string("multipart/form-data"), std::string("multipart/form-data; boundary="),
        std::string("multipart/form-data; boundary=\"\""),
        std::string("multipart/form-data; boundary=\"unterminated"),
        std::string("multipart/form-data; boundary=" + std::string(71, 'x')),
        std::string("multipart/form-data; boundary=a@b"),
        std::string("multipart/form-data; boundary=\"ends in space \""),
        std::string("multipart/form-data; boundary=a; boundary=b")}) {
    EXPECT_EQ(MultipartBoundary(type).status().code(), absl::StatusCode::kInvalidArgument) << type;
  }
}

TEST(MultipartTest, ParsesFieldsAndFilesAtEveryChunkSize) {
  // Content full of near-boundaries: "\r\n--", "\r\n--" + a prefix of the boundary, the
  // boundary without its leading line end, and random bytes.
  const std::string tricky = std::string("\r\n--\r\n--") + std::string(kBoundary).substr(0, 10) +
                             "\r\n-" + "--" + kBoundary + "\r\r\n--" +
                             std::string(kBoundary).substr(0, 25) + "x" + RandomBytes(3000, 1) +
                             "\r\n";
  const std::vector<TestPart> parts = {
      TextField("model", "resnet50"), File("image", "cat.png", tricky), TextField("top_k", "5"),
      File("image", "dog.jpg", RandomBytes(10000, 2), "image/jpeg")};
  const std::vector<Parsed> got = ParseAllWays(Body(parts));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], (Parsed{"model", "", "", "resnet50", "", false, 8}));
  EXPECT_EQ(got[1].name, "image");
  EXPECT_EQ(got[1].filename, "cat.png");
  EXPECT_EQ(got[1].content_type, "image/png");
  EXPECT_TRUE(got[1].is_file);
  EXPECT_TRUE(got[1].value.empty());
  EXPECT_TRUE(got[1].file_content == tricky);
  EXPECT_EQ(got[2], (Parsed{"top_k", "", "", "5", "", false, 1}));
  EXPECT_EQ(got[3].filename, "dog.jpg");
  EXPECT_EQ(got[3].content_type, "image/jpeg");
  EXPECT_TRUE(got[3].file_content == RandomBytes(10000, 2));
}

TEST(MultipartTest, SkipsPreambleAndEpilogue) {
  const std::string preamble = "This is a preamble.\r\nIt mentions --" + std::string(kBoundary) +
                               " in the middle of a line.";
  const std::vector<Parsed> got =
      ParseAllWays(Body({TextField("a", "1")}, kBoundary, preamble, "epilogue\r\n--junk--\r\n"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "1");
}

TEST(MultipartTest, EmptyFileEmptyFieldAndEmptyFilename) {
  const std::vector<Parsed> got =
      ParseAllWays(Body({File("empty", "empty.png", ""), TextField("blank", ""),
                         File("nofile", "", "", "application/octet-stream")}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(got[0].is_file);
  EXPECT_EQ(got[0].size, 0u);
  EXPECT_EQ(got[0].file_content, "");
  EXPECT_FALSE(got[1].is_file);
  EXPECT_EQ(got[1].value, "");
  EXPECT_TRUE(got[2].is_file);  // browsers send filename="" when no file was chosen
  EXPECT_EQ(got[2].filename, "");
}

TEST(MultipartTest, BodyWithNoParts) {
  absl::StatusCode code;
  EXPECT_TRUE(ParseAllWays("--" + std::string(kBoundary) + "--\r\n", {}, &code).empty());
  EXPECT_EQ(code, absl::StatusCode::kOk);
  EXPECT_TRUE(ParseAllWays("--" + std::string(kBoundary) + "--", {}, &code).empty());
  EXPECT_EQ(code, absl::StatusCode::kOk);
}

// Issue 22 item 1: a field name that is not UTF-8 made the upload's reply throw (500).
TEST(MultipartTest, RefusesAFieldNameThatIsNotUtf8) {
  EXPECT_EQ(ErrorCode(Body({File("fi\xFFles", "a.png", "x")})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorCode(Body({TextField("\xC0\xAF", "v")})), absl::StatusCode::kInvalidArgument);
  // A file name is kept as sent (the caller sanitises it): legacy clients send Latin-1.
  std::vector<Parsed> parts = ParseAllWays(Body({File("files", "caf\xE9.png", "x")}));
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].filename, "caf\xE9.png");
}

TEST(MultipartTest, DecodesFilenameStarAndQuotedFilenames) {
  const std::vector<TestPart> parts = {
      {"Content-Disposition: form-data; name=\"a\"; filename=\"fallback.png\"; "
       "filename*=UTF-8''na%C3%AFve%20%E2%9C%93.png\r\n",
       "a"},
      {"content-disposition: FORM-DATA; NAME=b; FILENAME*=iso-8859-1'en'caf%E9.png\r\n", "b"},
      {"Content-Disposition: form-data; name=\"c\"; filename*=koi8-r''%C1.png; "
       "filename=\"plain.png\"\r\n",
       "c"},
      {"Content-Disposition: form-data; name=\"d\"; filename=\"say \\\"hi\\\".png\"\r\n", "d"},
      {"Content-Disposition: form-data; name=\"e\"; filename=\"C:\\Users\\me\\e.png\"\r\n", "e"},
      {"Content-Disposition: form-data; name=\"f\"; filename=\"semi;colon.png\"\r\n"
       "X-Other: ignored\r\n",
       "f"},
  };
  const std::vector<Parsed> got = ParseAllWays(Body(parts));
  ASSERT_EQ(got.size(), parts.size());
  EXPECT_EQ(got[0].filename, "na\xC3\xAFve \xE2\x9C\x93.png");
  EXPECT_EQ(got[1].name, "b");
  EXPECT_EQ(got[1].filename, "caf\xC3\xA9.png");
  EXPECT_EQ(got[2].filename, "plain.png");
  EXPECT_EQ(got[3].filename, "say \"hi\".png");
  EXPECT_EQ(got[4].filename, "C:\\Users\\me\\e.png");
  EXPECT_EQ(got[5].filename, "semi;colon.png");
  for (const Parsed& p : got) EXPECT_TRUE(p.is_file) << p;
}

TEST(MultipartTest, AcceptsTransportPaddingAfterBoundaries) {
  const std::string b = kBoundary;
  const std::string body = "--" + b +
                           " \t \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--" + b +
                           "--  \r\n";
  const std::vector<Parsed> got = ParseAllWays(body);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "1");
}

TEST(MultipartTest, ManyFilesEachGetTheirOwnTemporaryFile) {
  std::vector<TestPart> parts;
  for (int i = 0; i < 200; ++i) {
    parts.push_back(File("images", "f" + std::to_string(i) + ".png", RandomBytes(i * 7, i)));
  }
  testing::TempDir tmp;
  MultipartLimits limits;
  limits.chunk_bytes = 1000;
  StatusOr<std::vector<MultipartPart>> got =
      ParseMultipartString(Body(parts), kBoundary, tmp.path(), limits);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 200u);
  {
    MultipartTempFiles cleanup(*got);
    for (int i = 0; i < 200; ++i) {
      EXPECT_EQ((*got)[i].filename, "f" + std::to_string(i) + ".png");
      EXPECT_TRUE(testing::ReadFile((*got)[i].file) == RandomBytes(i * 7, i)) << i;
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 200);
  }
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(MultipartTest, LargeFileStreamsToDisk) {
  testing::TempDir tmp;
  const std::string big = RandomBytes(5 << 20, 5);
  const fs::path body = tmp.path() / "body";
  testing::WriteFile(body, Body({TextField("model", "m"), File("image", "big.png", big)}));
  const fs::path parts_dir = tmp.path() / "parts";
  fs::create_directories(parts_dir);
  StatusOr<std::vector<MultipartPart>> got =
      ParseMultipartFile(body, kBoundary, parts_dir, MultipartLimits{});
  ASSERT_TRUE(got.ok()) << got.status();
  MultipartTempFiles cleanup(*got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].size, big.size());
  EXPECT_TRUE(testing::ReadFile((*got)[1].file) == big);
}

TEST(MultipartTest, MalformedBodiesAreInvalidArgument) {
  const std::string b = kBoundary;
  const std::string disposition = "Content-Disposition: form-data; name=\"a\"\r\n";
  const std::string good = Body({File("f", "x.png", "data"), TextField("a", "1")});
  const std::map<std::string, std::string> cases = {
      {"empty body", ""},
      {"wrong boundary", Body({TextField("a", "1")}, "OtherBoundary")},
      {"no closing boundary", "--" + b + "\r\n" + disposition + "\r\nvalue"},
      {"truncated file part", good.substr(0, good.find("data") + 2)},
      {"truncated before the last part ends", good.substr(0, good.size() - 6)},
      {"truncated in headers", "--" + b + "\r\nContent-Disposition: form-da"},
      {"ends after a boundary", "--" + b + "\r\n"},
      {"ends right after the boundary", "--" + b},
      {"no content-disposition",
       "--" + b + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + b + "--"},
      {"no headers at all", "--" + b + "\r\n\r\nx\r\n--" + b + "--"},
      {"not form-data",
       "--" + b + "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--" + b + "--"},
      {"no name", "--" + b +
                      "\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n\r\nx\r\n--" + b +
                      "--"},
      {"header without colon",
       "--" + b + "\r\n" + disposition + "garbage\r\n\r\nx\r\n--" + b + "--"},
      {"folded header", "--" + b + "\r\n" + disposition + " folded\r\n\r\nx\r\n--" + b + "--"},
      {"two dispositions",
       "--" + b + "\r\n" + disposition + disposition + "\r\nx\r\n--" + b + "--"},
      {"junk after boundary", "--" + b + "junk\r\n" + disposition + "\r\nx\r\n--" + b + "--"},
      {"unterminated quote",
       "--" + b + "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--" + b + "--"},
      {"repeated parameter",
       "--" + b + "\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--" + b + "--"},
      {"bad filename* escape", "--" + b +
                                   "\r\nContent-Disposition: form-data; name=a; "
                                   "filename*=UTF-8''bad%zz.png\r\n\r\nx\r\n--" +
                                   b + "--"},
  };
  for (const auto& [what, body] : cases) {
    SCOPED_TRACE(what);
    EXPECT_EQ(ErrorCode(body), absl::StatusCode::kInvalidArgument);
  }
}

TEST(MultipartTest, LimitsAreEnforced) {
  MultipartLimits limits;
  limits.max_parts = 2;
  EXPECT_EQ(ErrorCode(Body({TextField("a", "1"), TextField("b", "2")}), limits),
            absl::StatusCode::kOk);
  EXPECT_EQ(
      ErrorCode(Body({TextField("a", "1"), TextField("b", "2"), File("c", "c.png", "3")}), limits),
      absl::StatusCode::kInvalidArgument);

  limits = {};
  limits.max_field_bytes = 10;
  EXPECT_EQ(ErrorCode(Body({TextField("a", std::string(10, 'x'))}), limits), absl::StatusCode::kOk);
  EXPECT_EQ(ErrorCode(Body({TextField("a", std::string(11, 'x'))}), limits),
            absl::StatusCode::kInvalidArgument);
  // The field limit does not apply to files.
  EXPECT_EQ(ErrorCode(Body({File("a", "a.png", std::string(1000, 'x'))}), limits),
            absl::StatusCode::kOk);

  limits = {};
  limits.max_header_bytes = 100;
  EXPECT_EQ(ErrorCode(Body({File("a", "a.png", "x")}), limits), absl::StatusCode::kOk);
  EXPECT_EQ(ErrorCode(Body({File("a", std::string(100, 'n') + ".png", "x")}), limits),
            absl::StatusCode::kInvalidArgument);
  // Headers that never end are refused once past the limit, not buffered forever.
  EXPECT_EQ(ErrorCode("--" + std::string(kBoundary) + "\r\nX: " + std::string(5000, 'h'), limits),
            absl::StatusCode::kInvalidArgument);
}

TEST(MultipartTest, FailedParseRemovesFilesAlreadyWritten) {
  testing::TempDir tmp;
  const std::string body =
      Body({File("a", "a.png", RandomBytes(1000, 1)), File("b", "b.png", RandomBytes(1000, 2))});
  // Cut in the middle of the second file: the first one was complete on disk.
  const std::string cut = body.substr(0, body.size() - 500);
  StatusOr<std::vector<MultipartPart>> got =
      ParseMultipartString(cut, kBoundary, tmp.path(), MultipartLimits{});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(MultipartTest, RefusesBadBoundaryArgumentAndMissingFiles) {
  testing::TempDir tmp;
  EXPECT_EQ(ParseMultipartString("--\r\n", "", tmp.path(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMultipartFile(tmp.path() / "missing", kBoundary, tmp.path(), {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseMultipartString(Body({File("a", "a.png", "x")}), kBoundary,
                                 tmp.path() / "no-such-dir", {})
                .status()
                .code(),
            absl::StatusCode::kInternal);
}

TEST(MultipartTempFilesTest, RemovesUnlessReleased) {
  testing::TempDir tmp;
  const fs::path a = tmp.path() / "a";
  const fs::path b = tmp.path() / "b";
  testing::WriteFile(a, "a");
  testing::WriteFile(b, "b");
  MultipartPart part_a;
  part_a.file = a;
  MultipartPart field;  // no file: nothing to remove
  {
    MultipartTempFiles released({part_a, field});
    released.Release();
  }
  EXPECT_TRUE(fs::exists(a));
  {
    MultipartTempFiles outer;
    {
      MultipartTempFiles inner({part_a, field});
      inner.Add(b);
      outer = std::move(inner);
    }
    EXPECT_TRUE(fs::exists(a));
    EXPECT_TRUE(fs::exists(b));
  }
  EXPECT_FALSE(fs::exists(a));
  EXPECT_FALSE(fs::exists(b));
}

}  // namespace
}  // namespace infera
