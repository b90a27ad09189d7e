#!/usr/bin/python3
"""Annotations at scale (issue 17; docs/PERFORMANCE.md): a 1,000-image COCO import into an
annotation set and the export of a 1,000-image job, each timed with the server's resident
memory sampled every 20 ms (peak, and above the level before the operation).

Starts `infera serve` (auth off, a scratch storage folder) on a repository holding MODEL
(a segmenter), uploads IMAGES generated gray PNGs (W x W, a few bright disks each) as one
ZIP, then:
  1. import: a COCO instances JSON with OBJECTS polygon instances per image (written
     here) into a new instances set (POST /api/annotations/{set}/import);
  2. export: the set as COCO, and a job of MODEL over the dataset as COCO, CVAT XML and
     label images (GET .../export?format=...), each read to the end and counted.
Prints one JSON object on the last line.

  /usr/bin/python3 bench/annotations_scale.py [--infera build/infera]
      [--repo build/test-models/repo] [--model tiny_unet] [--images 1000] [--size 256]
      [--objects 10] [--skip-job]

--skip-job stops after step 1's set export (for the import's memory at large sizes, e.g.
--images 64 --size 2048 --objects 300: 16-bit masks of 8 MiB).

Every wait is bounded; the server is stopped at the end.
"""

import argparse
import http.client
import io
import json
import math
import os
import struct
import tempfile
import threading
import time
import uuid
import zipfile
import zlib

from probe_server import ProbeServer


def png_gray(width, height, rows):
    """A gray 8-bit PNG of `rows` (height bytes objects of width bytes)."""
    raw = b"".join(b"\x00" + bytes(row) for row in rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def disks(index, size, count):
    """`count` disks (cx, cy, r) of image `index`, deterministic."""
    out = []
    for k in range(count):
        seed = (index * 7919 + k * 104729) % 1000003
        r = 6 + seed % 9
        cx = r + (seed * 31) % (size - 2 * r)
        cy = r + (seed * 17) % (size - 2 * r)
        out.append((cx, cy, r))
    return out


def image_png(index, size, count):
    """A dim textured background with bright disks, painted span by span."""
    rows = [bytearray(20 + (x * 3 + y * 5 + index) % 30 for x in range(size)) for y in range(size)]
    for cx, cy, r in disks(index, size, count):
        for y in range(max(0, cy - r), min(size, cy + r + 1)):
            half = int(math.sqrt(max(0, r * r - (y - cy) ** 2)))
            x0, x1 = max(0, cx - half), min(size, cx + half + 1)
            rows[y][x0:x1] = b"\xdc" * (x1 - x0)
    return png_gray(size, size, rows)


def coco(names, size, count):
    images, annotations = [], []
    next_id = 1
    for i, name in enumerate(names):
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
        for cx, cy, r in disks(i, size, count):
            poly = []
            for k in range(16):
                a = 2 * math.pi * k / 16
                poly += [round(cx + r * math.cos(a), 2), round(cy + r * math.sin(a), 2)]
            annotations.append({"id": next_id, "image_id": i + 1, "category_id": 1,
                                "segmentation": [poly], "iscrowd": 0, "area": math.pi * r * r,
                                "bbox": [cx - r, cy - r, 2 * r, 2 * r]})
            next_id += 1
    return json.dumps({"images": images, "annotations": annotations,
                       "categories": [{"id": 1, "name": "cell"}]}).encode()


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples the server's VmRSS every 20 ms while in a `with` block."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def __enter__(self):
        self.before = rss_kib(self.pid) or 0
        self.thread = threading.Thread(target=self.run)
        self.thread.start()
        return self

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid) or 0)
            self.stop.wait(0.02)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        return False

    def report(self):
        return {"rss_before_mib": round(self.before / 1024, 1),
                "rss_peak_mib": round(self.peak / 1024, 1),
                "rss_peak_above_before_mib": round((self.peak - self.before) / 1024, 1)}


def multipart(fields):
    boundary = "scale" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, filename, data, ctype in fields:
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"" % (boundary, name)).encode())
        if filename:
            out.write(("; filename=\"%s\"\r\nContent-Type: %s" % (filename, ctype)).encode())
        out.write(b"\r\n\r\n")
        out.write(data)
        out.write(b"\r\n")
    out.write(("--%s--\r\n" % boundary).encode())
    return out.getvalue(), "multipart/form-data; boundary=" + boundary


def call(port, method, path, body=None, headers=None, timeout=600):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body, headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status >= 300:
        raise SystemExit("%s %s: HTTP %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data[:1] in (b"{", b"[") else data


def stream_to_end(port, path):
    """GET `path`, reading the body in 1 MiB pieces: (bytes, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.time()
    conn.request("GET", path)
    r = conn.getresponse()
    if r.status != 200:
        raise SystemExit("GET %s: HTTP %d %s" % (path, r.status, r.read()[:300]))
    total = 0
    while True:
        piece = r.read(1 << 20)
        if not piece:
            break
        total += len(piece)
    conn.close()
    return total, time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infera", default="build/infera")
    ap.add_argument("--repo", default="build/test-models/repo")
    ap.add_argument("--model", default="tiny_unet")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--objects", type=int, default=10)
    ap.add_argument("--job-timeout", type=float, default=900)
    ap.add_argument("--skip-job", action="store_true", help="no job and no job exports")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="infera-annotations-scale-")
    repo = os.path.join(tmp, "repo")
    os.mkdir(repo)
    os.symlink(os.path.abspath(os.path.join(args.repo, args.model)), os.path.join(repo, args.model))
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        f.write("server: {host: 127.0.0.1, port: 0, access_log: false}\n")
        f.write("model_repository: %s\n" % repo)
        f.write("storage: {path: %s}\n" % os.path.join(tmp, "data"))
        f.write("auth: {enabled: false}\n")

    names = ["img_%04d.png" % i for i in range(args.images)]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for i, name in enumerate(names):
            z.writestr(name, image_png(i, args.size, args.objects))
    coco_bytes = coco(names, args.size, args.objects)
    report = {"images": args.images, "size": args.size, "objects_per_image": args.objects,
              "coco_mib": round(len(coco_bytes) / 2**20, 2)}

    server = ProbeServer(args.infera, config)
    with server as port:
        dataset = call(port, "POST", "/api/datasets", json.dumps({"name": "scale"}),
                       {"Content-Type": "application/json"})["id"]
        body, ctype = multipart([("file", "images.zip", archive.getvalue(), "application/zip")])
        start = time.time()
        call(port, "POST", "/api/datasets/%d/archive" % dataset, body, {"Content-Type": ctype})
        report["upload_s"] = round(time.time() - start, 2)

        # 1. the COCO import
        aset = call(port, "POST", "/api/datasets/%d/annotations" % dataset,
                    json.dumps({"name": "coco", "kind": "instances",
                                "labels": [{"id": 1, "name": "cell"}]}),
                    {"Content-Type": "application/json"})["id"]
        body, ctype = multipart([("format", None, b"coco", None),
                                 ("file", "instances.json", coco_bytes, "application/json")])
        with RssSampler(server.pid) as rss:
            start = time.time()
            answer = call(port, "POST", "/api/annotations/%d/import" % aset, body,
                          {"Content-Type": ctype})
            seconds = time.time() - start
        report["coco_import"] = {"seconds": round(seconds, 2), "imported": len(answer.get("imported", [])),
                                 "refused": len(answer.get("refused", [])), **rss.report()}

        with RssSampler(server.pid) as rss:
            size, seconds = stream_to_end(port, "/api/annotations/%d/export?format=coco" % aset)
        report["set_export_coco"] = {"seconds": round(seconds, 2), "mib": round(size / 2**20, 2),
                                     **rss.report()}

        if args.skip_job:
            print(json.dumps(report))
            return
        # 2. a job over the dataset, exported in three formats
        job = call(port, "POST", "/api/inferences/start",
                   json.dumps({"dataset_id": dataset, "model_id": args.model}),
                   {"Content-Type": "application/json"})["inference_id"]
        start = time.time()
        deadline = start + args.job_timeout
        while time.time() < deadline:
            state = call(port, "GET", "/api/inferences/%d" % job)
            if state["status"] not in ("queued", "running"):
                break
            time.sleep(1)
        if state["status"] != "completed":
            raise SystemExit("job %d ended %s" % (job, state["status"]))
        report["job_s"] = round(time.time() - start, 2)
        for fmt in ("coco", "cvat_xml", "label_images"):
            with RssSampler(server.pid) as rss:
                size, seconds = stream_to_end(port, "/api/inferences/%d/export?format=%s" % (job, fmt))
            report["job_export_" + fmt] = {"seconds": round(seconds, 2),
                                           "mib": round(size / 2**20, 2), **rss.report()}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
