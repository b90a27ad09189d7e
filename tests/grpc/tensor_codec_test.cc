// grpc/tensor_codec: ModelInferRequest/Response <-> serving/oip_types, without a server.
#include "grpc/tensor_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "support/status_matchers.h"

namespace infera {
namespace {

using ::testing::HasSubstr;

inference::ModelInferRequest::InferInputTensor* AddInput(inference::ModelInferRequest* req,
                                                         const std::string& datatype,
                                                         std::vector<int64_t> shape) {
  auto* in = req->add_inputs();
  in->set_name("x");
  in->set_datatype(datatype);
  for (int64_t d : shape) in->add_shape(d);
  return in;
}

TEST(GrpcTensorCodecTest, TypedValuesAreRangeChecked) {
  inference::ModelInferRequest req;
  auto* in = AddInput(&req, "UINT8", {1, 3});
  in->mutable_contents()->add_uint_contents(0);
  in->mutable_contents()->add_uint_contents(255);
  in->mutable_contents()->add_uint_contents(7);
  ASSERT_OK_AND_ASSIGN(OipRequest decoded, DecodeGrpcInferRequest(req, 1 << 20));
  ASSERT_EQ(decoded.inputs.size(), 1u);
  const Tensor& t = decoded.inputs[0].tensor;
  EXPECT_EQ(t.dtype(), DType::kUInt8);
  EXPECT_EQ(t.shape(), (Shape{1, 3}));
  EXPECT_EQ(t.data_as<uint8_t>()[1], 255);
  in->mutable_contents()->set_uint_contents(1, 300);
  StatusOr<OipRequest> bad = DecodeGrpcInferRequest(req, 1 << 20);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_THAT(bad.status().message(), HasSubstr("value 300 at 1 is out of range for UINT8"));
}

TEST(GrpcTensorCodecTest, RawBytesElementsAndSizes) {
  inference::ModelInferRequest req;
  AddInput(&req, "BYTES", {2});
  req.add_raw_input_contents(std::string("\x02\0\0\0ab\x01\0\0\0c", 11));
  ASSERT_OK_AND_ASSIGN(OipRequest decoded, DecodeGrpcInferRequest(req, 1 << 20));
  ASSERT_TRUE(decoded.inputs[0].bytes.has_value());
  EXPECT_EQ(decoded.inputs[0].bytes->elements, (std::vector<std::string>{"ab", "c"}));
  req.set_raw_input_contents(0, std::string("\x05\0\0\0ab", 6));
  EXPECT_THAT(DecodeGrpcInferRequest(req, 1 << 20).status().message(), HasSubstr("cut short"));
  // A tensor over the limit: ResourceExhausted before anything is allocated.
  inference::ModelInferRequest big;
  AddInput(&big, "FP32", {1024, 1024});
  big.add_raw_input_contents("");
  EXPECT_TRUE(absl::IsResourceExhausted(DecodeGrpcInferRequest(big, 1 << 20).status()));
}

TEST(GrpcTensorCodecTest, ParametersRoundTrip) {
  inference::ModelInferRequest req;
  (*req.mutable_parameters())["priority"].set_int64_param(1);
  (*req.mutable_parameters())["binary_data_output"].set_bool_param(false);
  (*req.mutable_parameters())["name"].set_string_param("n");
  ASSERT_OK_AND_ASSIGN(OipRequest decoded, DecodeGrpcInferRequest(req, 1 << 20));
  EXPECT_EQ(decoded.parameters["priority"], 1);
  EXPECT_EQ(decoded.parameters["binary_data_output"], false);
  EXPECT_EQ(decoded.parameters["name"], "n");
  inference::ModelInferResponse res;
  JsonToParameters(decoded.parameters, res.mutable_parameters());
  EXPECT_EQ(res.parameters().at("priority").int64_param(), 1);
  EXPECT_FALSE(res.parameters().at("binary_data_output").bool_param());
}

TEST(GrpcTensorCodecTest, OutputsRawWhenAnyIsBinaryElseTyped) {
  OipResponse response;
  response.model_name = "m";
  response.model_version = "1";
  Tensor t(DType::kFP32, {1, 2});
  t.data_as<float>()[0] = 1.5f;
  t.data_as<float>()[1] = -2.0f;
  response.outputs.push_back({"a", t, false, nlohmann::json::object(), std::nullopt});
  response.outputs.push_back(
      {"b", Tensor(), false, nlohmann::json::object(), BytesTensor{{1, 1}, {"x:0"}}});
  inference::ModelInferResponse typed;
  ASSERT_OK(EncodeGrpcInferResponse(response, &typed));
  EXPECT_EQ(typed.raw_output_contents_size(), 0);
  EXPECT_THAT(typed.outputs(0).contents().fp32_contents(), ::testing::ElementsAre(1.5f, -2.0f));
  EXPECT_EQ(typed.outputs(1).datatype(), "BYTES");
  EXPECT_EQ(typed.outputs(1).contents().bytes_contents(0), "x:0");
  response.outputs[0].binary = true;
  inference::ModelInferResponse raw;
  ASSERT_OK(EncodeGrpcInferResponse(response, &raw));
  ASSERT_EQ(raw.raw_output_contents_size(), 2);
  float values[2];
  std::memcpy(values, raw.raw_output_contents(0).data(), 8);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(raw.raw_output_contents(1), std::string("\x03\0\0\0x:0", 7));
  EXPECT_FALSE(raw.outputs(0).has_contents());
}

}  // namespace
}  // namespace infera
