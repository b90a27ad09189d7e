// Benchmarks of Cellpose's mask reconstruction on one core: a 1024 x 1024 image with 500
// touching cells (radii 10-20 px, about 30 px across as Cellpose's default diameter) and the
// outputs of a perfect network. Phases: the flow dynamics (FollowFlows, 200 steps),
// clustering (ClusterMasks), dynamics + clustering together, masks -> flows (the QC's
// cost), and the whole ComputeMasks.
//
// Build (besides infera_lib): the include path needs tests/ for the synthetic cells.
#include <benchmark/benchmark.h>

#include <vector>

#include "cellpose/cluster_masks.h"
#include "cellpose/follow_flows.h"
#include "cellpose/masks_to_flows.h"
#include "cellpose/reconstruct.h"
#include "cellpose/synthetic_cells.h"

namespace infera::cellpose {
namespace {

// The benchmark input, built once.
struct Scene {
  LabelImage truth;
  cellpose::PerfectOutputs net;
  std::vector<uint32_t> foreground;
  FlowField step;
  std::vector<Point> positions;

  Scene() {
    cellpose::SyntheticCellsOptions o;
    o.height = 1024;
    o.width = 1024;
    o.count = 500;
    o.min_radius = 10;
    o.max_radius = 20;
    o.max_aspect = 1.6;
    o.touching = true;
    o.seed = 42;
    truth = cellpose::MakeSyntheticCells(o);
    net = cellpose::MakePerfectOutputs(truth);
    foreground = ForegroundPixels(net.cellprob, 0.0f);
    step = StepField(net.flows, foreground);
    positions = FollowFlows(step, foreground, kDefaultNiter).value();
  }
};

const Scene& GetScene() {
  static const Scene* scene = new Scene();
  return *scene;
}

void SetCounters(benchmark::State& state, const Scene& s) {
  state.counters["cells"] = cellpose::CountLabels(s.truth);
  state.counters["fg_pixels"] = static_cast<double>(s.foreground.size());
}

void BM_FollowFlows(benchmark::State& state) {
  const Scene& s = GetScene();
  for (auto _ : state) {
    benchmark::DoNotOptimize(FollowFlows(s.step, s.foreground, kDefaultNiter));
  }
  SetCounters(state, s);
}
BENCHMARK(BM_FollowFlows)->Unit(benchmark::kMillisecond);

void BM_ClusterMasks(benchmark::State& state) {
  const Scene& s = GetScene();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ClusterMasks(1024, 1024, s.foreground, s.positions));
  }
  SetCounters(state, s);
}
BENCHMARK(BM_ClusterMasks)->Unit(benchmark::kMillisecond);

// The figure the design targets (<= 1 s): step field, dynamics and clustering.
void BM_DynamicsAndClustering(benchmark::State& state) {
  const Scene& s = GetScene();
  for (auto _ : state) {
    const std::vector<uint32_t> fg = ForegroundPixels(s.net.cellprob, 0.0f);
    const FlowField step = StepField(s.net.flows, fg);
    auto positions = FollowFlows(step, fg, kDefaultNiter);
    benchmark::DoNotOptimize(ClusterMasks(1024, 1024, fg, *positions));
  }
  SetCounters(state, s);
}
BENCHMARK(BM_DynamicsAndClustering)->Unit(benchmark::kMillisecond);

void BM_MasksToFlows(benchmark::State& state) {
  const Scene& s = GetScene();
  for (auto _ : state) benchmark::DoNotOptimize(MasksToFlows(s.truth));
  SetCounters(state, s);
}
BENCHMARK(BM_MasksToFlows)->Unit(benchmark::kMillisecond);

void BM_ComputeMasks(benchmark::State& state) {
  const Scene& s = GetScene();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ComputeMasks(s.net.flows, s.net.cellprob, MaskParams{}));
  }
  SetCounters(state, s);
}
BENCHMARK(BM_ComputeMasks)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace infera::cellpose

BENCHMARK_MAIN();
