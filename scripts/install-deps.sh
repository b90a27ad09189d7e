#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: packages already installed are skipped; `apt-get update` runs at most
# once, and only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  clang-format clang-tidy
  # engine (LibTorch) and the Python side that makes test models
  libtorch-dev python3-torch python3-torchvision python3-numpy python3-yaml
  # HTTP, JSON, config, CLI, logs, errors
  libboost-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libabsl-dev libfmt-dev
  # images
  libpng-dev libdeflate-dev libturbojpeg0-dev libtiff-dev zlib1g-dev libzip-dev
  # annotations: CVAT XML (expat, no entity expansion)
  libexpat1-dev
  # the store: SQLite records, OpenSSL's SHA-256 for blob names; argon2id password hashes;
  # libpq for the PostgreSQL store, and the PostgreSQL server its tests start themselves
  libsqlite3-dev libssl-dev libargon2-dev libpq-dev postgresql-15
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev python3-pil
  # promtool (the prometheus package) checks the /metrics exposition in the tests
  prometheus
  # the web page's end-to-end test runs in Debian's Chromium (driven by npm playwright-core)
  chromium
  # real images (cell.png, coins.png) for the cellpose runner's tests
  python3-skimage
  # OpenCV: DNN runs ONNX graphs; imgproc (GrabCut, watershed) runs the annotation assist tools
  libopencv-imgproc-dev
  # ONNX: OpenCV DNN runs the graphs, libonnx (protobuf) rewrites what it rejects;
  # python3-onnx for the TorchScript converter; opencv-doc ships real text images
  libopencv-dnn-dev libonnx-dev libprotobuf-dev
  python3-onnx opencv-doc
  # gRPC front end (Open Inference Protocol over gRPC): C++ library and code generators;
  # the tests generate a Python client from the same .proto
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-grpc-tools
  # clinical images: DCMTK decodes DICOM and writes DICOM SEG (dcmseg); dicom3tools'
  # dciodvfy validates it; pydicom reads it back and ships the test files; the tests start
  # Orthanc with its DICOMweb plugin as a real PACS
  libdcmtk-dev dcmtk dicom3tools python3-pydicom orthanc orthanc-dicomweb
  # several nodes: the cluster demo and test put HAProxy in front of the nodes
  haproxy
)
# Node.js + npm (playwright-core needs Node >= 18): Debian's, unless a node is on PATH.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
