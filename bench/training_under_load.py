#!/usr/bin/python3
"""/predict latency on a classifier with and without a retraining job (issue 18;
docs/PERFORMANCE.md).

Starts `infera serve` on a scratch copy of CLASSIFIER and TRAIN_MODEL (auth off, a
scratch storage folder, `training: {threads: T}`), uploads IMAGES synthetic images
(dark disks on a bright background) with their binary masks as an annotation set, then
runs the same closed loop — CLIENTS threads posting one image to /predict/CLASSIFIER for
SECONDS — three times: without training, while a retraining job of TRAIN_MODEL on that set
runs (started before, canceled after), and without training again. Prints each phase's
requests, failures, p50 and p99, and the ratios of the training phase to the mean of the
two phases without, as JSON on the last line.

  /usr/bin/python3 bench/training_under_load.py [--infera build/infera]
      [--repo build/test-models/repo] [--classifier mobilenet_v2] [--train-model tiny_unet]
      [--image build/test-models/images/photo.png] [--clients 4] [--seconds 15]
      [--images 16] [--threads 1]

Every loop is bounded by --seconds (and the waits by fixed limits); the server is stopped
at the end and the scratch folder removed.
"""

import argparse
import base64
import http.client
import json
import os
import random
import shutil
import struct
import tempfile
import threading
import time
import uuid
import zlib

from probe_server import ProbeServer


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def png_gray8(width, height, pixels):
    """An 8-bit greyscale PNG of row-major `pixels` (ints 0..255)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"".join(b"\x00" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def disk_image(seed, n=64):
    rng = random.Random(seed)
    disks = [(rng.randint(12, 52), rng.randint(12, 52), rng.randint(5, 10))
             for _ in range(rng.randint(1, 3))]
    image, mask = [], []
    for y in range(n):
        for x in range(n):
            inside = any((x - cx) ** 2 + (y - cy) ** 2 <= r * r for cx, cy, r in disks)
            image.append(max(0, min(255, (50 if inside else 200) + rng.randint(-12, 12))))
            mask.append(1 if inside else 0)
    return png_gray8(n, n, image), png_gray8(n, n, mask)


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method, path, body=None, headers=None, want=200):
        self.conn.request(method, path, body, headers or {})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != want:
            raise SystemExit("%s %s: %d %s" % (method, path, response.status, data[:300]))
        return json.loads(data) if data else None

    def json(self, method, path, body, want=200):
        return self.call(method, path, json.dumps(body), {"Content-Type": "application/json"}, want)


def multipart(files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"files\"; filename=\"%s\"\r\n"
                      "Content-Type: image/png\r\n\r\n" % (boundary, name)).encode() + data + b"\r\n")
    return b"".join(parts) + ("--%s--\r\n" % boundary).encode(), \
        "multipart/form-data; boundary=" + boundary


def annotated_set(api, images):
    dataset = api.json("POST", "/api/datasets", {"name": "bench"}, 201)["id"]
    pairs = [disk_image(1000 + i) for i in range(images)]
    body, ctype = multipart([("img%d.png" % i, p[0]) for i, p in enumerate(pairs)])
    files = api.call("POST", "/api/datasets/%d/files" % dataset, body, {"Content-Type": ctype},
                     201)["files"]
    labels = [{"id": 1, "name": "disk"}]
    set_id = api.json("POST", "/api/datasets/%d/annotations" % dataset,
                      {"name": "disks", "kind": "semantic", "labels": labels}, 201)["id"]
    for f, (_, mask) in zip(files, pairs):
        api.call("PUT", "/api/annotations/%d/images/%d/mask" % (set_id, f["id"]), mask,
                 {"Content-Type": "image/png"}, 201)
    return set_id


def load_phase(port, model, body, clients, seconds):
    stop_at = time.time() + seconds
    lock = threading.Lock()
    samples = []  # (ms, ok)

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.time() < stop_at:
            start = time.time()
            ok = False
            try:
                conn.request("POST", "/predict/" + model, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                samples.append(((time.time() - start) * 1000, ok))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = [m for m, ok in samples if ok]
    return {"requests": len(samples), "failures": sum(1 for _, ok in samples if not ok),
            "rps": round(len(ms) / seconds, 1), "p50_ms": percentile(ms, 50),
            "p99_ms": percentile(ms, 99)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infera", default="build/infera")
    ap.add_argument("--repo", default="build/test-models/repo")
    ap.add_argument("--classifier", default="mobilenet_v2")
    ap.add_argument("--train-model", default="tiny_unet")
    ap.add_argument("--image", default="build/test-models/images/photo.png")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    with open(args.image, "rb") as f:
        body = json.dumps({"image": base64.b64encode(f.read()).decode()})
    tmp = tempfile.mkdtemp(prefix="infera-train-load-")
    try:
        repo = os.path.join(tmp, "repo")
        for model in {args.classifier, args.train_model}:
            shutil.copytree(os.path.join(args.repo, model), os.path.join(repo, model))
        config = os.path.join(tmp, "config.yaml")
        with open(config, "w") as f:
            f.write("server: {host: 127.0.0.1, port: 0, access_log: false}\n")
            f.write("model_repository: %s\n" % repo)
            f.write("storage: {path: %s}\n" % os.path.join(tmp, "data"))
            f.write("training: {concurrent_jobs: 1, threads: %d}\n" % args.threads)
            f.write("auth: {enabled: false}\n")
        with ProbeServer(args.infera, config) as port:
            api = Client(port)
            set_id = annotated_set(api, args.images)
            load_phase(port, args.classifier, body, args.clients, 2.0)  # warm-up
            without = load_phase(port, args.classifier, body, args.clients, args.seconds)

            job = api.json("POST", "/api/retraining/start",
                           {"model_id": args.train_model, "annotation_set_ids": [set_id],
                            "params": {"epochs": 10000, "threads": args.threads}},
                           202)["retraining_id"]
            deadline = time.time() + 120
            while time.time() < deadline:
                state = api.call("GET", "/api/retraining/%d" % job)
                if state["status"] == "running" and state["epochs"]:
                    break
                if state["status"] not in ("queued", "running"):
                    raise SystemExit("the retraining ended: %s" % json.dumps(state)[:500])
                time.sleep(0.1)
            during = load_phase(port, args.classifier, body, args.clients, args.seconds)
            state = api.call("GET", "/api/retraining/%d" % job)
            epochs = state["progress"]["epochs_done"]
            api.call("POST", "/api/retraining/%d/cancel" % job)
            while time.time() < deadline + 60:
                if api.call("GET", "/api/retraining/%d" % job)["status"] == "canceled":
                    break
                time.sleep(0.1)
            after = load_phase(port, args.classifier, body, args.clients, args.seconds)

        def ratio(key):
            base = (without[key] + after[key]) / 2.0
            return round(during[key] / base, 2) if base else None

        print(json.dumps({"classifier": args.classifier, "trained": args.train_model,
                          "clients": args.clients, "seconds": args.seconds,
                          "training_threads": args.threads, "cores": os.cpu_count(),
                          "epochs_during_load": epochs,
                          "without_training": without, "during_training": during,
                          "without_training_after": after,
                          "p50_ratio": ratio("p50_ms"), "p99_ratio": ratio("p99_ms"),
                          "rps_ratio": ratio("rps")}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
