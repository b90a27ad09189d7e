// The two functions of OpenCV's imgproc module the assist tools use (grabCut, watershed),
// private to assist/. Debian's libopencv-imgproc406 is installed (libopencv-dnn406 needs
// it) but its -dev package with opencv2/imgproc.hpp is not: when the header is there it
// is used; otherwise these declarations, copied from OpenCV 4.6's imgproc.hpp (a stable
// C++ ABI over core's InputArray types), stand in for it.
#pragma once

#include <opencv2/core.hpp>

#if __has_include(<opencv2/imgproc.hpp>)
#include <opencv2/imgproc.hpp>
#else
namespace cv {
enum GrabCutClasses { GC_BGD = 0, GC_FGD = 1, GC_PR_BGD = 2, GC_PR_FGD = 3 };
enum GrabCutModes {
  GC_INIT_WITH_RECT = 0,
  GC_INIT_WITH_MASK = 1,
  GC_EVAL = 2,
  GC_EVAL_FREEZE_MODEL = 3
};
CV_EXPORTS_W void grabCut(InputArray img, InputOutputArray mask, Rect rect,
                          InputOutputArray bgdModel, InputOutputArray fgdModel, int iterCount,
                          int mode = GC_EVAL);
CV_EXPORTS_W void watershed(InputArray image, InputOutputArray markers);
}  // namespace cv
#endif
