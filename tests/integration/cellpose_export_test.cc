// A Cellpose network exported as the README says (torch.jit.trace of a network shaped
// like Cellpose's CPnet: a tuple of the flows, a list of feature maps and a style vector)
// serves through the cellpose runner: with no `outputs:` line when the flows come first,
// with `outputs: {flows: 1, style: 2}` when they do not. The test models
// (model_tools/train_cellpose.py export_traced) carry cellpose_tiny's weights, so their
// masks must be cellpose_tiny's, pixel for pixel; the protocol's metadata lists only the
// tensors among the outputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "imaging/codec.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

using nlohmann::json;

class CellposeExportTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"cellpose_tiny", "cellpose_traced", "cellpose_traced_flows_second"});
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  // /predict on `image` (a path under the test models) with channels [1, 2]: the
  // instance mask's labels, and the object count.
  std::vector<uint16_t> Masks(const std::string& model, const std::string& image, int* count) {
    const std::string bytes = ReadFile(TestModelsDir() / image);
    HttpResponse r =
        Post("/predict/" + model, json{{"image", Base64Encode(bytes.data(), bytes.size())},
                                       {"params", {{"channels", {1, 2}}}}}
                                      .dump());
    EXPECT_EQ(r.status, 200) << model << ": " << r.body;
    const json body = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !body.contains("mask")) return {};
    *count = body["count"].get<int>();
    StatusOr<std::vector<std::byte>> png = Base64Decode(body["mask"].get<std::string>());
    EXPECT_TRUE(png.ok()) << png.status();
    if (!png.ok()) return {};
    StatusOr<Image> mask = DecodeImage(*png);
    EXPECT_TRUE(mask.ok()) << mask.status();
    if (!mask.ok()) return {};
    const size_t n = static_cast<size_t>(mask->width) * mask->height;
    std::vector<uint16_t> labels(n);
    for (size_t i = 0; i < n; ++i) {
      labels[i] = mask->type == PixelType::kUInt16 ? mask->pixels<uint16_t>()[i]
                                                   : mask->pixels<uint8_t>()[i];
    }
    return labels;
  }

  // The masks of `model` equal cellpose_tiny's on held-out images (one of them tiled).
  void ExpectCellposeTinysMasks(const std::string& model) {
    const json expected = json::parse(ReadFile(TestModelsDir() / "cellpose_expected.json"));
    for (const json& img : expected["images"]) {
      const std::string image = img["image"];
      if (image != "images/cells/cells_00.tif" && image != "images/cells/cells_large.tif") {
        continue;
      }
      SCOPED_TRACE(model + " on " + image);
      int want_count = 0, got_count = 0;
      const std::vector<uint16_t> want = Masks("cellpose_tiny", image, &want_count);
      const std::vector<uint16_t> got = Masks(model, image, &got_count);
      ASSERT_FALSE(want.empty());
      EXPECT_GT(want_count, 10);
      EXPECT_EQ(got_count, want_count);
      EXPECT_TRUE(got == want) << "the masks differ";
    }
  }
};

TEST_F(CellposeExportTest, TracedNetworkWithFlowsFirstServesWithoutAnOutputsLine) {
  ExpectCellposeTinysMasks("cellpose_traced");
}

TEST_F(CellposeExportTest, TracedNetworkWithFlowsSecondServesWithOutputsByPosition) {
  ExpectCellposeTinysMasks("cellpose_traced_flows_second");
}

TEST_F(CellposeExportTest, MetadataListsTheTensorOutputsOnly) {
  // No `outputs:`: the flows and the style vector; the list of feature maps is no output.
  HttpResponse r = Get("/v2/models/cellpose_traced");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"],
            json::parse(R"([{"name": "output0", "datatype": "FP32", "shape": [-1, 3, 128, 128]},
                            {"name": "output1", "datatype": "FP32", "shape": [-1, 64]}])"));
  // `outputs: {flows: 1, style: 2}`: named, in that order.
  r = Get("/v2/models/cellpose_traced_flows_second");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"],
            json::parse(R"([{"name": "flows", "datatype": "FP32", "shape": [-1, 3, 128, 128]},
                            {"name": "style", "datatype": "FP32", "shape": [-1, 64]}])"));
  r = Get("/v2/models/cellpose_traced_flows_second/config");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"], (json{"flows", "style"}));
  EXPECT_EQ(json::parse(r.body)["output_positions"], (json{1, 2}));
}

}  // namespace
}  // namespace infera::testing
