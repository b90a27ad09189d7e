// Tests for the Open Inference Protocol codec, written from the protocol text
// (/work/shared/reference/open-inference-protocol.md, b.3-b.8).
#include "api/oip/inference_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/strings.h"

namespace infera {
namespace {

using ::absl::StatusCode;

StatusOr<OipRequest> Decode(std::string body, const OipLimits& limits = {}) {
  return DecodeInferRequest(body, std::nullopt, limits);
}

// Builds a body of JSON header + binary bytes and decodes it with the header length.
StatusOr<OipRequest> DecodeBinary(const std::string& json, const std::string& binary,
                                  const OipLimits& limits = {}) {
  std::string body = json + binary;
  return DecodeInferRequest(body, json.size(), limits);
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  std::vector<T> out(static_cast<size_t>(t.num_elements()));
  if (!out.empty()) std::memcpy(out.data(), t.data(), t.byte_size());
  return out;
}

std::string OneInput(std::string_view datatype, std::string_view shape, std::string_view data) {
  return StrCat(R"({"inputs":[{"name":"x","shape":)", shape, R"(,"datatype":")", datatype,
                R"(","data":)", data, "}]}");
}

#define EXPECT_STATUS(expr, code_, fragment)                                                \
  do {                                                                                      \
    const auto& st_ = (expr);                                                               \
    EXPECT_EQ(st_.status().code(), (code_)) << st_.status();                                \
    EXPECT_NE(std::string(ToStd(st_.status().message())).find(fragment), std::string::npos) \
        << "message: " << st_.status().message() << "\nexpected fragment: " << (fragment);  \
  } while (0)

// --- The spec's example request (b.3), with erratum 1 fixed (BOOL shape [3], 3 values).

TEST(OipDecodeTest, SpecExampleRequest) {
  const std::string body = R"({
    "id" : "42",
    "inputs" : [
      { "name" : "input0", "shape" : [ 2, 2 ], "datatype" : "UINT32",
        "data" : [ 1, 2, 3, 4 ] },
      { "name" : "input1", "shape" : [ 3 ], "datatype" : "BOOL",
        "data" : [ true, false, true ] }
    ],
    "outputs" : [ { "name" : "output0" } ]
  })";
  auto req = Decode(body);
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_TRUE(req->id.has_value());
  EXPECT_EQ(*req->id, "42");
  ASSERT_EQ(req->inputs.size(), 2u);
  EXPECT_EQ(req->inputs[0].name, "input0");
  EXPECT_EQ(req->inputs[0].tensor.dtype(), DType::kUInt32);
  EXPECT_EQ(req->inputs[0].tensor.shape(), (Shape{2, 2}));
  EXPECT_EQ(Values<uint32_t>(req->inputs[0].tensor), (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(req->inputs[1].tensor.dtype(), DType::kBool);
  EXPECT_EQ(req->inputs[1].tensor.byte_size(), 3u);
  EXPECT_EQ(Values<uint8_t>(req->inputs[1].tensor), (std::vector<uint8_t>{1, 0, 1}));
  ASSERT_EQ(req->outputs.size(), 1u);
  EXPECT_EQ(req->outputs[0].name, "output0");
  EXPECT_TRUE(req->outputs[0].parameters.is_object());
  EXPECT_TRUE(req->parameters.is_object());
  EXPECT_TRUE(req->parameters.empty());
}

TEST(OipDecodeTest, SpecExampleErratumIsRejected) {
  // Erratum 1 as printed: shape [3] with one value.
  EXPECT_STATUS(Decode(OneInput("BOOL", "[3]", "[true]")), StatusCode::kInvalidArgument,
                "input 'x': shape [3] needs 3 elements, data has 1");
}

TEST(OipDecodeTest, IdAndParametersAreOptionalAndKept) {
  auto req = Decode(R"({"parameters":{"priority":1,"binary_data_output":true,"tag":"a"},
      "inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[7],
                 "parameters":{"note":"n"}}],
      "outputs":[{"name":"y","parameters":{"binary_data":true}},{"name":"z"}]})");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_FALSE(req->id.has_value());
  EXPECT_EQ(req->parameters["priority"], 1);
  EXPECT_EQ(req->parameters["binary_data_output"], true);
  EXPECT_EQ(req->parameters["tag"], "a");
  EXPECT_EQ(req->inputs[0].parameters["note"], "n");
  ASSERT_EQ(req->outputs.size(), 2u);
  EXPECT_EQ(req->outputs[0].parameters["binary_data"], true);
  EXPECT_EQ(req->outputs[1].name, "z");
}

TEST(OipDecodeTest, NoOutputsMeansAll) {
  auto req = Decode(OneInput("INT32", "[1]", "[1]"));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_TRUE(req->outputs.empty());
}

// --- Flat and nested data.

TEST(OipDecodeTest, FlatAndNestedDataDecodeTheSame) {
  auto flat = Decode(OneInput("FP32", "[2,3]", "[1,2,3,4,5,6.5]"));
  auto nested = Decode(OneInput("FP32", "[2,3]", "[[1,2,3],[4,5,6.5]]"));
  ASSERT_TRUE(flat.ok()) << flat.status();
  ASSERT_TRUE(nested.ok()) << nested.status();
  const std::vector<float> want = {1, 2, 3, 4, 5, 6.5f};
  EXPECT_EQ(Values<float>(flat->inputs[0].tensor), want);
  EXPECT_EQ(Values<float>(nested->inputs[0].tensor), want);
  EXPECT_EQ(nested->inputs[0].tensor.shape(), (Shape{2, 3}));
}

TEST(OipDecodeTest, DeeplyNestedRowMajor) {
  auto req = Decode(OneInput("INT64", "[2,2,2]", "[[[1,2],[3,4]],[[5,6],[7,8]]]"));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(Values<int64_t>(req->inputs[0].tensor), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(OipDecodeTest, EmptyTensors) {
  auto zero = Decode(OneInput("FP32", "[0]", "[]"));
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->inputs[0].tensor.num_elements(), 0);
  auto zero_inner = Decode(OneInput("FP32", "[2,0]", "[[],[]]"));
  ASSERT_TRUE(zero_inner.ok()) << zero_inner.status();
  EXPECT_EQ(zero_inner->inputs[0].tensor.shape(), (Shape{2, 0}));
  auto scalar = Decode(OneInput("INT32", "[]", "[5]"));
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(Values<int32_t>(scalar->inputs[0].tensor), (std::vector<int32_t>{5}));
}

TEST(OipDecodeTest, ShapeDataCountMismatchBothDirections) {
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,3]", "[1,2,3,4,5]")), StatusCode::kInvalidArgument,
                "input 'x': shape [2,3] needs 6 elements, data has 5");
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,3]", "[1,2,3,4,5,6,7]")), StatusCode::kInvalidArgument,
                "input 'x': shape [2,3] needs 6 elements, data has 7");
  EXPECT_STATUS(Decode(OneInput("FP32", "[2]", "[]")), StatusCode::kInvalidArgument,
                "needs 2 elements, data has 0");
}

TEST(OipDecodeTest, NestingMismatch) {
  // Wrong outer length.
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,3]", "[[1,2,3]]")), StatusCode::kInvalidArgument,
                "nested data does not match shape [2,3]");
  // Ragged rows.
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,3]", "[[1,2,3],[4,5]]")), StatusCode::kInvalidArgument,
                "nested data does not match shape [2,3]");
  // Right element count, wrong natural shape.
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,3]", "[[1,2],[3,4],[5,6]]")),
                StatusCode::kInvalidArgument, "nested data does not match shape [2,3]");
  // Scalar where a row is expected.
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,2]", "[[1,2],3]")), StatusCode::kInvalidArgument,
                "nested data does not match shape [2,2]");
  // Deeper than the shape.
  EXPECT_STATUS(Decode(OneInput("FP32", "[1,2]", "[[[1],[2]]]")), StatusCode::kInvalidArgument,
                "nested data does not match shape [1,2]");
  // Shallower than the shape but with the right count at the top: flat data of 2 for [2,1]
  // is fine, but a mix of arrays and scalars is not.
  EXPECT_STATUS(Decode(OneInput("FP32", "[3]", "[1,[2],3]")), StatusCode::kInvalidArgument,
                "input 'x': data element 1 is an array");
  // A tiny body claiming a large shape is refused before allocating.
  EXPECT_STATUS(Decode(OneInput("UINT8", "[1,16000000]", "[[1]]")), StatusCode::kInvalidArgument,
                "has 1 elements, dimension 1 is 16000000");
}

std::string NestedOnes(int depth) {
  std::string shape = "[", data;
  for (int i = 0; i < depth; ++i) shape += i ? ",1" : "1";
  shape += "]";
  data = std::string(static_cast<size_t>(depth), '[') + "1" + std::string(depth, ']');
  return OneInput("INT32", shape, data);
}

TEST(OipDecodeTest, DepthLimit) {
  auto at_limit = Decode(NestedOnes(100));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->inputs[0].tensor.shape().size(), 100u);
  EXPECT_STATUS(Decode(NestedOnes(101)), StatusCode::kInvalidArgument, "nests too deeply");
  OipLimits small;
  small.max_json_depth = 2;
  EXPECT_TRUE(Decode(NestedOnes(2), small).ok());
  EXPECT_STATUS(Decode(NestedOnes(3), small), StatusCode::kInvalidArgument, "nests too deeply");
  // Deep nesting anywhere in the document counts too.
  std::string deep_params = R"({"parameters":{"a":)" + std::string(200, '[') +
                            std::string(200, ']') + R"(},"inputs":[]})";
  EXPECT_STATUS(Decode(deep_params), StatusCode::kInvalidArgument, "nests too deeply");
}

// --- Datatypes (b.6).

TEST(OipDecodeTest, EveryIntegerDatatypeAndItsRange) {
  struct Case {
    const char* dtype;
    const char* min_ok;
    const char* max_ok;
    const char* below;
    const char* above;
  };
  const Case cases[] = {
      {"UINT8", "0", "255", "-1", "256"},
      {"UINT16", "0", "65535", "-1", "65536"},
      {"UINT32", "0", "4294967295", "-1", "4294967296"},
      {"UINT64", "0", "18446744073709551615", "-1", nullptr},
      {"INT8", "-128", "127", "-129", "128"},
      {"INT16", "-32768", "32767", "-32769", "32768"},
      {"INT32", "-2147483648", "2147483647", "-2147483649", "2147483648"},
      {"INT64", "-9223372036854775808", "9223372036854775807", nullptr, "9223372036854775808"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dtype);
    auto ok = Decode(OneInput(c.dtype, "[2]", StrCat("[", c.min_ok, ",", c.max_ok, "]")));
    ASSERT_TRUE(ok.ok()) << ok.status();
    EXPECT_EQ(DTypeName(ok->inputs[0].tensor.dtype()), c.dtype);
    EXPECT_EQ(ok->inputs[0].tensor.byte_size(), 2 * DTypeSize(ok->inputs[0].tensor.dtype()));
    if (c.below) {
      EXPECT_STATUS(
          Decode(OneInput(c.dtype, "[2]", StrCat("[0,", c.below, "]"))),
          StatusCode::kInvalidArgument,
          StrCat("input 'x': data element 1 (", c.below, ") is out of range for ", c.dtype));
    }
    if (c.above) {
      EXPECT_STATUS(Decode(OneInput(c.dtype, "[1]", StrCat("[", c.above, "]"))),
                    StatusCode::kInvalidArgument,
                    StrCat("data element 0 (", c.above, ") is out of range for ", c.dtype));
    }
    // Integers only: no fractions, strings or booleans.
    EXPECT_STATUS(Decode(OneInput(c.dtype, "[1]", "[1.5]")), StatusCode::kInvalidArgument,
                  "data element 0 is a non-integer number, expected an integer");
    EXPECT_STATUS(Decode(OneInput(c.dtype, "[1]", R"(["1"])")), StatusCode::kInvalidArgument,
                  "data element 0 is a string, expected an integer");
    EXPECT_STATUS(Decode(OneInput(c.dtype, "[1]", "[true]")), StatusCode::kInvalidArgument,
                  "data element 0 is a boolean");
  }
}

TEST(OipDecodeTest, IntegerValuesAreExact) {
  auto req = Decode(OneInput("INT64", "[3]", "[-9223372036854775808,0,9223372036854775807]"));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(Values<int64_t>(req->inputs[0].tensor),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 0,
                                  std::numeric_limits<int64_t>::max()}));
  auto u = Decode(OneInput("UINT64", "[1]", "[18446744073709551615]"));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(Values<uint64_t>(u->inputs[0].tensor)[0], std::numeric_limits<uint64_t>::max());
  auto u8 = Decode(OneInput("UINT8", "[3]", "[0,128,255]"));
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(Values<uint8_t>(u8->inputs[0].tensor), (std::vector<uint8_t>{0, 128, 255}));
}

TEST(OipDecodeTest, FloatingPoint) {
  auto f32 = Decode(OneInput("FP32", "[4]", "[0.1,-2,1e-3,3]"));
  ASSERT_TRUE(f32.ok()) << f32.status();
  EXPECT_EQ(Values<float>(f32->inputs[0].tensor), (std::vector<float>{0.1f, -2.f, 1e-3f, 3.f}));
  auto f64 = Decode(OneInput("FP64", "[3]", "[0.1,1e300,-5]"));
  ASSERT_TRUE(f64.ok()) << f64.status();
  EXPECT_EQ(Values<double>(f64->inputs[0].tensor), (std::vector<double>{0.1, 1e300, -5.0}));
  EXPECT_STATUS(Decode(OneInput("FP32", "[1]", "[1e300]")), StatusCode::kInvalidArgument,
                "data element 0 (1e+300) is out of range for FP32");
  EXPECT_STATUS(Decode(OneInput("FP32", "[2]", "[1,true]")), StatusCode::kInvalidArgument,
                "data element 1 is a boolean, expected a number for FP32");
  EXPECT_STATUS(Decode(OneInput("FP64", "[1]", "[null]")), StatusCode::kInvalidArgument,
                "data element 0 is null, expected a number for FP64");
  EXPECT_STATUS(Decode(OneInput("FP32", "[1]", R"(["NaN"])")), StatusCode::kInvalidArgument,
                "is a string");
}

TEST(OipDecodeTest, Bool) {
  auto req = Decode(OneInput("BOOL", "[2,2]", "[[true,false],[false,true]]"));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(Values<uint8_t>(req->inputs[0].tensor), (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_STATUS(Decode(OneInput("BOOL", "[2]", "[true,1]")), StatusCode::kInvalidArgument,
                "data element 1 is an integer, expected true or false for BOOL");
}

TEST(OipDecodeTest, Fp16InJsonIsRefused) {
  EXPECT_STATUS(Decode(OneInput("FP16", "[1]", "[1.0]")), StatusCode::kInvalidArgument,
                "FP16 data in JSON is not supported; use the binary data extension");
}

// BYTES (protocol b.6: "BYTES ... each element is a string"; binary extension b.8:
// each element a 4-byte little-endian length and the bytes).
TEST(OipDecodeTest, BytesFromJsonFlatAndNested) {
  auto flat = Decode(OneInput("BYTES", "[3]", R"(["abc","","\u00e9\n"])"));
  ASSERT_TRUE(flat.ok()) << flat.status();
  ASSERT_TRUE(flat->inputs[0].bytes.has_value());
  EXPECT_EQ(flat->inputs[0].bytes->shape, (Shape{3}));
  EXPECT_EQ(flat->inputs[0].bytes->elements, (std::vector<std::string>{"abc", "", "\xc3\xa9\n"}));
  EXPECT_EQ(flat->inputs[0].tensor.num_elements(), 0);
  auto nested = Decode(OneInput("BYTES", "[2,1]", R"([["a"],["b"]])"));
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(nested->inputs[0].bytes->elements, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(nested->inputs[0].bytes->shape, (Shape{2, 1}));
}

TEST(OipDecodeTest, BytesJsonErrorsNameTheTensor) {
  EXPECT_STATUS(Decode(OneInput("BYTES", "[2]", R"(["a"])")), StatusCode::kInvalidArgument,
                "input 'x': shape [2] needs 2 elements, data has 1");
  EXPECT_STATUS(Decode(OneInput("BYTES", "[2]", R"(["a",3])")), StatusCode::kInvalidArgument,
                "input 'x': BYTES element 1 must be a string, got an integer");
  EXPECT_STATUS(Decode(OneInput("BYTES", "[2,2]", R"([["a","b"],["c"]])")),
                StatusCode::kInvalidArgument, "nested data does not match shape [2,2]");
  EXPECT_STATUS(Decode(OneInput("BYTES", "[2,1]", R"([["a"],"b"])")), StatusCode::kInvalidArgument,
                "expected an array at depth 2");
  OipLimits small;
  small.max_tensor_bytes = 4;
  EXPECT_STATUS(Decode(OneInput("BYTES", "[2]", R"(["abc","de"])"), small),
                StatusCode::kResourceExhausted, "exceeds the limit of 4 bytes");
}

TEST(OipDecodeTest, BytesFromBinaryData) {
  const std::string binary = SerializeBytesElements({"png-bytes", "", "z"});
  EXPECT_EQ(binary.size(), 4u * 3 + 10);
  EXPECT_EQ(binary.substr(0, 4), std::string("\x09\x00\x00\x00", 4));
  const std::string json = StrCat(R"({"inputs":[{"name":"img","shape":[3],"datatype":"BYTES",)",
                                  R"("parameters":{"binary_data_size":)", binary.size(), "}}]}");
  auto req = DecodeBinary(json, binary);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->inputs[0].bytes->elements, (std::vector<std::string>{"png-bytes", "", "z"}));
  EXPECT_FALSE(req->inputs[0].parameters.contains("binary_data_size"));

  auto with_shape = [&](const std::string& shape, const std::string& bin) {
    return DecodeBinary(
        StrCat(R"({"inputs":[{"name":"img","shape":)", shape,
               R"(,"datatype":"BYTES","parameters":{"binary_data_size":)", bin.size(), "}}]}"),
        bin);
  };
  EXPECT_STATUS(with_shape("[2]", binary), StatusCode::kInvalidArgument,
                "more BYTES elements than the shape's 2");
  EXPECT_STATUS(with_shape("[4]", binary), StatusCode::kInvalidArgument,
                "holds 3 BYTES elements, the shape needs 4");
  EXPECT_STATUS(with_shape("[1]", std::string("\x05\x00\x00\x00"
                                              "ab",
                                              6)),
                StatusCode::kInvalidArgument, "declares 5 bytes but only 2 remain");
  EXPECT_STATUS(with_shape("[1]", std::string("\x05\x00", 2)), StatusCode::kInvalidArgument,
                "cut short");
}

TEST(OipDecodeTest, UnknownDatatype) {
  EXPECT_STATUS(Decode(OneInput("FLOAT", "[1]", "[1]")), StatusCode::kInvalidArgument,
                "input 'x': unknown datatype 'FLOAT'");
  // The model.yaml spelling is not a protocol datatype.
  EXPECT_STATUS(Decode(OneInput("float32", "[1]", "[1]")), StatusCode::kInvalidArgument,
                "unknown datatype 'float32'");
  EXPECT_STATUS(Decode(OneInput("fp32", "[1]", "[1]")), StatusCode::kInvalidArgument,
                "unknown datatype");
}

// --- Request structure errors.

TEST(OipDecodeTest, MalformedAndNonObjectBodies) {
  EXPECT_STATUS(Decode(R"({"inputs":[)"), StatusCode::kInvalidArgument, "malformed JSON");
  EXPECT_STATUS(Decode(""), StatusCode::kInvalidArgument, "malformed JSON");
  EXPECT_STATUS(Decode("[1,2]"), StatusCode::kInvalidArgument, "must be a JSON object");
  EXPECT_STATUS(Decode("42"), StatusCode::kInvalidArgument, "must be a JSON object");
}

TEST(OipDecodeTest, InputsMustBeANonEmptyArray) {
  EXPECT_STATUS(Decode("{}"), StatusCode::kInvalidArgument, "the request has no 'inputs'");
  EXPECT_STATUS(Decode(R"({"inputs":[]})"), StatusCode::kInvalidArgument,
                "'inputs' must be a non-empty array");
  EXPECT_STATUS(Decode(R"({"inputs":{}})"), StatusCode::kInvalidArgument,
                "'inputs' must be a non-empty array");
  EXPECT_STATUS(Decode(R"({"inputs":[3]})"), StatusCode::kInvalidArgument,
                "inputs[0] must be an object");
}

TEST(OipDecodeTest, InputFieldErrors) {
  EXPECT_STATUS(Decode(R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})"),
                StatusCode::kInvalidArgument, "inputs[0] has no 'name'");
  EXPECT_STATUS(Decode(R"({"inputs":[{"name":5,"shape":[1],"datatype":"FP32","data":[1]}]})"),
                StatusCode::kInvalidArgument, "inputs[0]: 'name' must be a string");
  EXPECT_STATUS(Decode(R"({"inputs":[{"name":"x","datatype":"FP32","data":[1]}]})"),
                StatusCode::kInvalidArgument, "input 'x' has no 'shape'");
  EXPECT_STATUS(Decode(R"({"inputs":[{"name":"x","shape":[1],"data":[1]}]})"),
                StatusCode::kInvalidArgument, "input 'x' has no 'datatype'");
  EXPECT_STATUS(Decode(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]})"),
                StatusCode::kInvalidArgument, "input 'x' has no data");
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,-3]", "[]")), StatusCode::kInvalidArgument,
                "input 'x': shape dimension 1 is negative (-3)");
  EXPECT_STATUS(Decode(OneInput("FP32", "[2,1.5]", "[1,2]")), StatusCode::kInvalidArgument,
                "input 'x': shape dimension 1 is a non-integer number");
  EXPECT_STATUS(Decode(OneInput("FP32", R"(["2"])", "[1,2]")), StatusCode::kInvalidArgument,
                "input 'x': shape dimension 0 is a string");
  EXPECT_STATUS(Decode(OneInput("FP32", "3", "[1,2,3]")), StatusCode::kInvalidArgument,
                "input 'x': 'shape' must be an array of integers");
  EXPECT_STATUS(Decode(OneInput("FP32", "[1]", "1")), StatusCode::kInvalidArgument,
                "input 'x': 'data' must be an array");
  EXPECT_STATUS(
      Decode(
          R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1],"parameters":3}]})"),
      StatusCode::kInvalidArgument, "input 'x': 'parameters' must be an object");
}

TEST(OipDecodeTest, RequestFieldErrors) {
  const std::string input = R"("inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}])";
  EXPECT_STATUS(Decode(StrCat("{\"id\":42,", input, "}")), StatusCode::kInvalidArgument,
                "'id' must be a string");
  EXPECT_STATUS(Decode(StrCat("{\"parameters\":[1],", input, "}")), StatusCode::kInvalidArgument,
                "'parameters' must be an object");
  EXPECT_STATUS(Decode(StrCat("{\"outputs\":{\"name\":\"y\"},", input, "}")),
                StatusCode::kInvalidArgument, "'outputs' must be an array");
  EXPECT_STATUS(Decode(StrCat("{\"outputs\":[\"y\"],", input, "}")), StatusCode::kInvalidArgument,
                "outputs[0] must be an object with a 'name'");
  EXPECT_STATUS(Decode(StrCat("{\"outputs\":[{\"parameters\":{}}],", input, "}")),
                StatusCode::kInvalidArgument, "outputs[0] has no 'name'");
  EXPECT_STATUS(Decode(StrCat("{\"outputs\":[{\"name\":\"y\",\"parameters\":1}],", input, "}")),
                StatusCode::kInvalidArgument, "outputs[0]: 'parameters' must be an object");
  EXPECT_STATUS(Decode(StrCat("{\"outputs\":[{\"name\":\"y\"},{\"name\":\"y\"}],", input, "}")),
                StatusCode::kInvalidArgument, "duplicate requested output 'y'");
}

TEST(OipDecodeTest, DuplicateInputNames) {
  EXPECT_STATUS(Decode(R"({"inputs":[
      {"name":"x","shape":[1],"datatype":"FP32","data":[1]},
      {"name":"x","shape":[1],"datatype":"FP32","data":[2]}]})"),
                StatusCode::kInvalidArgument, "duplicate input name 'x'");
}

TEST(OipDecodeTest, HugeShapesAreRefusedWithoutAllocating) {
  // 2^40 * 2^40 overflows int64: InvalidArgument.
  EXPECT_STATUS(Decode(OneInput("FP32", "[1099511627776,1099511627776]", "[1]")),
                StatusCode::kInvalidArgument, "input 'x'");
  // 2^40 elements fit int64 but exceed the 64 MiB limit: ResourceExhausted.
  EXPECT_STATUS(Decode(OneInput("FP32", "[1099511627776]", "[1]")), StatusCode::kResourceExhausted,
                "input 'x': shape [1099511627776] of FP32 exceeds");
  // The same through the binary extension.
  EXPECT_STATUS(DecodeBinary(R"({"inputs":[{"name":"x","shape":[1099511627776],"datatype":"FP32",
      "parameters":{"binary_data_size":4398046511104}}]})",
                             ""),
                StatusCode::kResourceExhausted, "exceeds the limit of 67108864 bytes");
  // Limit is configurable and inclusive.
  OipLimits limits;
  limits.max_tensor_bytes = 8;
  EXPECT_TRUE(Decode(OneInput("FP32", "[2]", "[1,2]"), limits).ok());
  EXPECT_STATUS(Decode(OneInput("FP32", "[3]", "[1,2,3]"), limits), StatusCode::kResourceExhausted,
                "exceeds the limit of 8 bytes");
}

// --- Binary tensor data extension (b.8).

TEST(OipBinaryTest, OneBinaryInput) {
  const std::vector<float> values = {1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f};
  const std::string json = R"({"inputs":[{"name":"x","shape":[3,2],"datatype":"FP32",
      "parameters":{"binary_data_size":24,"other":1}}]})";
  auto req = DecodeBinary(json, Bytes(values));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->inputs[0].tensor.shape(), (Shape{3, 2}));
  EXPECT_EQ(Values<float>(req->inputs[0].tensor), values);
  // binary_data_size is stripped, other parameters kept.
  EXPECT_FALSE(req->inputs[0].parameters.contains("binary_data_size"));
  EXPECT_EQ(req->inputs[0].parameters["other"], 1);
}

TEST(OipBinaryTest, TwoBinaryInputsMixedWithJsonInputs) {
  const std::vector<uint8_t> a = {1, 2, 3, 4, 5};
  const std::vector<uint16_t> half = {0x3c00, 0xc000};  // FP16 1.0, -2.0: allowed in binary
  const std::string json = R"({"id":"b","inputs":[
      {"name":"j1","shape":[2],"datatype":"INT32","data":[10,20]},
      {"name":"a","shape":[5],"datatype":"UINT8","parameters":{"binary_data_size":5}},
      {"name":"j2","shape":[1],"datatype":"BOOL","data":[true]},
      {"name":"h","shape":[1,2],"datatype":"FP16","parameters":{"binary_data_size":4}}]})";
  auto req = DecodeBinary(json, Bytes(a) + Bytes(half));
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_EQ(req->inputs.size(), 4u);
  EXPECT_EQ(req->inputs[0].name, "j1");
  EXPECT_EQ(Values<int32_t>(req->inputs[0].tensor), (std::vector<int32_t>{10, 20}));
  EXPECT_EQ(req->inputs[1].name, "a");
  EXPECT_EQ(Values<uint8_t>(req->inputs[1].tensor), a);
  EXPECT_EQ(Values<uint8_t>(req->inputs[2].tensor), (std::vector<uint8_t>{1}));
  EXPECT_EQ(req->inputs[3].tensor.dtype(), DType::kFP16);
  EXPECT_EQ(Values<uint16_t>(req->inputs[3].tensor), half);
}

TEST(OipBinaryTest, ZeroSizeBinaryInput) {
  auto req = DecodeBinary(R"({"inputs":[{"name":"x","shape":[0,3],"datatype":"FP32",
      "parameters":{"binary_data_size":0}}]})",
                          "");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->inputs[0].tensor.num_elements(), 0);
}

TEST(OipBinaryTest, SizeMustMatchShape) {
  EXPECT_STATUS(
      DecodeBinary(R"({"inputs":[{"name":"x","shape":[3,2],"datatype":"FP32",
      "parameters":{"binary_data_size":20}}]})",
                   std::string(20, '\0')),
      StatusCode::kInvalidArgument,
      "input 'x': parameters.binary_data_size is 20 but shape [3,2] of FP32 needs 24 bytes");
  EXPECT_STATUS(DecodeBinary(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32",
      "parameters":{"binary_data_size":-4}}]})",
                             ""),
                StatusCode::kInvalidArgument,
                "parameters.binary_data_size must be a non-negative integer");
  EXPECT_STATUS(DecodeBinary(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32",
      "parameters":{"binary_data_size":"4"}}]})",
                             std::string(4, '\0')),
                StatusCode::kInvalidArgument,
                "parameters.binary_data_size must be a non-negative integer");
}

TEST(OipBinaryTest, MissingAndExtraTrailingBytes) {
  const std::string json = R"({"inputs":[
      {"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},
      {"name":"b","shape":[1],"datatype":"INT64","parameters":{"binary_data_size":8}}]})";
  EXPECT_TRUE(DecodeBinary(json, std::string(16, '\1')).ok());
  EXPECT_STATUS(DecodeBinary(json, std::string(12, '\1')), StatusCode::kInvalidArgument,
                "the inputs declare 16 bytes (parameters.binary_data_size) but only 12 bytes");
  EXPECT_STATUS(DecodeBinary(json, std::string(19, '\1')), StatusCode::kInvalidArgument,
                "3 unexpected trailing bytes");
  // JSON-only inputs with trailing bytes.
  EXPECT_STATUS(DecodeBinary(OneInput("FP32", "[1]", "[1]"), "xyz"), StatusCode::kInvalidArgument,
                "3 unexpected trailing bytes");
}

TEST(OipBinaryTest, DataAndBinarySizeConflict) {
  EXPECT_STATUS(DecodeBinary(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32",
      "data":[1],"parameters":{"binary_data_size":4}}]})",
                             std::string(4, '\0')),
                StatusCode::kInvalidArgument,
                "input 'x' has both 'data' and parameters.binary_data_size");
}

TEST(OipBinaryTest, BinarySizeWithoutHeaderLength) {
  EXPECT_STATUS(Decode(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32",
      "parameters":{"binary_data_size":4}}]})"),
                StatusCode::kInvalidArgument, "Inference-Header-Content-Length");
}

TEST(OipBinaryTest, HeaderLengthZeroOrTooLargeIsRefused) {
  std::string body = "abcd";
  EXPECT_STATUS(DecodeInferRequest(body, 0, {}), StatusCode::kInvalidArgument, "raw binary");
  EXPECT_STATUS(DecodeInferRequest(body, 5, {}), StatusCode::kInvalidArgument,
                "larger than the request body");
}

TEST(OipBinaryTest, JsonHeaderIsParsedOnlyUpToHeaderLength) {
  // Binary bytes that look like broken JSON must not confuse the parser.
  const std::string json = R"({"inputs":[{"name":"x","shape":[4],"datatype":"UINT8",
      "parameters":{"binary_data_size":4}}]})";
  auto req = DecodeBinary(json, "}]{\"");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(req->inputs[0].tensor.data()), 4), "}]{\"");
}

TEST(OipHeaderLengthTest, Parse) {
  EXPECT_EQ(*ParseHeaderLength("0", 10), 0u);
  EXPECT_EQ(*ParseHeaderLength("10", 10), 10u);
  EXPECT_EQ(*ParseHeaderLength("123", 1000), 123u);
  EXPECT_STATUS(ParseHeaderLength("abc", 10), StatusCode::kInvalidArgument,
                "Inference-Header-Content-Length 'abc'");
  EXPECT_STATUS(ParseHeaderLength("-1", 10), StatusCode::kInvalidArgument,
                "not a non-negative decimal integer");
  EXPECT_STATUS(ParseHeaderLength("+1", 10), StatusCode::kInvalidArgument, "not a non-negative");
  EXPECT_STATUS(ParseHeaderLength("", 10), StatusCode::kInvalidArgument, "not a non-negative");
  EXPECT_STATUS(ParseHeaderLength("1 ", 10), StatusCode::kInvalidArgument, "not a non-negative");
  EXPECT_STATUS(ParseHeaderLength("11", 10), StatusCode::kInvalidArgument,
                "larger than the request body (10 bytes)");
  EXPECT_STATUS(ParseHeaderLength("99999999999999999999999", 10), StatusCode::kInvalidArgument,
                "Inference-Header-Content-Length");
}

// --- Raw binary request (Inference-Header-Content-Length: 0).

TEST(OipRawTest, DecodesOneInputWithBatchOne) {
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  auto t = DecodeRawInput(Bytes(values), DType::kFP32, {3, 2});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(Values<float>(*t), values);
}

TEST(OipRawTest, SizeMustMatch) {
  EXPECT_STATUS(DecodeRawInput(std::string(23, '\0'), DType::kFP32, {3, 2}),
                StatusCode::kInvalidArgument, "the body has 23 bytes");
  EXPECT_STATUS(DecodeRawInput(std::string(25, '\0'), DType::kFP32, {3, 2}),
                StatusCode::kInvalidArgument, "the body has 25 bytes");
}

TEST(OipRawTest, OneVariableDimensionIsInferred) {
  auto t = DecodeRawInput(std::string(12, '\0'), DType::kUInt8, {-1, 3});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), (Shape{1, 4, 3}));
  EXPECT_STATUS(DecodeRawInput(std::string(13, '\0'), DType::kUInt8, {-1, 3}),
                StatusCode::kInvalidArgument, "not a whole number");
  EXPECT_STATUS(DecodeRawInput(std::string(12, '\0'), DType::kUInt8, {-1, -1}),
                StatusCode::kInvalidArgument, "more than one variable dimension");
}

// --- Response encoding (b.4, b.8).

Tensor MakeTensor(DType dtype, Shape shape, const std::string& bytes) {
  Tensor t(dtype, std::move(shape));
  EXPECT_EQ(t.byte_size(), bytes.size());
  std::memcpy(t.data(), bytes.data(), bytes.size());
  return t;
}

TEST(OipEncodeTest, JsonResponse) {
  std::vector<OipOutput> outputs;
  outputs.push_back(
      {"out", MakeTensor(DType::kFP32, {2, 2}, Bytes<float>({0.1f, -2.f, 3.5f, 1e-7f}))});
  outputs.push_back({"flag", MakeTensor(DType::kBool, {2}, Bytes<uint8_t>({1, 0}))});
  outputs.push_back({"i8", MakeTensor(DType::kInt8, {2}, Bytes<int8_t>({-128, 127}))});
  outputs.push_back({"u8", MakeTensor(DType::kUInt8, {1}, Bytes<uint8_t>({255}))});
  outputs.push_back({"u64", MakeTensor(DType::kUInt64, {1}, Bytes<uint64_t>({UINT64_MAX}))});
  outputs.push_back(
      {"h", MakeTensor(DType::kFP16, {3}, Bytes<uint16_t>({0x3c00, 0xc000, 0x3555}))});
  outputs.push_back({"d", MakeTensor(DType::kFP64, {1}, Bytes<double>({0.1}))});
  OipEncoded enc = EncodeInferResponse("resnet", "1", std::string("42"), outputs);
  EXPECT_EQ(enc.content_type, "application/json");
  EXPECT_FALSE(enc.header_length.has_value());
  auto j = nlohmann::json::parse(enc.body);
  EXPECT_EQ(j["model_name"], "resnet");
  EXPECT_EQ(j["model_version"], "1");
  EXPECT_EQ(j["id"], "42");
  ASSERT_EQ(j["outputs"].size(), 7u);
  const auto& out = j["outputs"][0];
  EXPECT_EQ(out["name"], "out");
  EXPECT_EQ(out["datatype"], "FP32");
  EXPECT_EQ(out["shape"], nlohmann::json::array({2, 2}));
  EXPECT_FALSE(out.contains("parameters"));
  ASSERT_EQ(out["data"].size(), 4u);
  // Shortest round-trip text of the float: "0.1", not 0.100000001490116...
  EXPECT_NE(enc.body.find("[0.1,-2,3.5,1e-07]"), std::string::npos) << enc.body;
  EXPECT_EQ(static_cast<float>(out["data"][3].get<double>()), 1e-7f);
  EXPECT_EQ(j["outputs"][1]["data"], nlohmann::json::array({true, false}));
  EXPECT_EQ(j["outputs"][1]["datatype"], "BOOL");
  EXPECT_EQ(j["outputs"][2]["data"], nlohmann::json::array({-128, 127}));
  EXPECT_EQ(j["outputs"][3]["data"], nlohmann::json::array({255}));
  EXPECT_EQ(j["outputs"][4]["data"][0].get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(j["outputs"][5]["datatype"], "FP16");
  EXPECT_EQ(j["outputs"][5]["data"][0], 1.0);
  EXPECT_EQ(j["outputs"][5]["data"][1], -2.0);
  EXPECT_NEAR(j["outputs"][5]["data"][2].get<double>(), 1.0 / 3, 1e-3);
  EXPECT_EQ(j["outputs"][6]["data"][0], 0.1);
}

TEST(OipEncodeTest, VersionOmittedAndIdOnlyWhenGiven) {
  std::vector<OipOutput> outputs;
  outputs.push_back({"y", MakeTensor(DType::kInt32, {1}, Bytes<int32_t>({3}))});
  OipEncoded enc = EncodeInferResponse("m", "", std::nullopt, outputs);
  auto j = nlohmann::json::parse(enc.body);
  EXPECT_EQ(j["model_name"], "m");
  EXPECT_FALSE(j.contains("model_version"));
  EXPECT_FALSE(j.contains("id"));
  EXPECT_EQ(j["outputs"][0]["data"], nlohmann::json::array({3}));
  // Strings are escaped.
  OipEncoded esc = EncodeInferResponse("m\"q", "", std::string("a\\b\n"), outputs);
  auto je = nlohmann::json::parse(esc.body);
  EXPECT_EQ(je["model_name"], "m\"q");
  EXPECT_EQ(je["id"], "a\\b\n");
}

TEST(OipEncodeTest, NanAndInfAreNull) {
  std::vector<OipOutput> outputs;
  outputs.push_back(
      {"y", MakeTensor(DType::kFP32, {4},
                       Bytes<float>({std::numeric_limits<float>::quiet_NaN(),
                                     std::numeric_limits<float>::infinity(),
                                     -std::numeric_limits<float>::infinity(), 1.f}))});
  outputs.push_back({"z", MakeTensor(DType::kFP64, {1},
                                     Bytes<double>({std::numeric_limits<double>::quiet_NaN()}))});
  OipEncoded enc = EncodeInferResponse("m", "", std::nullopt, outputs);
  auto j = nlohmann::json::parse(enc.body);
  EXPECT_EQ(j["outputs"][0]["data"], nlohmann::json::parse("[null,null,null,1]"));
  EXPECT_EQ(j["outputs"][1]["data"], nlohmann::json::parse("[null]"));
}

TEST(OipEncodeTest, BinaryResponse) {
  const std::string a = Bytes<float>({1.f, 2.f, 3.f, 4.f, 5.f, 6.f});
  const std::string b = Bytes<uint8_t>({9, 8, 7});
  std::vector<OipOutput> outputs;
  outputs.push_back({"output0", MakeTensor(DType::kFP32, {3, 2}, a), true});
  outputs.push_back({"json", MakeTensor(DType::kInt64, {1}, Bytes<int64_t>({-1}))});
  outputs.push_back({"output1", MakeTensor(DType::kUInt8, {3}, b), true, {{"k", "v"}}});
  OipEncoded enc = EncodeInferResponse("m", "2", std::string("7"), outputs);
  EXPECT_EQ(enc.content_type, "application/octet-stream");
  ASSERT_TRUE(enc.header_length.has_value());
  ASSERT_EQ(*enc.header_length + a.size() + b.size(), enc.body.size());
  auto j = nlohmann::json::parse(enc.body.substr(0, *enc.header_length));
  EXPECT_EQ(j["id"], "7");
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 24);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json::array({3, 2}));
  EXPECT_EQ(j["outputs"][1]["data"], nlohmann::json::array({-1}));
  EXPECT_FALSE(j["outputs"][1].contains("parameters"));
  EXPECT_EQ(j["outputs"][2]["parameters"]["binary_data_size"], 3);
  EXPECT_EQ(j["outputs"][2]["parameters"]["k"], "v");
  EXPECT_EQ(enc.body.substr(*enc.header_length), a + b);
}

TEST(OipEncodeTest, BytesOutputsInJsonAndBinary) {
  std::vector<OipOutput> outputs(2);
  outputs[0].name = "labels";
  outputs[0].bytes = BytesTensor{{1, 2}, {"0.9:1:cat", "x\"y"}};
  outputs[1].name = "raw";
  outputs[1].binary = true;
  outputs[1].bytes = BytesTensor{{2}, {"ab", ""}};
  OipEncoded e = EncodeInferResponse("m", "", std::nullopt, outputs);
  ASSERT_TRUE(e.header_length.has_value());
  const nlohmann::json header = nlohmann::json::parse(e.body.substr(0, *e.header_length));
  EXPECT_EQ(header["outputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(header["outputs"][0]["shape"], (nlohmann::json{1, 2}));
  EXPECT_EQ(header["outputs"][0]["data"], (nlohmann::json{"0.9:1:cat", "x\"y"}));
  EXPECT_EQ(header["outputs"][1]["datatype"], "BYTES");
  EXPECT_EQ(header["outputs"][1]["parameters"]["binary_data_size"], 10);
  EXPECT_FALSE(header["outputs"][1].contains("data"));
  EXPECT_EQ(e.body.substr(*e.header_length), std::string("\x02\x00\x00\x00"
                                                         "ab"
                                                         "\x00\x00\x00\x00",
                                                         10));
}

TEST(OipEncodeTest, BinaryResponseRoundTripsThroughTheDecoder) {
  // The response layout is the request layout (b.8): an encoded response with binary
  // outputs renamed as inputs decodes back to the same tensors.
  const std::string bytes = Bytes<float>({0.5f, -1.f});
  std::vector<OipOutput> outputs;
  outputs.push_back({"x", MakeTensor(DType::kFP32, {1, 2}, bytes), true});
  OipEncoded enc = EncodeInferResponse("m", "", std::nullopt, outputs);
  std::string json = enc.body.substr(0, *enc.header_length);
  auto j = nlohmann::json::parse(json);
  nlohmann::json req = {{"inputs", j["outputs"]}};
  auto decoded = DecodeBinary(req.dump(), enc.body.substr(*enc.header_length));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(Values<float>(decoded->inputs[0].tensor), (std::vector<float>{0.5f, -1.f}));
}

// --- Performance (printed, not asserted): [1,3,224,224] FP32 JSON request.

TEST(OipPerfTest, DecodeImageSizedJsonRequest) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-2.5f, 2.5f);
  const int64_t n = 1 * 3 * 224 * 224;
  std::string body = R"({"id":"perf","inputs":[{"name":"input","shape":[1,3,224,224],)"
                     R"("datatype":"FP32","data":[)";
  std::vector<float> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    want[static_cast<size_t>(i)] = dist(rng);
    if (i) body += ',';
    body += StrCat(want[static_cast<size_t>(i)]);
  }
  body += "]}]}";
  body.reserve(body.size() + 64);

  std::vector<double> ms;
  for (int rep = 0; rep < 15; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    auto req = DecodeInferRequest(body, std::nullopt, {});
    const auto stop = std::chrono::steady_clock::now();
    ASSERT_TRUE(req.ok()) << req.status();
    if (rep == 0) {
      EXPECT_EQ(Values<float>(req->inputs[0].tensor), want);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "[ perf     ] decode [1,3,224,224] FP32 JSON (%zu bytes): median %.3f ms, min %.3f ms\n",
      body.size(), ms[ms.size() / 2], ms.front());
}

}  // namespace
}  // namespace infera
