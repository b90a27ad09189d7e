# The layers of src/: one row per top-level folder, bottom to top, with the folders its
# files may include (`#include "folder/..."`). It is the one table both of these read:
#   - CMakeLists.txt builds one static library per row, infera_<folder>, linked to the
#     libraries of the folders it names (exe: the `infera` binary);
#   - cmake/check_layers.cmake (run by the build, by ctest -L unit and by make lint)
#     fails when a file includes a folder its row does not name, when a row names a
#     folder that is not below it, when a folder of src/ has no row, or when a
#     third-party header that one folder owns (at the end) is included elsewhere.
# A row may name only folders whose rows come before it (the lower layers), so the
# layers have no cycles. Dependencies
# are not transitive: a folder that includes tensor/ names tensor even when a folder it
# names already does. docs/ARCHITECTURE.md shows this table; keep both the same.
#
# Adding a folder: one row here, at the height of what it includes (and the folders
# that will include it name it in their rows).

macro(infera_layer name)
  list(APPEND INFERA_LAYERS ${name})
  set(INFERA_LAYER_DEPS_${name} ${ARGN})
endmacro()

# Headers of a third-party library that only `folder` (and its sub-folders) may include:
# `#include <prefix...>` anywhere else in src/ is a violation. Their include paths and
# compile flags are given to that folder's library alone (see CMakeLists.txt).
macro(infera_private_headers folder)
  list(APPEND INFERA_PRIVATE_HEADER_OWNERS ${folder})
  set(INFERA_PRIVATE_HEADERS_${folder} ${ARGN})
endmacro()

set(INFERA_LAYERS "")
set(INFERA_PRIVATE_HEADER_OWNERS "")

#            folder    may include
infera_layer(common)
infera_layer(tensor    common)
infera_layer(metrics   common)
# W3C trace context, spans, the sampler and the OTLP/HTTP exporter (issue 20).
infera_layer(tracing   common metrics)
infera_layer(cellpose  common)
infera_layer(archive   common)
infera_layer(store     common)
infera_layer(auth      common store)
infera_layer(web       common auth)
infera_layer(imaging   common tensor)
# The annotation editor's assist tools on OpenCV (GrabCut, watershed): masks proposed.
infera_layer(assist    common imaging)
infera_layer(batching  common tensor tracing)
infera_layer(onnx_import common tensor)
# DICOM (DCMTK): decoding, windowing; DCMTK's headers only here.
infera_layer(dicom     common imaging)
infera_layer(datasets  common dicom imaging store)
# Annotation formats (label images, COCO, CVAT): pure conversions between files and masks.
infera_layer(annotations common imaging archive store)
infera_layer(backends  common tensor onnx_import)
infera_layer(runners   common tensor imaging cellpose)
infera_layer(models    common tensor dicom imaging batching metrics backends runners)
# The transport-neutral core the front ends call: the image pipeline, the protocol's
# tensor inference, ownership.
# The LibTorch trainer (issue 18): fine-tunes a TorchScript version on annotated images
# with its runner's preprocessing, targets and loss; LibTorch's headers in its .cc files.
infera_layer(training  common tensor imaging cellpose runners backends models)
infera_layer(serving   common tensor imaging backends batching runners models store auth
                       tracing)
# The Open Inference Protocol's gRPC front end (proto/grpc_service.proto) on serving/.
infera_layer(grpc      common tensor auth models serving tracing)
# Active learning: uncertainty / flipped-prediction scores of a model's probabilities and
# the ranking of a dataset's images through the image pipeline.
infera_layer(active_learning common dicom imaging models runners serving store)
infera_layer(jobs      common annotations datasets dicom imaging models runners store serving
                       tracing training)
infera_layer(api       common tensor annotations archive assist auth datasets dicom imaging jobs
                       metrics models runners store web serving tracing active_learning training)
# DICOMweb (issue 21): the QIDO/WADO/STOW client over api/HttpClient, the durable
# 'dicomweb_import' job that pulls a PACS's instances into a dataset, the export of a
# job's DICOM results, and their /api routes.
infera_layer(dicomweb  common api auth datasets dicom jobs serving store)
# The server's composition: its config file parsed into the option structs of the
# folders below, and the Server that wires stores, models, jobs and routes together.
infera_layer(server    common api auth dicomweb grpc jobs metrics models serving store web tracing)
infera_layer(cli       common annotations api auth backends cellpose grpc imaging jobs models
                       onnx_import runners store serving server training)
infera_layer(exe       common cli)

#                      folder                third-party header prefixes
infera_private_headers(backends/torchscript  torch/ ATen/ c10/ caffe2/)
infera_private_headers(training              torch/ ATen/ c10/ caffe2/)
infera_private_headers(backends/onnx         opencv2/)
infera_private_headers(assist                opencv2/)
infera_private_headers(onnx_import           onnx/ google/protobuf/)
infera_private_headers(store                 libpq-fe.h libpq/ postgres_ext.h pg_config)
# gRPC and the C++ generated from proto/ (build/generated/proto/).
infera_private_headers(grpc                  grpcpp/ grpc/ grpc++/ proto/)
infera_private_headers(dicom                 dcmtk/)
# libdeflate: imaging/png_fast_decode's inflater and CRC-32 (issue 23).
infera_private_headers(imaging               libdeflate.h)
