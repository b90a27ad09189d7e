// Cellpose's input preparation (v2/v3 transforms.reshape and normalize_img):
// picks the [cyto, nucleus] channel pair the network segments from an image,
// and normalises each channel between its 1st and 99th percentiles
// (normalize99).
//
// Channel selection, `channels` = [cyto, nucleus] with 0 = gray, 1 = R, 2 = G,
// 3 = B (more generally k >= 1 = the image's channel k - 1):
//   a 1-channel image             -> [the image, 0]     (whatever `channels`
//   says); channels[0] == 0              -> [mean of all the image's channels,
//   0] (nucleus ignored); otherwise                     -> [channel cyto - 1,
//   channel nucleus - 1 or 0 when
//                                    nucleus == 0].
// Cellpose does not know alpha: a 2- or 4-channel image's last channel takes
// part in the mean like any other (a constant alpha only shifts the mean, which
// normalisation removes).
//
// Normalisation (normalize99, per channel, float32): a channel whose values are
// all equal (ptp == 0) is left as it is; otherwise with p1, p99 its 1st and
// 99th percentiles (imaging/normalize.h ChannelPercentiles: numpy's linear
// method),
//   x -> (x - p1) / (p99 - p1)   when p99 - p1 > 1e-3,
//   x -> 0                        otherwise.
// Values are not clipped.
//
// Pure functions; thread-safe.
#pragma once

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

// CellposeChannels: Cellpose v2/v3's `channels` param.
struct CellposeChannels {
  int cyto = 0;
  int nucleus = 0;
};

// The highest channel index Cellpose's `channels` can name (3 = blue).
inline constexpr int kMaxCellposeChannel = 3;

// The [cyto, nucleus] pair of `image` as a 2-channel float32 image of its size
// (see the file comment). InvalidArgument for an empty image, a data size that
// does not match the geometry, a channel index outside [0,
// kMaxCellposeChannel], or a multi-channel image with fewer channels than
// `channels` names (e.g. channels [3, 0] on a 2-channel image).
StatusOr<Image> SelectCellposeChannels(const Image& image, CellposeChannels channels);

// normalize99 of every channel of a float32 image, in place (see the file
// comment). InvalidArgument for an image that is not float32 or is empty.
Status Normalize99(Image& image);

}  // namespace infera
