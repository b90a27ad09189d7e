// `infera bench cellpose [--size 1024] [--cells 500] [--repeats 5]`: Cellpose's mask
// reconstruction on one thread, phase by phase, on a synthetic scene.
//
//  1. A size x size label image of touching cells (cellpose/synthetic_cells.h; radii
//     10-20 px, about the 30 px Cellpose's default diameter means) and the outputs an
//     ideal network would give for it (flows from the masks, a confident cell
//     probability): what the runner's reconstruction sees, without a model's cost.
//  2. Each phase `repeats` times, median wall time: the flow dynamics (the step field and
//     niter Euler steps of every foreground pixel), clustering of the converged points,
//     both together (the figure the issue budgets: <= 1 s for 1024 x 1024 and ~500
//     cells), masks -> flows (what the flow-error QC recomputes), and the whole of
//     ComputeMasks (dynamics, clustering, QC, cleanup).
//  3. Prints the table, the objects found against the cells drawn, and the share of the
//     1 s budget used; --json writes the same figures.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_format.h"
#include "cellpose/cluster_masks.h"
#include "cellpose/follow_flows.h"
#include "cellpose/masks_to_flows.h"
#include "cellpose/reconstruct.h"
#include "cellpose/synthetic_cells.h"
#include "cli/cli.h"

namespace infera {

namespace {

using Clock = std::chrono::steady_clock;

// Median milliseconds of `repeats` calls of fn (which returns false on failure).
template <typename Fn>
double MedianMs(int repeats, Fn fn, bool* ok) {
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    if (!fn()) *ok = false;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int RunBenchCellpose(const BenchCellposeOptions& options) {
  cellpose::SyntheticCellsOptions scene;
  scene.height = options.size;
  scene.width = options.size;
  scene.count = options.cells;
  scene.min_radius = 10;
  scene.max_radius = 20;
  scene.max_aspect = 1.6;
  scene.touching = true;
  scene.seed = 42;
  const cellpose::LabelImage truth = cellpose::MakeSyntheticCells(scene);
  const int cells = cellpose::CountLabels(truth);
  const cellpose::PerfectOutputs net = cellpose::MakePerfectOutputs(truth);
  const cellpose::MaskParams params;
  const int h = options.size, w = options.size;

  bool ok = true;
  const std::vector<uint32_t> fg = cellpose::ForegroundPixels(net.cellprob, 0.0f);
  const cellpose::FlowField step = cellpose::StepField(net.flows, fg);
  auto positions = cellpose::FollowFlows(step, fg, cellpose::kDefaultNiter);
  if (!positions.ok()) {
    std::cerr << "infera bench cellpose: " << positions.status() << "\n";
    return 1;
  }
  const double dynamics = MedianMs(
      options.repeats,
      [&] {
        const cellpose::FlowField s = cellpose::StepField(net.flows, fg);
        return cellpose::FollowFlows(s, fg, cellpose::kDefaultNiter).ok();
      },
      &ok);
  const double clustering = MedianMs(
      options.repeats, [&] { return cellpose::ClusterMasks(h, w, fg, *positions).ok(); }, &ok);
  const double both = MedianMs(
      options.repeats,
      [&] {
        const std::vector<uint32_t> f = cellpose::ForegroundPixels(net.cellprob, 0.0f);
        const cellpose::FlowField s = cellpose::StepField(net.flows, f);
        auto p = cellpose::FollowFlows(s, f, cellpose::kDefaultNiter);
        return p.ok() && cellpose::ClusterMasks(h, w, f, *p).ok();
      },
      &ok);
  const double to_flows = MedianMs(
      options.repeats, [&] { return cellpose::MasksToFlows(truth).ok(); }, &ok);
  int found = 0;
  const double all = MedianMs(
      options.repeats,
      [&] {
        auto masks = cellpose::ComputeMasks(net.flows, net.cellprob, params);
        if (masks.ok()) found = cellpose::CountLabels(*masks);
        return masks.ok();
      },
      &ok);
  if (!ok) {
    std::cerr << "infera bench cellpose: a phase failed\n";
    return 1;
  }

  constexpr double kBudgetMs = 1000.0;
  std::cout << absl::StrFormat(
      "cellpose mask reconstruction, one thread: %dx%d, %d cells (radii 10-20 px), ideal network "
      "outputs, %d foreground pixels, median of %d\n",
      w, h, cells, fg.size(), options.repeats);
  std::cout << absl::StrFormat("%-34s %10s\n", "phase", "ms");
  std::cout << absl::StrFormat("%-34s %10.1f\n",
                               absl::StrFormat("flow dynamics (niter %d)", cellpose::kDefaultNiter),
                               dynamics);
  std::cout << absl::StrFormat("%-34s %10.1f\n", "clustering", clustering);
  std::cout << absl::StrFormat("%-34s %10.1f\n", "dynamics + clustering", both);
  std::cout << absl::StrFormat("%-34s %10.1f\n", "masks -> flows (flow QC)", to_flows);
  std::cout << absl::StrFormat("%-34s %10.1f\n", "ComputeMasks (everything)", all);
  std::cout << absl::StrFormat("objects found: %d of %d cells\n", found, cells);
  std::cout << absl::StrFormat("dynamics + clustering use %.2f of the 1 s budget (%s)\n",
                               both / kBudgetMs, both <= kBudgetMs ? "met" : "NOT met");
  if (!options.output_json.empty()) {
    nlohmann::json report = {{"size", options.size},
                             {"cells", cells},
                             {"foreground_pixels", fg.size()},
                             {"repeats", options.repeats},
                             {"niter", cellpose::kDefaultNiter},
                             {"ms",
                              {{"dynamics", dynamics},
                               {"clustering", clustering},
                               {"dynamics_and_clustering", both},
                               {"masks_to_flows", to_flows},
                               {"compute_masks", all}}},
                             {"objects_found", found},
                             {"budget_ms", kBudgetMs},
                             {"budget_fraction", both / kBudgetMs}};
    std::ofstream out(options.output_json);
    out << report.dump(2) << "\n";
    if (!out) {
      std::cerr << "infera bench cellpose: cannot write " << options.output_json << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace infera
