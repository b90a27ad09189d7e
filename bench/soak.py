#!/usr/bin/python3
"""Soak (issue 22; docs/RELIABILITY.md): a mixed load for a while, the server's memory
watched.

Starts `infera serve` on the demo repository (auth on, a scratch storage folder, an admin
password of its own), uploads a small dataset, then keeps CLIENTS threads busy for
SECONDS with a mix of requests: /predict on a classifier, /v2/.../infer (a BYTES image, binary extension), /v1
and /v2 metadata, /api/datasets listing, a bad request (malformed JSON, expected 400)
and, every few seconds, a dataset job. Samples the server's resident memory (VmRSS)
every second. Prints a JSON report on the last line: requests and answers by status,
any 5xx or connection errors, jobs finished, and RSS at the start of the load, its peak
and at the end.

  /usr/bin/python3 bench/soak.py [--infera build/infera] [--repo demo/repo]
      [--model tiny_cls] [--clients 8] [--seconds 180]

Every loop is bounded by --seconds; the server is stopped at the end.
"""

import argparse
import base64
import collections
import http.client
import json
import os
import sys
import tempfile
import threading
import time

from probe_server import ProbeServer
import uuid

PASSWORD = "soak-" + uuid.uuid4().hex[:12]


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body, headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def multipart(files):
    boundary = "soak" + uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"files\"; "
                      "filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n" %
                      (boundary, name)).encode() + data + b"\r\n")
    body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
    return body, "multipart/form-data; boundary=" + boundary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infera", default="build/infera")
    ap.add_argument("--repo", default="demo/repo")
    ap.add_argument("--model", default="tiny_cls")
    ap.add_argument("--image", default="demo/images/disk.png")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=180.0)
    args = ap.parse_args()

    with open(args.image, "rb") as f:
        image = f.read()
    predict_body = json.dumps({"image": base64.b64encode(image).decode()})
    tmp = tempfile.mkdtemp(prefix="infera-soak-")
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        f.write("server: {host: 127.0.0.1, port: 0, access_log: false}\n")
        f.write("model_repository: %s\n" % os.path.abspath(args.repo))
        f.write("storage: {path: %s}\n" % os.path.join(tmp, "data"))
    env = dict(os.environ, INFERA_ADMIN_PASSWORD=PASSWORD)
    server = ProbeServer(args.infera, config, env)
    with server as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        status, body = request(conn, "POST", "/api/auth/login",
                               json.dumps({"username": "admin", "password": PASSWORD}),
                               {"Content-Type": "application/json"})
        if status != 200:
            sys.exit("login failed: %d %s" % (status, body[:200]))
        auth = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
        status, body = request(conn, "POST", "/api/datasets",
                               json.dumps({"name": "soak"}),
                               dict(auth, **{"Content-Type": "application/json"}))
        dataset = json.loads(body)["id"]
        upload, content_type = multipart([("img%d.png" % i, image) for i in range(4)])
        status, body = request(conn, "POST", "/api/datasets/%d/files" % dataset, upload,
                               dict(auth, **{"Content-Type": content_type}))
        if status not in (200, 201):
            sys.exit("upload failed: %d %s" % (status, body[:200]))
        conn.close()

        # /v2 BYTES input: the encoded image through the binary extension (a 4-byte length
        # and the bytes after the JSON header).
        element = len(image).to_bytes(4, "little") + image
        v2_header = json.dumps({"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES",
                                            "parameters": {"binary_data_size": len(element)}}]})
        v2_body = v2_header.encode() + element
        mix = [
            ("POST", "/predict/" + args.model, predict_body, {"Content-Type": "application/json"}),
            ("POST", "/v2/models/%s/infer" % args.model, v2_body,
             {"Inference-Header-Content-Length": str(len(v2_header))}),
            ("GET", "/v1/models", None, {}),
            ("GET", "/v2/models/" + args.model, None, {}),
            ("GET", "/api/datasets", None, auth),
            ("POST", "/predict/" + args.model, "{not json", {"Content-Type": "application/json"}),
        ]
        stop_at = time.time() + args.seconds
        lock = threading.Lock()
        statuses = collections.Counter()
        errors = collections.Counter()
        jobs = {"started": 0, "finished": 0}

        def client(k):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            i = k
            while time.time() < stop_at:
                method, path, body, headers = mix[i % len(mix)]
                i += 1
                try:
                    status, _ = request(c, method, path, body, headers)
                    with lock:
                        statuses["%s %s" % (status, path.split("/")[1])] += 1
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        errors[type(e).__name__] += 1
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def jobber():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while time.time() < stop_at - 5:
                status, body = request(c, "POST", "/api/inferences/start",
                                       json.dumps({"dataset_id": dataset, "model_id": args.model}),
                                       dict(auth, **{"Content-Type": "application/json"}))
                if status in (200, 201, 202):
                    job = json.loads(body).get("inference_id")
                    jobs["started"] += 1
                    while time.time() < stop_at and job is not None:
                        status, body = request(c, "GET", "/api/inferences/%s" % job, None, auth)
                        if status == 200 and json.loads(body).get("status") in (
                                "completed", "failed", "canceled"):
                            jobs["finished"] += 1
                            break
                        time.sleep(0.5)
                time.sleep(3)

        rss = []

        def watcher():
            while time.time() < stop_at:
                value = rss_kib(server.pid)
                if value is not None:
                    rss.append(value)
                time.sleep(1)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        threads += [threading.Thread(target=jobber), threading.Thread(target=watcher)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        five_xx = sum(n for key, n in statuses.items() if key.startswith("5"))
        report = {
            "seconds": args.seconds,
            "clients": args.clients,
            "requests": sum(statuses.values()) + sum(errors.values()),
            "answers": dict(sorted(statuses.items())),
            "server_errors_5xx": five_xx,
            "connection_errors": dict(errors),
            "jobs": jobs,
            "rss_mib": {"start": round(rss[0] / 1024, 1) if rss else None,
                        "peak": round(max(rss) / 1024, 1) if rss else None,
                        "end": round(rss[-1] / 1024, 1) if rss else None},
        }
        print(json.dumps(report))


if __name__ == "__main__":
    main()
