#include "dicom/series.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "common/strings.h"

namespace infera {

namespace {

// The position of an instance along its slice normal.
double SliceLocation(const DicomInstanceInfo& info) {
  const std::array<double, 6>& o = *info.image_orientation;
  const double normal[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                            o[0] * o[4] - o[1] * o[3]};
  const std::array<double, 3>& p = *info.image_position;
  return normal[0] * p[0] + normal[1] * p[1] + normal[2] * p[2];
}

}  // namespace

std::vector<DicomSeries> GroupSeries(std::span<const DicomInstanceInfo> instances) {
  std::vector<DicomSeries> series;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < instances.size(); ++i) {
    const DicomInstanceInfo& info = instances[i];
    auto [it, added] = index.emplace(info.series_instance_uid, series.size());
    if (added) {
      DicomSeries s;
      s.series_instance_uid = info.series_instance_uid;
      s.study_instance_uid = info.study_instance_uid;
      s.modality = info.modality;
      series.push_back(std::move(s));
    }
    series[it->second].members.push_back(i);
  }
  for (DicomSeries& s : series) {
    const bool positions = std::all_of(s.members.begin(), s.members.end(), [&](size_t i) {
      return instances[i].image_position.has_value() && instances[i].image_orientation.has_value();
    });
    const bool numbers = std::all_of(s.members.begin(), s.members.end(), [&](size_t i) {
      return instances[i].instance_number.has_value();
    });
    s.ordered_by = positions ? "position" : numbers ? "instance_number" : "sop_instance_uid";
    std::stable_sort(s.members.begin(), s.members.end(), [&](size_t a, size_t b) {
      const DicomInstanceInfo& x = instances[a];
      const DicomInstanceInfo& y = instances[b];
      if (positions) {
        const double lx = SliceLocation(x), ly = SliceLocation(y);
        if (lx != ly) return lx < ly;
      }
      if (numbers && *x.instance_number != *y.instance_number) {
        return *x.instance_number < *y.instance_number;
      }
      return x.sop_instance_uid < y.sop_instance_uid;
    });
  }
  return series;
}

std::string SeriesMismatch(const DicomInstanceInfo& first, const DicomInstanceInfo& candidate) {
  if (first.rows != candidate.rows || first.columns != candidate.columns) {
    return StrCat("its size ", candidate.columns, " x ", candidate.rows,
                  " differs from its series' ", first.columns, " x ", first.rows);
  }
  if (first.samples_per_pixel != candidate.samples_per_pixel) {
    return StrCat("it has ", candidate.samples_per_pixel, " samples per pixel, its series ",
                  first.samples_per_pixel);
  }
  return "";
}

}  // namespace infera
