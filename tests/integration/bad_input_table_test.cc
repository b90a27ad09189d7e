// The bad-input table: what a hostile or careless client sends to every family of routes
// (malformed and ill-typed JSON, corrupt and lying images, wrong tensor shapes, broken
// multipart and ZIP bodies, path tricks, unknown and ill-formed ids, oversize bodies,
// non-UTF-8 text), each answered with the right 4xx and a JSON error — never a 5xx, a
// hang or a crash — and nothing the server held before is lost: after the whole table
// the dataset, its file, the job and the annotation set read back as they were.
//
// The server runs with auth on (every request carries an admin token, so the admin
// routes' bodies are checked too) and small limits so that "too large" is cheap to send.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "imaging/codec.h"
#include "support/custom_tiff_model.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kAdminPassword = "table-admin-password";

// One row: a request and the answer it must get.
struct BadInput {
  std::string name;
  std::string method;
  std::string target;  // {dataset} {file} {job} {set} are replaced by the suite's ids
  std::string body;
  HttpHeaders headers;  // besides the admin token
  int status;           // the 4xx expected
  std::string says;     // a part of the answer's text ("" when any JSON error will do)
};

std::string PngChunk(const std::string& type, const std::string& data) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  const std::string typed = type + data;
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size())));
  return be32(static_cast<uint32_t>(data.size())) + typed + be32(crc);
}

// A PNG whose header (with a valid CRC) claims width × height and whose data is empty.
std::string LyingPng(uint32_t width, uint32_t height) {
  std::string ihdr;
  for (uint32_t v : {width, height}) {
    ihdr += std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                        static_cast<char>(v >> 8), static_cast<char>(v)};
  }
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) + PngChunk("IDAT", "") +
         PngChunk("IEND", "");
}

// A ZIP of stored entries written by hand, so that names a ZipWriter would refuse
// ("../x.png", absolute paths) can be sent.
std::string RawZip(const std::vector<std::pair<std::string, std::string>>& entries) {
  auto le16 = [](uint32_t v) {
    return std::string{static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff)};
  };
  auto le32 = [&](uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); };
  std::string out, central;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const std::string common = le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) +
                               le32(static_cast<uint32_t>(data.size())) +
                               le32(static_cast<uint32_t>(data.size())) +
                               le16(static_cast<uint32_t>(name.size())) + le16(0);
    out += le32(0x04034b50) + common + name + data;
    central += le32(0x02014b50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) +
               le32(offset) + name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  out += le32(0x06054b50) + le16(0) + le16(0) + le16(static_cast<uint32_t>(entries.size())) +
         le16(static_cast<uint32_t>(entries.size())) + le32(static_cast<uint32_t>(central.size())) +
         le32(cd_offset) + le16(0);
  return out;
}

class BadInputTableTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    // tiff_classes: a custom_tiff model with K = 3 output channels (known from warm-up).
    TempDir repo;
    for (const char* model : {"tiny_cls", "tiny_unet"}) CopyModel(model, repo.path());
    WriteCustomTiffClassesModel(repo.path(), "tiff_classes", /*warmup=*/true);
    // multiclass_nolabels: multiclass_argmax with K = 3 (warm-up) and no labels file.
    WriteUnlabelledMulticlassModel(repo.path(), "multiclass_nolabels", /*warmup=*/true);
    StartSuiteServerOn(repo.path(),
                       "server: {max_body_mb: 1, max_image_pixels: 1000000}\n"
                       "storage: {max_upload_mb: 2, max_file_mb: 1, max_files_per_upload: 8}\n"
                       "auth: {enabled: true, protect_inference: true}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  HttpResponse Admin(const std::string& method, const std::string& target,
                     const std::string& body = "", HttpHeaders headers = {}) {
    headers["Authorization"] = "Bearer " + token_;
    return Send(method, target, body, headers);
  }

  // The records the table must not harm: a dataset with one image, a finished job on it,
  // an annotation set with one mask.
  void MakeRecords() {
    HttpResponse login =
        Post("/api/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = json::parse(login.body)["access_token"];
    HttpResponse ds = Admin("POST", "/api/datasets", json{{"name", "kept"}}.dump());
    ASSERT_EQ(ds.status, 201) << ds.body;
    dataset_ = json::parse(ds.body)["id"];
    HttpResponse up = Admin("POST", "/api/datasets/" + std::to_string(dataset_) + "/files",
                            MultipartBody({{"files", "disk.png", png_, "image/png"}}),
                            {{"Content-Type", MultipartContentType()}});
    ASSERT_EQ(up.status, 201) << up.body;
    file_ = json::parse(up.body)["files"][0]["id"];
    HttpResponse job = Admin("POST", "/api/inferences/start",
                             json{{"dataset_id", dataset_}, {"model_id", "tiny_unet"}}.dump());
    ASSERT_EQ(job.status, 202) << job.body;
    job_ = json::parse(job.body)["inference_id"];
    HttpResponse set = Admin(
        "POST", "/api/datasets/" + std::to_string(dataset_) + "/annotations",
        json{{"name", "truth"}, {"kind", "semantic"}, {"labels", {{{"id", 1}, {"name", "cell"}}}}}
            .dump());
    ASSERT_EQ(set.status, 201) << set.body;
    set_ = json::parse(set.body)["id"];
    HttpResponse iset = Admin(
        "POST", "/api/datasets/" + std::to_string(dataset_) + "/annotations",
        json{
            {"name", "objects"}, {"kind", "instances"}, {"labels", {{{"id", 1}, {"name", "cell"}}}}}
            .dump());
    ASSERT_EQ(iset.status, 201) << iset.body;
    iset_ = json::parse(iset.body)["id"];
    HttpResponse labels =
        Admin("POST", "/api/datasets/" + std::to_string(dataset_) + "/annotations",
              json{{"name", "labels"},
                   {"kind", "image_labels"},
                   {"labels", {{{"id", 1}, {"name", "disk"}}}}}
                  .dump());
    ASSERT_EQ(labels.status, 201) << labels.body;
    labels_set_ = json::parse(labels.body)["id"];
    HttpResponse wide =
        Admin("POST", "/api/datasets/" + std::to_string(dataset_) + "/annotations",
              json{{"name", "wide"},
                   {"kind", "semantic"},
                   {"labels", {{{"id", 1}, {"name", "cell"}}, {{"id", 3}, {"name", "debris"}}}}}
                  .dump());
    ASSERT_EQ(wide.status, 201) << wide.body;
    wide_set_ = json::parse(wide.body)["id"];
  }

  std::string Fill(std::string target) const {
    const std::pair<const char*, int64_t> ids[] = {
        {"{dataset}", dataset_}, {"{file}", file_},         {"{job}", job_},      {"{set}", set_},
        {"{iset}", iset_},       {"{labels}", labels_set_}, {"{wide}", wide_set_}};
    for (const auto& [key, id] : ids) {
      for (size_t at = target.find(key); at != std::string::npos; at = target.find(key)) {
        target.replace(at, std::string(key).size(), std::to_string(id));
      }
    }
    return target;
  }

  std::vector<BadInput> Table() const;

  std::string png_ = ReadFile(TestModelsDir() / "images" / "disk.png");
  std::string token_;
  int64_t dataset_ = 0, file_ = 0, job_ = 0, set_ = 0;
  int64_t iset_ = 0;        // an instance set of the dataset, with label 1 only
  int64_t labels_set_ = 0;  // an image_labels set of the dataset
  int64_t wide_set_ = 0;    // a semantic set of the dataset with labels 1 and 3, no masks
};

std::vector<BadInput> BadInputTableTest::Table() const {
  std::vector<BadInput> t;
  const HttpHeaders kJson = {{"Content-Type", "application/json"}};
  const HttpHeaders kForm = {{"Content-Type", MultipartContentType()}};
  auto add = [&](std::string name, std::string method, std::string target, std::string body,
                 int status, std::string says, HttpHeaders headers = {}) {
    t.push_back({std::move(name), std::move(method), std::move(target), std::move(body),
                 std::move(headers), status, std::move(says)});
  };
  const std::string b64 = Base64Encode(png_.data(), png_.size());
  auto b64of = [](const std::string& bytes) { return Base64Encode(bytes.data(), bytes.size()); };
  const std::string truncated_png = png_.substr(0, png_.size() / 2);
  std::string bad_crc_png = png_;
  bad_crc_png[30] = static_cast<char>(bad_crc_png[30] ^ 0x5a);
  const std::string huge_png = LyingPng(20000, 20000);   // 400 Mpx: over max_image_pixels
  const std::string zero_png = LyingPng(0, 64);          // a zero width
  const std::string wide_png = LyingPng(0x7fffffff, 1);  // a width no decoder takes
  const std::string jpeg_head = std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11);
  const std::string tiff_junk = std::string("II*\x00\x08\x00\x00\x00", 8) + std::string(32, '\xff');
  const std::string gif = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
  const std::string not_utf8 = "\xff\xfe\xfd";
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');

  // ---- routing and transport
  add("unknown path", "GET", "/no/such/route", "", 404, "no route");
  add("trailing slash", "GET", "/health/", "", 404, "");
  add("wrong method", "DELETE", "/health", "", 405, "");
  add("lower-case method", "get", "/health", "", 405, "");
  add("NUL in the path", "GET", "/api/datasets/1%00", "", 400, "");
  add("encoded traversal on the web page", "GET", "/..%2F..%2Fetc%2Fpasswd", "", 404, "");
  add("dot-dot page", "GET", "/..", "", 404, "");
  add("a 16 KiB path", "GET", "/api/datasets/" + std::string(16384, '9'), "", 431,
      "exceeds the limit");
  add("body over max_body_mb", "POST", "/predict/tiny_cls", std::string(1200000, ' '), 413, "");
  add("v2 body over max_body_mb", "POST", "/v2/models/tiny_cls/infer", std::string(1100000, '1'),
      413, "");

  // ---- /predict
  const std::string P = "/predict/tiny_cls";
  add("predict: empty body", "POST", P, "", 400, "empty body");
  add("predict: not JSON", "POST", P, "image=abc", 400, "malformed JSON");
  add("predict: truncated JSON", "POST", P, "{\"image\": \"", 400, "malformed JSON");
  add("predict: a JSON array", "POST", P, "[1,2]", 400, "JSON object");
  add("predict: a JSON string", "POST", P, "\"x\"", 400, "JSON object");
  add("predict: null", "POST", P, "null", 400, "JSON object");
  add("predict: no image", "POST", P, "{}", 400, "missing field 'image'");
  add("predict: image a number", "POST", P, R"({"image": 5})", 400, "base64 string");
  add("predict: image null", "POST", P, R"({"image": null})", 400, "base64 string");
  add("predict: image an object", "POST", P, R"({"image": {"a": 1}})", 400, "base64 string");
  add("predict: image empty", "POST", P, R"({"image": ""})", 400, "empty");
  add("predict: not base64", "POST", P, R"({"image": "%%%%"})", 400, "'image'");
  add("predict: base64 of text", "POST", P, json{{"image", b64of("hello world")}}.dump(), 400, "");
  add("predict: truncated PNG", "POST", P, json{{"image", b64of(truncated_png)}}.dump(), 400, "");
  add("predict: PNG with a bad CRC", "POST", P, json{{"image", b64of(bad_crc_png)}}.dump(), 400,
      "");
  add("predict: PNG claiming 400 Mpx", "POST", P, json{{"image", b64of(huge_png)}}.dump(), 400,
      "exceeds the limit of 1000000 pixels");
  add("predict: PNG of zero width", "POST", P, json{{"image", b64of(zero_png)}}.dump(), 400, "");
  add("predict: PNG 2^31 wide", "POST", P, json{{"image", b64of(wide_png)}}.dump(), 400, "PNG");
  add("predict: JPEG header only", "POST", P, json{{"image", b64of(jpeg_head)}}.dump(), 400, "");
  add("predict: TIFF junk", "POST", P, json{{"image", b64of(tiff_junk)}}.dump(), 400, "");
  add("predict: a GIF", "POST", P, json{{"image", b64of(gif)}}.dump(), 400, "");
  add("predict: top_k a string", "POST", P, json{{"image", b64}, {"top_k", "5"}}.dump(), 400,
      "'top_k'");
  add("predict: top_k a float", "POST", P, json{{"image", b64}, {"top_k", 1.5}}.dump(), 400,
      "'top_k'");
  add("predict: top_k negative", "POST", P, json{{"image", b64}, {"top_k", -1}}.dump(), 400,
      "top_k");
  add("predict: params an array", "POST", P, json{{"image", b64}, {"params", {1}}}.dump(), 400,
      "'params'");
  add("predict: unknown field", "POST", P, json{{"image", b64}, {"imagee", 1}}.dump(), 400,
      "imagee");
  add("predict: unknown runner param", "POST", "/predict/tiny_unet",
      json{{"image", b64}, {"params", {{"no_such_param", 1}}}}.dump(), 400, "no_such_param");
  add("predict: ill-typed runner param", "POST", "/predict/tiny_unet",
      json{{"image", b64}, {"params", {{"threshold", "high"}}}}.dump(), 400, "threshold");
  add("predict: out-of-range runner param", "POST", "/predict/tiny_unet",
      json{{"image", b64}, {"params", {{"threshold", 7}}}}.dump(), 400, "threshold");
  add("predict: unknown model", "POST", "/predict/no_such_model", json{{"image", b64}}.dump(), 404,
      "no_such_model");
  add("predict: unknown version", "POST", "/predict/tiny_cls/versions/99",
      json{{"image", b64}}.dump(), 404, "");
  add("predict: version not a number", "POST", "/predict/tiny_cls/versions/abc",
      json{{"image", b64}}.dump(), 400, "version");
  add("predict: non-UTF-8 in the JSON", "POST", P, "{\"image\": \"" + not_utf8 + "\"}", 400, "");
  add("predict: nested 100,000 deep", "POST", P, deep, 400, "");
  add("predict: duplicated image key", "POST", P,
      "{\"image\": \"" + b64 + "\", \"image\": \"" + b64 + "\"}", 400, "'image' is given twice");

  // ---- /v2 infer
  const std::string V = "/v2/models/tiny_cls/infer";
  auto tensor = [](json shape, std::string datatype, json data, std::string name = "input") {
    return json{{"name", name}, {"shape", shape}, {"datatype", datatype}, {"data", data}};
  };
  const json one = json::array({1, 3, 64, 64});
  const std::vector<float> zeros(3 * 64 * 64, 0.0f);
  add("v2: empty body", "POST", V, "", 400, "");
  add("v2: truncated JSON", "POST", V, "{\"inputs\": [", 400, "");
  add("v2: no inputs", "POST", V, "{}", 400, "inputs");
  add("v2: inputs an object", "POST", V, R"({"inputs": {}})", 400, "inputs");
  add("v2: inputs empty", "POST", V, R"({"inputs": []})", 400, "");
  add("v2: input without name", "POST", V,
      json{{"inputs", {{{"shape", one}, {"datatype", "FP32"}, {"data", zeros}}}}}.dump(), 400,
      "name");
  add("v2: input without datatype", "POST", V,
      json{{"inputs", {{{"name", "input"}, {"shape", one}, {"data", zeros}}}}}.dump(), 400,
      "datatype");
  add("v2: input without shape", "POST", V,
      json{{"inputs", {{{"name", "input"}, {"datatype", "FP32"}, {"data", zeros}}}}}.dump(), 400,
      "shape");
  add("v2: input without data", "POST", V,
      json{{"inputs", {{{"name", "input"}, {"shape", one}, {"datatype", "FP32"}}}}}.dump(), 400,
      "");
  add("v2: unknown datatype", "POST", V, json{{"inputs", {tensor(one, "FP8", zeros)}}}.dump(), 400,
      "FP8");
  add("v2: wrong datatype", "POST", V, json{{"inputs", {tensor(one, "INT64", zeros)}}}.dump(), 400,
      "INT64");
  add("v2: shape a string", "POST", V, json{{"inputs", {tensor("1x3", "FP32", zeros)}}}.dump(), 400,
      "shape");
  add("v2: negative dimension", "POST", V,
      json{{"inputs", {tensor({1, -3, 64, 64}, "FP32", zeros)}}}.dump(), 400, "");
  add("v2: shape overflowing int64", "POST", V,
      json{{"inputs", {tensor({1ll << 40, 1ll << 40, 1ll << 40}, "FP32", zeros)}}}.dump(), 400, "");
  add("v2: wrong spatial size", "POST", V,
      json{{"inputs", {tensor({1, 3, 32, 128}, "FP32", zeros)}}}.dump(), 400, "does not match");
  add("v2: data shorter than the shape", "POST", V,
      json{{"inputs", {tensor(one, "FP32", std::vector<float>(100, 0.f))}}}.dump(), 400,
      "input 'input'");
  add("v2: strings in FP32 data", "POST", V,
      json{{"inputs", {tensor({1, 3, 1, 1}, "FP32", {"a", "b", "c"})}}}.dump(), 400, "");
  add("v2: unknown input name", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros, "x")}}}.dump(), 400, "unexpected input 'x'");
  add("v2: the same input twice", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros), tensor(one, "FP32", zeros)}}}.dump(), 400, "");
  add("v2: batch over max_batch_size", "POST", V,
      json{{"inputs", {tensor({9, 3, 64, 64}, "FP32", json::array())}}}.dump(), 400, "");
  add("v2: unknown output", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros)}}, {"outputs", {{{"name", "nope"}}}}}.dump(), 400,
      "unknown output 'nope'");
  add("v2: outputs not an array", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros)}}, {"outputs", "output0"}}.dump(), 400, "");
  add("v2: priority negative", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros)}}, {"parameters", {{"priority", -1}}}}.dump(),
      400, "priority");
  add("v2: timeout a string", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros)}}, {"parameters", {{"timeout", "soon"}}}}.dump(),
      400, "timeout");
  add("v2: classification zero", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros)}},
           {"outputs", {{{"name", "output0"}, {"parameters", {{"classification", 0}}}}}}}
          .dump(),
      400, "classification");
  add("v2: binary_data_output a string", "POST", V,
      json{{"inputs", {tensor(one, "FP32", zeros)}},
           {"parameters", {{"binary_data_output", "yes"}}}}
          .dump(),
      400, "binary_data_output");
  add("v2: id a number", "POST", V,
      json{{"id", 5}, {"inputs", {tensor(one, "FP32", zeros)}}}.dump(), 400, "id");
  {
    const json header = {{"inputs",
                          {{{"name", "input"},
                            {"shape", one},
                            {"datatype", "FP32"},
                            {"parameters", {{"binary_data_size", 16}}}}}}};
    const std::string h = header.dump();
    add("v2 binary: size not matching the shape", "POST", V, h + std::string(16, '\0'), 400,
        "input 'input'", {{"Inference-Header-Content-Length", std::to_string(h.size())}});
    add("v2 binary: header length past the body", "POST", V, h, 400, "",
        {{"Inference-Header-Content-Length", "99999999"}});
    add("v2 binary: header length not a number", "POST", V, h, 400, "",
        {{"Inference-Header-Content-Length", "ten"}});
    add("v2 binary: header length negative", "POST", V, h, 400, "",
        {{"Inference-Header-Content-Length", "-5"}});
    const json neg = {{"inputs",
                       {{{"name", "input"},
                         {"shape", one},
                         {"datatype", "FP32"},
                         {"parameters", {{"binary_data_size", -16}}}}}}};
    add("v2 binary: negative binary_data_size", "POST", V, neg.dump(), 400, "",
        {{"Inference-Header-Content-Length", std::to_string(neg.dump().size())}});
  }
  add("v2: BYTES input that is not an image", "POST", "/v2/models/tiny_unet/infer",
      json{{"inputs", {tensor({1}, "BYTES", {"not an image"})}}}.dump(), 400, "");
  add("v2: unknown model", "POST", "/v2/models/no_such_model/infer",
      json{{"inputs", {tensor(one, "FP32", zeros)}}}.dump(), 404, "no_such_model");
  add("v2: unknown version", "POST", "/v2/models/tiny_cls/versions/42/infer",
      json{{"inputs", {tensor(one, "FP32", zeros)}}}.dump(), 404, "");
  add("v2: unknown model metadata", "GET", "/v2/models/no_such_model", "", 404, "no_such_model");
  add("v2: unknown model ready", "GET", "/v2/models/no_such_model/ready", "", 404, "");
  add("v2: unknown model config", "GET", "/v2/models/no_such_model/config", "", 404, "");
  add("v2: version not a number", "GET", "/v2/models/tiny_cls/versions/x", "", 400, "");
  // This server's model_control is none: load and unload are refused as such.
  add("v2 repository: load in mode none", "POST", "/v2/repository/models/no_such_model/load", "",
      409, "model control mode is 'none'");
  add("v2 repository: load with bad JSON", "POST", "/v2/repository/models/tiny_cls/load", "{", 400,
      "");
  add("v2 repository: load with a traversal name", "POST",
      "/v2/repository/models/..%2F..%2Fetc/load", "", 404, "");
  add("v2 repository: index with bad JSON", "POST", "/v2/repository/index", "{\"ready\": ", 400,
      "");
  add("v1: unknown model", "GET", "/v1/models/no_such_model", "", 404, "");

  // ---- datasets
  add("dataset: malformed JSON", "POST", "/api/datasets", "{name:", 400, "malformed JSON", kJson);
  add("dataset: an array", "POST", "/api/datasets", "[]", 400, "JSON object", kJson);
  add("dataset: no name", "POST", "/api/datasets", "{}", 400, "'name' is required", kJson);
  add("dataset: name a number", "POST", "/api/datasets", R"({"name": 7})", 400,
      "'name' must be a string", kJson);
  add("dataset: name null", "POST", "/api/datasets", R"({"name": null})", 400, "'name'", kJson);
  add("dataset: name empty", "POST", "/api/datasets", R"({"name": ""})", 400, "'name'", kJson);
  add("dataset: name too long", "POST", "/api/datasets",
      json{{"name", std::string(300, 'n')}}.dump(), 400, "longer than 200", kJson);
  add("dataset: description a list", "POST", "/api/datasets",
      R"({"name": "x", "description": [1]})", 400, "'description'", kJson);
  add("dataset: description too long", "POST", "/api/datasets",
      json{{"name", "x"}, {"description", std::string(10001, 'd')}}.dump(), 400,
      "longer than 10000", kJson);
  add("dataset: unknown field", "POST", "/api/datasets", R"({"name": "x", "owner": 1})", 400,
      "unknown field 'owner'", kJson);
  add("dataset: non-UTF-8 name", "POST", "/api/datasets", "{\"name\": \"" + not_utf8 + "\"}", 400,
      "", kJson);
  add("dataset: id not a number", "GET", "/api/datasets/abc", "", 400, "invalid");
  add("dataset: id negative", "GET", "/api/datasets/-1", "", 400, "invalid");
  add("dataset: id zero", "GET", "/api/datasets/0", "", 400, "invalid");
  add("dataset: id overflowing", "GET", "/api/datasets/99999999999999999999999", "", 400,
      "invalid");
  add("dataset: id with a suffix", "GET", "/api/datasets/12abc", "", 400, "invalid");
  add("dataset: id hex", "GET", "/api/datasets/0x10", "", 400, "invalid");
  add("dataset: unknown id", "GET", "/api/datasets/987654", "", 404, "dataset 987654 not found");
  add("dataset: delete unknown", "DELETE", "/api/datasets/987654", "", 404, "not found");
  add("dataset: delete bad id", "DELETE", "/api/datasets/x", "", 400, "invalid");

  // ---- uploads
  const std::string U = "/api/datasets/{dataset}/files";
  add("upload: no content type", "POST", U, "abc", 400, "");
  add("upload: JSON content type", "POST", U, "{}", 400, "", kJson);
  add("upload: multipart without boundary", "POST", U, "abc", 400, "boundary",
      {{"Content-Type", "multipart/form-data"}});
  add("upload: empty boundary", "POST", U, "abc", 400, "",
      {{"Content-Type", "multipart/form-data; boundary="}});
  add("upload: a boundary of 200 characters", "POST", U, "abc", 400, "",
      {{"Content-Type", "multipart/form-data; boundary=" + std::string(200, 'b')}});
  add("upload: body without parts", "POST", U, "", 400, "", kForm);
  add("upload: no closing boundary", "POST", U,
      std::string("--") + kTestBoundary +
          "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n" + png_,
      400, "", kForm);
  add("upload: part without Content-Disposition", "POST", U,
      std::string("--") + kTestBoundary + "\r\n\r\n" + png_ + "\r\n--" + kTestBoundary + "--\r\n",
      400, "", kForm);
  add("upload: only a plain field", "POST", U, MultipartBody({{"note", "", "hello"}}), 400,
      "no file", kForm);
  add("upload: file in the wrong field", "POST", U,
      MultipartBody({{"image", "a.png", png_, "image/png"}}), 400, "field 'files'", kForm);
  add("upload: an empty file", "POST", U, MultipartBody({{"files", "e.png", "", "image/png"}}), 400,
      "", kForm);
  add("upload: text as .png", "POST", U,
      MultipartBody({{"files", "t.png", "just text", "image/png"}}), 400, "", kForm);
  add("upload: truncated PNG", "POST", U,
      MultipartBody({{"files", "t.png", truncated_png, "image/png"}}), 400, "", kForm);
  add("upload: PNG with a bad CRC", "POST", U,
      MultipartBody({{"files", "c.png", bad_crc_png, "image/png"}}), 400, "", kForm);
  add("upload: PNG claiming 400 Mpx", "POST", U,
      MultipartBody({{"files", "h.png", huge_png, "image/png"}}), 400, "pixels", kForm);
  add("upload: TIFF junk", "POST", U, MultipartBody({{"files", "j.tif", tiff_junk, "image/tiff"}}),
      400, "", kForm);
  add("upload: a GIF", "POST", U, MultipartBody({{"files", "g.gif", gif, "image/gif"}}), 400, "",
      kForm);
  add("upload: a file over max_file_mb", "POST", U,
      MultipartBody({{"files", "big.png", std::string(1200000, 'x'), "image/png"}}), 400,
      "over the limit of 1048576 bytes per image", kForm);
  add("upload: body over max_upload_mb", "POST", U,
      MultipartBody({{"files", "a.png", std::string(900000, 'x'), "image/png"},
                     {"files", "b.png", std::string(900000, 'x'), "image/png"},
                     {"files", "c.png", std::string(900000, 'x'), "image/png"}}),
      413, "", kForm);
  {
    std::vector<FormPart> many;
    for (int i = 0; i < 40; ++i) {
      many.push_back({"files", "f" + std::to_string(i) + ".png", "x", "image/png"});
    }
    add("upload: more files than max_files_per_upload", "POST", U, MultipartBody(many), 400, "",
        kForm);
  }
  add("upload: unknown dataset", "POST", "/api/datasets/987654/files",
      MultipartBody({{"files", "a.png", png_, "image/png"}}), 404, "not found", kForm);
  add("upload: bad dataset id", "POST", "/api/datasets/abc/files",
      MultipartBody({{"files", "a.png", png_, "image/png"}}), 400, "invalid", kForm);
  add("upload: a filename of only dots", "POST", U,
      MultipartBody({{"files", "..", truncated_png, "image/png"}}), 400, "", kForm);

  // ---- ZIP archives
  const std::string Z = "/api/datasets/{dataset}/archive";
  const HttpHeaders kZip = {{"Content-Type", "application/zip"}};
  add("zip: empty body", "POST", Z, "", 400, "", kZip);
  add("zip: not a ZIP", "POST", Z, "PK but not really a zip", 400, "", kZip);
  add("zip: truncated", "POST", Z, RawZip({{"a.png", png_}}).substr(0, 60), 400, "", kZip);
  add("zip: no entries", "POST", Z, RawZip({}), 400, "", kZip);
  add("zip: only text", "POST", Z, RawZip({{"readme.txt", "hello"}}), 400, "", kZip);
  add("zip: slip with ../", "POST", Z, RawZip({{"../../evil.png", truncated_png}}), 400, "", kZip);
  add("zip: absolute entry", "POST", Z, RawZip({{"/etc/evil.png", truncated_png}}), 400, "", kZip);
  add("zip: corrupt image inside", "POST", Z, RawZip({{"bad.png", truncated_png}}), 400, "", kZip);
  add("zip: entry over max_file_mb", "POST", Z, RawZip({{"big.png", std::string(1100000, 'x')}}),
      400, "over the limit of 1048576 bytes per file", kZip);
  add("zip: in a form without the archive", "POST", Z, MultipartBody({{"note", "", "x"}}), 400, "",
      kForm);
  add("zip: unknown dataset", "POST", "/api/datasets/987654/archive", RawZip({{"a.png", png_}}),
      404, "not found", kZip);

  // ---- files
  add("file: id not a number", "GET", "/api/files/abc", "", 400, "invalid");
  add("file: unknown", "GET", "/api/files/987654", "", 404, "not found");
  add("file meta: unknown", "GET", "/api/files/987654/meta", "", 404, "not found");
  add("thumbnail: size too small", "GET", "/api/files/{file}/thumbnail?size=1", "", 400,
      "between 16 and 4096");
  add("thumbnail: size too large", "GET", "/api/files/{file}/thumbnail?size=100000", "", 400,
      "between 16 and 4096");
  add("thumbnail: size not a number", "GET", "/api/files/{file}/thumbnail?size=big", "", 400, "");
  add("thumbnail: unknown file", "GET", "/api/files/987654/thumbnail", "", 404, "");
  add("overlay: unknown file", "GET", "/api/files/987654/overlay", "", 404, "");

  // ---- jobs
  const std::string S = "/api/inferences/start";
  add("job: malformed JSON", "POST", S, "{\"dataset_id\": ", 400, "malformed JSON", kJson);
  add("job: no dataset", "POST", S, R"({"model_id": "tiny_cls"})", 400, "'dataset_id'", kJson);
  add("job: no model", "POST", S, Fill(R"({"dataset_id": {dataset}})"), 400, "'model_id'", kJson);
  add("job: dataset id a string", "POST", S, R"({"dataset_id": "one", "model_id": "tiny_cls"})",
      400, "dataset", kJson);
  add("job: dataset id a float", "POST", S, R"({"dataset_id": 1.5, "model_id": "tiny_cls"})", 400,
      "dataset", kJson);
  add("job: dataset id negative", "POST", S, R"({"dataset_id": -4, "model_id": "tiny_cls"})", 400,
      "dataset", kJson);
  add("job: model id a number", "POST", S, Fill(R"({"dataset_id": {dataset}, "model_id": 3})"), 400,
      "model", kJson);
  add("job: unknown dataset", "POST", S, R"({"dataset_id": 987654, "model_id": "tiny_cls"})", 404,
      "not found", kJson);
  add("job: unknown model", "POST", S,
      Fill(R"({"dataset_id": {dataset}, "model_id": "no_such_model"})"), 404, "no_such_model",
      kJson);
  add("job: unknown version", "POST", S,
      Fill(R"({"dataset_id": {dataset}, "model_id": "tiny_cls", "model_version": 77})"), 404, "",
      kJson);
  add("job: params an array", "POST", S,
      Fill(R"({"dataset_id": {dataset}, "model_id": "tiny_unet", "params": [1]})"), 400, "'params'",
      kJson);
  add("job: unknown runner param", "POST", S,
      Fill(R"({"dataset_id": {dataset}, "model_id": "tiny_unet", "params": {"nope": 1}})"), 400,
      "nope", kJson);
  add("job: ill-typed runner param", "POST", S,
      Fill(R"({"dataset_id": {dataset}, "model_id": "tiny_unet", "params": {"threshold": "x"}})"),
      400, "threshold", kJson);
  add("job: unknown field", "POST", S,
      Fill(R"({"dataset_id": {dataset}, "model_id": "tiny_cls", "priority": 1})"), 400,
      "unknown field 'priority'", kJson);
  add("job: get bad id", "GET", "/api/inferences/abc", "", 400, "invalid");
  add("job: get unknown", "GET", "/api/inferences/987654", "", 404, "not found");
  add("job: cancel unknown", "POST", "/api/inferences/987654/cancel", "", 404, "not found");
  add("job: retry unknown", "POST", "/api/inferences/987654/retry", "", 404, "not found");
  add("job: download unknown", "GET", "/api/inferences/987654/download", "", 404, "not found");
  add("job: export unknown", "GET", "/api/inferences/987654/export?format=coco", "", 404,
      "not found");
  add("job: export unknown format", "GET", "/api/inferences/{job}/export?format=pdf", "", 400,
      "pdf");
  add("job: export without a format", "GET", "/api/inferences/{job}/export", "", 400, "format");
  add("job: annotations from unknown job", "POST", "/api/inferences/987654/annotations", "{}", 404,
      "not found", kJson);
  add("job: annotations with bad JSON", "POST", "/api/inferences/{job}/annotations", "{", 400,
      "malformed JSON", kJson);
  add("job: list with a bad dataset filter", "GET", "/api/inferences?dataset_id=abc", "", 400, "");

  // ---- retraining
  const std::string R = "/api/retraining/start";
  add("retrain: malformed JSON", "POST", R, "{\"model_id\": ", 400, "malformed JSON", kJson);
  add("retrain: no model", "POST", R, Fill(R"({"annotation_set_ids": [{set}]})"), 400, "'model_id'",
      kJson);
  add("retrain: no sets", "POST", R, R"({"model_id": "tiny_unet"})", 400, "'annotation_set_ids'",
      kJson);
  add("retrain: sets not a list", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": {set}})"), 400,
      "'annotation_set_ids'", kJson);
  add("retrain: no set in the list", "POST", R,
      R"({"model_id": "tiny_unet", "annotation_set_ids": []})", 400, "'annotation_set_ids'", kJson);
  add("retrain: set id a string", "POST", R,
      R"({"model_id": "tiny_unet", "annotation_set_ids": ["one"]})", 400, "annotation set", kJson);
  add("retrain: set id negative", "POST", R,
      R"({"model_id": "tiny_unet", "annotation_set_ids": [-3]})", 400, "annotation set", kJson);
  add("retrain: model id a number", "POST", R,
      Fill(R"({"model_id": 3, "annotation_set_ids": [{set}]})"), 400, "model_id", kJson);
  add("retrain: unknown model", "POST", R,
      Fill(R"({"model_id": "no_such_model", "annotation_set_ids": [{set}]})"), 404, "no_such_model",
      kJson);
  add("retrain: unknown set", "POST", R,
      R"({"model_id": "tiny_unet", "annotation_set_ids": [987654]})", 404, "not found", kJson);
  add("retrain: a set twice", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{set}, {set}]})"), 400, "twice",
      kJson);
  add("retrain: a set without masks", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{set}]})"), 400, "no masks", kJson);
  add("retrain: params an array", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{set}], "params": [1]})"), 400,
      "'params'", kJson);
  add("retrain: unknown param", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{set}], "params": {"nope": 1}})"),
      400, "nope", kJson);
  add("retrain: ill-typed param", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{set}],
               "params": {"epochs": "many"}})"),
      400, "epochs", kJson);
  add("retrain: param out of range", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{set}],
               "params": {"lr": -1}})"),
      400, "lr", kJson);
  add("retrain: unknown field", "POST", R,
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{set}], "gpu": true})"), 400,
      "unknown field 'gpu'", kJson);
  add("retrain: get bad id", "GET", "/api/retraining/abc", "", 400, "invalid");
  add("retrain: get unknown", "GET", "/api/retraining/987654", "", 404, "not found");
  add("retrain: an inference's id", "GET", "/api/retraining/{job}", "", 404, "not found");
  add("retrain: cancel unknown", "POST", "/api/retraining/987654/cancel", "", 404, "not found");
  add("retrain: list with a bad status", "GET", "/api/retraining?status=done", "", 400, "");

  // ---- annotation sets
  const std::string A = "/api/datasets/{dataset}/annotations";
  add("set: malformed JSON", "POST", A, "{", 400, "malformed JSON", kJson);
  add("set: no name", "POST", A, R"({"kind": "semantic"})", 400, "'name'", kJson);
  add("set: no kind", "POST", A, R"({"name": "x"})", 400, "'kind'", kJson);
  add("set: unknown kind", "POST", A, R"({"name": "x", "kind": "boxes"})", 400, "boxes", kJson);
  add("set: labels not a list", "POST", A, R"({"name": "x", "kind": "semantic", "labels": 5})", 400,
      "labels", kJson);
  add("set: label id a string", "POST", A,
      R"({"name": "x", "kind": "semantic", "labels": [{"id": "1", "name": "a"}]})", 400, "", kJson);
  add("set: label id 0 (background)", "POST", A,
      R"({"name": "x", "kind": "semantic", "labels": [{"id": 0, "name": "a"}]})", 400, "", kJson);
  add("set: duplicate label ids", "POST", A,
      R"({"name": "x", "kind": "semantic", "labels": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]})",
      400, "", kJson);
  add("set: bad colour", "POST", A,
      R"({"name": "x", "kind": "semantic", "labels": [{"id": 1, "name": "a", "colour": "red"}]})",
      400, "colour", kJson);
  add("set: label id over 65535", "POST", A,
      R"({"name": "x", "kind": "semantic", "labels": [{"id": 70000, "name": "a"}]})", 400, "",
      kJson);
  add("set: unknown dataset", "POST", "/api/datasets/987654/annotations",
      R"({"name": "x", "kind": "semantic"})", 404, "not found", kJson);
  add("set: get bad id", "GET", "/api/annotations/abc", "", 400, "invalid");
  add("set: get unknown", "GET", "/api/annotations/987654", "", 404, "not found");
  add("set: delete unknown", "DELETE", "/api/annotations/987654", "", 404, "not found");
  const std::string M = "/api/annotations/{set}/images/{file}/mask";
  add("mask: none yet", "GET", M, "", 404, "");
  add("mask: unknown file", "GET", "/api/annotations/{set}/images/987654/mask", "", 404, "");
  add("mask: bad revision", "GET", M + "?revision=abc", "", 400, "revision");
  add("mask: put empty", "PUT", M, "", 400, "");
  add("mask: put text", "PUT", M, "not a png", 400, "", {{"Content-Type", "image/png"}});
  add("mask: put truncated PNG", "PUT", M, truncated_png, 400, "", {{"Content-Type", "image/png"}});
  add("mask: put RGB PNG", "PUT", M, png_, 400, "", {{"Content-Type", "image/png"}});
  add("mask: put PNG claiming 400 Mpx", "PUT", M, huge_png, 400, "",
      {{"Content-Type", "image/png"}});
  add("mask: put on unknown file", "PUT", "/api/annotations/{set}/images/987654/mask", png_, 404,
      "", {{"Content-Type", "image/png"}});
  add("mask: revisions of unknown set", "GET", "/api/annotations/987654/images/{file}/revisions",
      "", 404, "");
  const std::string I = "/api/annotations/{set}/import";
  add("import: not multipart", "POST", I, "{}", 400, "", kJson);
  add("import: no file", "POST", I, MultipartBody({{"format", "", "coco"}}), 400, "no file", kForm);
  add("import: unknown format", "POST", I,
      MultipartBody({{"format", "", "pdf"}, {"file", "a.json", "{}", "application/json"}}), 400,
      "pdf", kForm);
  add("import: malformed COCO", "POST", I,
      MultipartBody(
          {{"format", "", "coco"}, {"file", "a.json", "{\"images\": [", "application/json"}}),
      400, "", kForm);
  add("import: COCO with unknown images", "POST", I,
      MultipartBody({{"format", "", "coco"},
                     {"file", "a.json",
                      R"({"images": [{"id": 1, "file_name": "nope.png", "width": 64, "height": 64}],
                          "categories": [{"id": 1, "name": "cell"}],
                          "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                           "segmentation": [[1,1,10,1,10,10]], "iscrowd": 0}]})",
                      "application/json"}}),
      400, "nope.png", kForm);
  add("import: COCO RLE not summing", "POST", I,
      MultipartBody({{"format", "", "coco"},
                     {"file", "a.json",
                      R"({"images": [{"id": 1, "file_name": "disk.png", "width": 64, "height": 64}],
                          "categories": [{"id": 1, "name": "cell"}],
                          "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                           "segmentation": {"size": [64, 64], "counts": [5, 7]},
                                           "iscrowd": 1}]})",
                      "application/json"}}),
      400, "", kForm);
  add("import: CVAT XML with a DOCTYPE (XXE)", "POST", I,
      MultipartBody({{"format", "", "cvat_xml"},
                     {"file", "a.xml",
                      "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM "
                      "\"file:///etc/passwd\">]><annotations>&e;</annotations>",
                      "application/xml"}}),
      400, "", kForm);
  add("import: malformed CVAT XML", "POST", I,
      MultipartBody(
          {{"format", "", "cvat_xml"}, {"file", "a.xml", "<annotations><image", "text/xml"}}),
      400, "", kForm);
  add("import: CVAT ZIP slip", "POST", I,
      MultipartBody({{"format", "", "cvat_seg_zip"},
                     {"file", "a.zip", RawZip({{"../labelmap.txt", "x"}}), "application/zip"}}),
      400, "", kForm);
  add("import: label image of the wrong shape", "POST", I,
      MultipartBody(
          {{"format", "", "label_images"}, {"file", "disk_mask.png", LyingPng(3, 3), "image/png"}}),
      400, "", kForm);
  add("export: unknown format", "GET", "/api/annotations/{set}/export?format=docx", "", 400,
      "docx");
  add("export: unknown set", "GET", "/api/annotations/987654/export?format=coco", "", 404, "");

  // ---- active learning: POST /api/datasets/{id}/rank
  const std::string RK = "/api/datasets/{dataset}/rank";
  add("rank: malformed JSON", "POST", RK, "{", 400, "malformed JSON", kJson);
  add("rank: a JSON array", "POST", RK, "[]", 400, "JSON object", kJson);
  add("rank: no strategy", "POST", RK, R"({"model_id": "tiny_unet"})", 400, "'strategy'", kJson);
  add("rank: unknown strategy", "POST", RK, R"({"model_id": "tiny_unet", "strategy": "margin"})",
      400, "uncertainty, tta, random, first", kJson);
  add("rank: strategy a number", "POST", RK, R"({"strategy": 1})", 400, "'strategy'", kJson);
  add("rank: uncertainty without a model", "POST", RK, R"({"strategy": "uncertainty"})", 400,
      "model_id", kJson);
  add("rank: model_id a number", "POST", RK, R"({"model_id": 5, "strategy": "tta"})", 400,
      "model_id", kJson);
  add("rank: unknown model", "POST", RK, R"({"model_id": "nope", "strategy": "uncertainty"})", 404,
      "nope", kJson);
  add("rank: unknown dataset", "POST", "/api/datasets/987654/rank", R"({"strategy": "first"})", 404,
      "not found", kJson);
  add("rank: bad dataset id", "POST", "/api/datasets/abc/rank", R"({"strategy": "first"})", 400,
      "invalid", kJson);
  add("rank: unknown set", "POST", RK, R"({"strategy": "first", "annotation_set_id": 987654})", 404,
      "not found", kJson);
  add("rank: set id a string of letters", "POST", RK,
      R"({"strategy": "first", "annotation_set_id": "x"})", 400, "annotation set", kJson);
  add("rank: limit 0", "POST", RK, R"({"strategy": "first", "limit": 0})", 400, "'limit'", kJson);
  add("rank: limit a string", "POST", RK, R"({"strategy": "first", "limit": "5"})", 400, "'limit'",
      kJson);
  add("rank: negative seed", "POST", RK, R"({"strategy": "random", "seed": -1})", 400, "'seed'",
      kJson);
  add("rank: seed a float", "POST", RK, R"({"strategy": "random", "seed": 1.5})", 400, "'seed'",
      kJson);
  add("rank: params an array", "POST", RK,
      R"({"model_id": "tiny_unet", "strategy": "uncertainty", "params": [1]})", 400, "'params'",
      kJson);
  add("rank: unknown runner param", "POST", RK,
      R"({"model_id": "tiny_unet", "strategy": "uncertainty", "params": {"nope": 1}})", 400, "nope",
      kJson);
  add("rank: unknown field", "POST", RK, R"({"strategy": "first", "order": "desc"})", 400,
      "unknown field 'order'", kJson);

  // ---- sign-in, users, keys, model upload (as an admin)
  add("login: malformed JSON", "POST", "/api/auth/login", "{", 400, "malformed JSON", kJson);
  add("login: no password", "POST", "/api/auth/login", R"({"username": "admin"})", 400,
      "'password'", kJson);
  add("login: username a number", "POST", "/api/auth/login", R"({"username": 1, "password": "x"})",
      400, "'username'", kJson);
  add("refresh: no token", "POST", "/api/auth/refresh", "{}", 400, "'refresh_token'", kJson);
  add("refresh: a garbage token", "POST", "/api/auth/refresh", R"({"refresh_token": "abc"})", 401,
      "", kJson);
  add("keys: name a number", "POST", "/api/auth/keys", R"({"name": 5})", 400, "'name'", kJson);
  add("keys: malformed JSON", "POST", "/api/auth/keys", "{", 400, "malformed JSON", kJson);
  add("keys: revoke bad id", "DELETE", "/api/auth/keys/abc", "", 400, "invalid");
  add("keys: revoke unknown", "DELETE", "/api/auth/keys/987654", "", 404, "");
  add("users: malformed JSON", "POST", "/api/users", "{", 400, "malformed JSON", kJson);
  add("users: no password", "POST", "/api/users", R"({"username": "zed"})", 400, "password", kJson);
  add("users: unknown role", "POST", "/api/users",
      R"({"username": "zed", "password": "zed-password", "role": "root"})", 400, "role", kJson);
  add("users: username with a slash", "POST", "/api/users",
      R"({"username": "../zed", "password": "zed-password"})", 400, "username", kJson);
  add("users: taken username", "POST", "/api/users",
      R"({"username": "admin", "password": "other-password"})", 409, "", kJson);
  add("users: disable unknown", "POST", "/api/users/987654/disable", "", 404, "");
  add("users: password too short", "POST", "/api/users/1/password", R"({"password": "x"})", 400,
      "password", kJson);
  const std::string MU = "/api/models/upload";
  add("model upload: not multipart", "POST", MU, "{}", 400, "", kJson);
  add("model upload: no name", "POST", MU,
      MultipartBody({{"model", "m.pt", "not torchscript", "application/octet-stream"}}), 400,
      "'name'", kForm);
  add("model upload: no model file", "POST", MU, MultipartBody({{"name", "", "m1"}}), 400,
      "'model'", kForm);
  add("model upload: a traversal name", "POST", MU,
      MultipartBody({{"name", "", "../evil"}, {"model", "m.pt", "x", "application/octet-stream"}}),
      400, "name", kForm);
  add("model upload: not TorchScript", "POST", MU,
      MultipartBody({{"name", "", "junk_model"},
                     {"model", "m.pt", "definitely not a zip", "application/octet-stream"},
                     {"runner", "", "classify"}}),
      400, "", kForm);
  add("model upload: unknown runner", "POST", MU,
      MultipartBody({{"name", "", "junk_model2"},
                     {"model", "m.pt", "x", "application/octet-stream"},
                     {"runner", "", "no_such_runner"}}),
      400, "no_such_runner", kForm);
  add("model upload: unknown field", "POST", MU,
      MultipartBody({{"name", "", "junk_model3"}, {"colour", "", "red"}}), 400, "colour", kForm);
  const std::string MA = "/api/models/tiny_cls/versions/";
  add("model activate: version not a number", "POST", MA + "x/activate", "", 400, "model version");
  add("model activate: version zero", "POST", MA + "0/activate", "", 400, "model version");
  add("model activate: negative version", "POST", MA + "-1/activate", "", 400, "model version");
  add("model activate: version too large", "POST", MA + "99999999999999999999/activate", "", 400,
      "model version");
  add("model activate: unknown version", "POST", MA + "42/activate", "", 404, "version 42");
  add("model activate: unknown model", "POST", "/api/models/no_such_model/versions/1/activate", "",
      404, "no_such_model");
  add("model activate: a traversal name", "POST", "/api/models/..%2F..%2Fetc/versions/1/activate",
      "", 404, "");
  add("model activate: a bad name", "POST", "/api/models/bad%20name/versions/1/activate", "", 400,
      "model name");
  add("model: unknown model", "GET", "/api/models/no_such_model", "", 404, "no_such_model");

  // ---- the mask PUT's instance classes (X-Infera-Classes)
  const std::string IM = "/api/annotations/{iset}/images/{file}/mask";
  StatusOr<Image> disk = DecodeImage(std::as_bytes(std::span(png_.data(), png_.size())));
  Image instance_mask =
      MakeImage(disk.ok() ? disk->width : 1, disk.ok() ? disk->height : 1, 1, PixelType::kUInt8);
  instance_mask.pixels<uint8_t>()[0] = 1;  // instance 1
  StatusOr<std::vector<std::byte>> one_png = EncodePng(instance_mask);
  const std::string mask_png =
      one_png.ok() ? std::string(reinterpret_cast<const char*>(one_png->data()), one_png->size())
                   : std::string();
  auto classes = [](std::string value) {
    return HttpHeaders{{"Content-Type", "image/png"}, {"X-Infera-Classes", std::move(value)}};
  };
  add("classes: not JSON", "PUT", IM, mask_png, 400, "X-Infera-Classes is not JSON",
      classes("{1: 1"));
  add("classes: a list", "PUT", IM, mask_png, 400, "must be an object", classes("[1]"));
  add("classes: a class name", "PUT", IM, mask_png, 400, "not a label id",
      classes(R"({"1": "cell"})"));
  add("classes: a fractional class", "PUT", IM, mask_png, 400, "not a label id",
      classes(R"({"1": 1.5})"));
  add("classes: class 0", "PUT", IM, mask_png, 400, "not a label id", classes(R"({"1": 0})"));
  add("classes: instance id not a number", "PUT", IM, mask_png, 400, "not an instance id",
      classes(R"({"first": 1})"));
  add("classes: instance id 0", "PUT", IM, mask_png, 400, "not an instance id",
      classes(R"({"0": 1})"));
  add("classes: unknown class", "PUT", IM, mask_png, 400, "not in the set's label map",
      classes(R"({"1": 2})"));
  add("classes: instance not in the mask", "PUT", IM, mask_png, 400,
      "instance 5 is not in the mask", classes(R"({"5": 1})"));
  add("classes: on a semantic set", "PUT", M, mask_png, 400, "applies to instance sets",
      classes(R"({"1": 1})"));

  // ---- DICOM modality values (GET /api/files/{id}/values)
  add("values: a PNG file", "GET", "/api/files/{file}/values", "", 400, "is not DICOM");
  add("values: bad id", "GET", "/api/files/abc/values", "", 400, "invalid");
  add("values: unknown file", "GET", "/api/files/987654/values", "", 404, "not found");
  // ---- image labels (annotation sets of kind image_labels)
  const std::string IL = "/api/annotations/{labels}/images/{file}/label";
  add("labels set: no labels", "POST", "/api/datasets/{dataset}/annotations",
      R"({"name": "empty", "kind": "image_labels"})", 400, "at least one label", kJson);
  add("labels set: unknown kind", "POST", "/api/datasets/{dataset}/annotations",
      R"({"name": "x", "kind": "tags", "labels": []})", 400, "image_labels", kJson);
  add("label: malformed JSON", "PUT", IL, "{", 400, "malformed JSON", kJson);
  add("label: a JSON array", "PUT", IL, "[1]", 400, "JSON object", kJson);
  add("label: missing", "PUT", IL, "{}", 400, "'label' is required", kJson);
  add("label: unknown label id", "PUT", IL, R"({"label": 9})", 400,
      "label 9 is not in the set's label map (its labels: 1 disk)", kJson);
  add("label: id zero", "PUT", IL, R"({"label": 0})", 400, "not in the set's label map", kJson);
  add("label: id negative", "PUT", IL, R"({"label": -1})", 400, "not in the set's label map",
      kJson);
  add("label: id huge", "PUT", IL, R"({"label": 99999999999})", 400, "not in the set's label map",
      kJson);
  add("label: a name", "PUT", IL, R"({"label": "disk"})", 400, "'label' must be a label id", kJson);
  add("label: a float", "PUT", IL, R"({"label": 1.5})", 400, "'label' must be a label id", kJson);
  add("label: unknown field", "PUT", IL, R"({"label": 1, "why": "x"})", 400, "unknown field 'why'",
      kJson);
  add("label: unknown file", "PUT", "/api/annotations/{labels}/images/987654/label",
      R"({"label": 1})", 404, "file 987654", kJson);
  add("label: unknown set", "PUT", "/api/annotations/987654/images/{file}/label", R"({"label": 1})",
      404, "annotation set 987654", kJson);
  add("label: on a mask set", "PUT", "/api/annotations/{set}/images/{file}/label",
      R"({"label": 1})", 400, "it holds masks, not image labels", kJson);
  add("label: read on a mask set", "GET", "/api/annotations/{set}/images/{file}/label", "", 400,
      "it holds masks");
  add("label: mask read on a labels set", "GET", "/api/annotations/{labels}/images/{file}/mask", "",
      400, "is of kind image_labels");
  add("label: mask write on a labels set", "PUT", "/api/annotations/{labels}/images/{file}/mask",
      png_, 400, "is of kind image_labels", {{"Content-Type", "image/png"}});
  add("label: assist on a labels set", "POST", "/api/annotations/{labels}/images/{file}/assist",
      R"({"tool": "grabcut", "box": [0, 0, 4, 4]})", 400, "is of kind image_labels", kJson);
  add("labels export: a mask format", "GET", "/api/annotations/{labels}/export?format=coco", "",
      400, "labels_csv");
  add("labels export: no format", "GET", "/api/annotations/{labels}/export", "", 400, "labels_csv");
  add("mask export: labels_csv", "GET", "/api/annotations/{set}/export?format=labels_csv", "", 400,
      "image_labels");
  add("labels import: a mask format", "POST", "/api/annotations/{labels}/import",
      MultipartBody({{"file", "l.csv", "disk.png,disk\n", "text/csv"}, {"format", "", "coco", ""}}),
      400, "its import format is labels_csv", kForm);
  add("labels import: no file", "POST", "/api/annotations/{labels}/import",
      MultipartBody({{"format", "", "labels_csv", ""}}), 400, "no file", kForm);
  add("labels import: unknown image", "POST", "/api/annotations/{labels}/import",
      MultipartBody({{"file", "l.csv", "nope.png,disk\n", "text/csv"}}), 400,
      "no image 'nope.png' in the dataset", kForm);
  add("labels import: unknown label", "POST", "/api/annotations/{labels}/import",
      MultipartBody({{"file", "l.csv", "disk.png,cat\n", "text/csv"}}), 400,
      "label 'cat' is not in the set's label map", kForm);
  add("labels import: binary", "POST", "/api/annotations/{labels}/import",
      MultipartBody({{"file", "l.csv", png_, "text/csv"}}), 400, "", kForm);
  add("retrain: labels set for a segmenter", "POST", "/api/retraining/start",
      Fill(R"({"model_id": "tiny_unet", "annotation_set_ids": [{labels}]})"), 400,
      "train only classifiers", kJson);
  add("retrain: labels set without labels", "POST", "/api/retraining/start",
      Fill(R"({"model_id": "tiny_cls", "annotation_set_ids": [{labels}]})"), 400,
      "has no labelled images", kJson);
  add("retrain: mask set for a classifier", "POST", "/api/retraining/start",
      Fill(R"({"model_id": "tiny_cls", "annotation_set_ids": [{set}]})"), 400,
      "use a set of kind image_labels", kJson);
  // ---- DICOM SEG export: GET /api/inferences/{id}/export?format=dicom_seg (issue 21)
  const std::string DS = "/api/inferences/{job}/export";
  add("dicom seg: a job not on DICOM input", "GET", DS + "?format=dicom_seg", "", 400,
      "did not run on DICOM input");
  add("dicom seg: no format", "GET", DS, "", 400, "'format' is required");
  add("dicom seg: unknown format", "GET", DS + "?format=nifti", "", 400, "unknown format 'nifti'");
  add("dicom seg: empty format", "GET", DS + "?format=", "", 400, "format");
  add("dicom seg: unknown job", "GET", "/api/inferences/987654/export?format=dicom_seg", "", 404,
      "not found");
  add("dicom seg: bad id", "GET", "/api/inferences/abc/export?format=dicom_seg", "", 400,
      "invalid");
  add("dicom seg: negative id", "GET", "/api/inferences/-3/export?format=dicom_seg", "", 400,
      "invalid");
  // ---- DICOMweb import and export (issue 21)
  const std::string DW = "/api/datasets/{dataset}/import/dicomweb";
  const std::string kPacs = R"("url": "http://127.0.0.1:9/dicom-web")";
  add("dicomweb: no body fields", "POST", DW, "{}", 400, "'url'", kJson);
  add("dicomweb: not JSON", "POST", DW, "{", 400, "", kJson);
  add("dicomweb: url a number", "POST", DW, R"({"url": 3, "study_uid": "1.2"})", 400, "'url'",
      kJson);
  add("dicomweb: ftp url", "POST", DW, R"({"url": "ftp://pacs/x", "study_uid": "1.2"})", 400,
      "http", kJson);
  add("dicomweb: https url", "POST", DW, R"({"url": "https://pacs/x", "study_uid": "1.2"})", 400,
      "TLS", kJson);
  add("dicomweb: credentials in the url", "POST", DW,
      R"({"url": "http://bob:pw@pacs/x", "study_uid": "1.2"})", 400, "credentials", kJson);
  add("dicomweb: url with a query", "POST", DW,
      R"({"url": "http://pacs/x?a=1", "study_uid": "1.2"})", 400, "query", kJson);
  add("dicomweb: bad port", "POST", DW, R"({"url": "http://pacs:99999/x", "study_uid": "1.2"})",
      400, "port", kJson);
  add("dicomweb: no uid", "POST", DW, "{" + kPacs + "}", 400, "study_uid", kJson);
  add("dicomweb: uid not a UID", "POST", DW, "{" + kPacs + R"(, "study_uid": "1.2/../x"})", 400,
      "study_uid", kJson);
  add("dicomweb: series uid a number", "POST", DW, "{" + kPacs + R"(, "series_uid": 12})", 400,
      "series_uid", kJson);
  add("dicomweb: unknown field", "POST", DW, "{" + kPacs + R"(, "study_uid": "1.2", "x": 1})", 400,
      "unknown field", kJson);
  add("dicomweb: auth a string", "POST", DW,
      "{" + kPacs + R"(, "study_uid": "1.2", "auth": "secret"})", 400, "'auth'", kJson);
  add("dicomweb: auth unknown type", "POST", DW,
      "{" + kPacs + R"(, "study_uid": "1.2", "auth": {"type": "digest"}})", 400, "auth.type",
      kJson);
  add("dicomweb: basic without password", "POST", DW,
      "{" + kPacs + R"(, "study_uid": "1.2", "auth": {"type": "basic", "username": "a"}})", 400,
      "auth.password", kJson);
  add("dicomweb: bearer with a password", "POST", DW,
      "{" + kPacs +
          R"(, "study_uid": "1.2", "auth": {"type": "bearer", "token": "t", "password": "p"}})",
      400, "auth.password", kJson);
  add("dicomweb: anonymize a string", "POST", DW,
      "{" + kPacs + R"(, "study_uid": "1.2", "anonymize": "yes"})", 400, "anonymize", kJson);
  add("dicomweb: unknown dataset", "POST", "/api/datasets/987654/import/dicomweb",
      "{" + kPacs + R"(, "study_uid": "1.2"})", 404, "not found", kJson);
  add("dicomweb: bad dataset id", "POST", "/api/datasets/abc/import/dicomweb",
      "{" + kPacs + R"(, "study_uid": "1.2"})", 400, "invalid", kJson);
  add("dicomweb: get bad id", "GET", "/api/dicomweb/imports/abc", "", 400, "invalid");
  add("dicomweb: get unknown", "GET", "/api/dicomweb/imports/987654", "", 404, "not found");
  add("dicomweb: an inference's id", "GET", "/api/dicomweb/imports/{job}", "", 404, "not found");
  add("dicomweb: cancel unknown", "POST", "/api/dicomweb/imports/987654/cancel", "", 404,
      "not found");
  add("dicomweb: list with a bad status", "GET", "/api/dicomweb/imports?status=done", "", 400, "");
  add("dicomweb: list with a bad dataset", "GET", "/api/dicomweb/imports?dataset_id=x", "", 400,
      "invalid");
  const std::string EX = "/api/inferences/{job}/export/dicomweb";
  add("dicomweb export: no url", "POST", EX, "{}", 400, "'url'", kJson);
  add("dicomweb export: bad url", "POST", EX, R"({"url": "gopher://x"})", 400, "http", kJson);
  add("dicomweb export: bad role", "POST", EX, "{" + kPacs + R"(, "role": "../x"})", 400, "'role'",
      kJson);
  add("dicomweb export: unknown field", "POST", EX, "{" + kPacs + R"(, "study_uid": "1.2"})", 400,
      "unknown field", kJson);
  add("dicomweb export: unknown inference", "POST", "/api/inferences/987654/export/dicomweb",
      "{" + kPacs + "}", 404, "not found", kJson);
  add("dicomweb export: no DICOM results", "POST", EX, "{" + kPacs + "}", 409, "no DICOM files",
      kJson);
  // ---- a classification job's labels_csv export (tidy): {job} is tiny_unet's (masks).
  add("job labels_csv: a segmentation job", "GET", "/api/inferences/{job}/export?format=labels_csv",
      "", 400, "not a classification job");
  add("job labels_csv: unknown job", "GET", "/api/inferences/987654/export?format=labels_csv", "",
      404, "not found");
  // ---- retraining a custom_tiff model: labels beyond its K output channels (issue 18)
  add("retrain: custom_tiff set labels beyond K", "POST", "/api/retraining/start",
      Fill(R"({"model_id": "tiff_classes", "annotation_set_ids": [{wide}]})"), 400,
      "has label 3 ('debris') but model 'tiff_classes' outputs K = 3 classes", kJson);
  // ---- the job export's formats, one table (jobpage): the 400s name every one.
  add("job export: unknown format lists them all", "GET", "/api/inferences/{job}/export?format=x",
      "", 400, "cvat_seg_zip, dicom_seg, labels_csv)");
  add("job export: no format lists them all", "GET", "/api/inferences/{job}/export", "", 400,
      "'format' is required (label_images, coco, cvat_xml, cvat_seg_zip, dicom_seg, labels_csv)");
  // ---- retraining a multiclass_argmax model without a labels file: labels beyond K
  add("retrain: multiclass_argmax set labels beyond K", "POST", "/api/retraining/start",
      Fill(R"({"model_id": "multiclass_nolabels", "annotation_set_ids": [{wide}]})"), 400,
      "has label 3 ('debris') but model 'multiclass_nolabels' outputs K = 3 classes", kJson);
  return t;
}

TEST_F(BadInputTableTest, EveryBadInputGetsItsJsonErrorAndNothingIsLost) {
  MakeRecords();
  ASSERT_FALSE(HasFailure());
  // The job ends (WaitForJob sends no token; this server wants one).
  json job;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    job = json::parse(Admin("GET", "/api/inferences/" + std::to_string(job_)).body, nullptr, false);
    if (job.value("status", "") != "queued" && job.value("status", "") != "running") break;
  }
  ASSERT_EQ(job.value("status", ""), "completed") << job.dump();
  const std::vector<BadInput> table = Table();
  EXPECT_GE(table.size(), 230u);  // the families below, each of many rows
  for (const BadInput& row : table) {
    SCOPED_TRACE(row.name + ": " + row.method + " " + row.target.substr(0, 80));
    HttpResponse r = Admin(row.method, Fill(row.target), row.body, row.headers);
    ASSERT_GT(r.status, 0) << "no answer";
    EXPECT_EQ(r.status, row.status) << r.body.substr(0, 400);
    const json body = json::parse(r.body, nullptr, false);
    const bool json_error = body.is_object() && body.contains("error") &&
                            body["error"].is_string() && !body["error"].get<std::string>().empty();
    EXPECT_TRUE(json_error) << "not a JSON error: " << r.body.substr(0, 200);
    EXPECT_THAT(r.headers["content-type"], ::testing::HasSubstr("application/json"));
    if (!row.says.empty()) {
      EXPECT_THAT(r.body, ::testing::HasSubstr(row.says));
    }
  }

  // Nothing held before is lost or changed.
  HttpResponse dataset = Admin("GET", "/api/datasets/" + std::to_string(dataset_));
  ASSERT_EQ(dataset.status, 200) << dataset.body;
  EXPECT_EQ(json::parse(dataset.body)["files"].size(), 1u) << dataset.body;
  HttpResponse file = Admin("GET", "/api/files/" + std::to_string(file_));
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, png_);
  HttpResponse after = Admin("GET", "/api/inferences/" + std::to_string(job_));
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(json::parse(after.body)["status"], "completed");
  EXPECT_EQ(Admin("GET", "/api/inferences/" + std::to_string(job_) + "/download").status, 200);
  HttpResponse set = Admin("GET", "/api/annotations/" + std::to_string(set_));
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["name"], "truth");
  HttpResponse iset = Admin("GET", "/api/annotations/" + std::to_string(iset_));
  ASSERT_EQ(iset.status, 200) << iset.body;
  EXPECT_EQ(json::parse(iset.body)["mask_count"], 0) << iset.body;  // no refused PUT wrote
  HttpResponse datasets = Admin("GET", "/api/datasets");
  EXPECT_EQ(json::parse(datasets.body)["datasets"].size(), 1u) << datasets.body;
  EXPECT_EQ(Get("/v2/health/ready").status, 200);
}

}  // namespace
}  // namespace infera::testing
