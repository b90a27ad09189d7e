#!/usr/bin/python3
"""Reload under load (issue 22 item 7; docs/RELIABILITY.md).

Starts `infera serve` on the demo repository (model_control: explicit, auth off, a
scratch storage folder), keeps CLIENTS threads posting an image to /predict/MODEL for
SECONDS, and from the second second on reloads RELOAD (POST
/v2/repository/models/RELOAD/load) again and again. Prints requests, failures and the
latency percentiles of the requests that overlapped a reload against those that did not,
plus each reload's duration, as JSON on the last line.

  /usr/bin/python3 bench/reload_under_load.py [--infera build/infera] [--repo demo/repo]
      [--model mobilenet_v2] [--reload mobilenet_v2] [--clients 16] [--seconds 20]

Every loop is bounded by --seconds; the server is stopped at the end.
"""

import argparse
import base64
import http.client
import json
import os
import tempfile
import threading
import time

from probe_server import ProbeServer


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infera", default="build/infera")
    ap.add_argument("--repo", default="demo/repo")
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--reload", default="mobilenet_v2")
    ap.add_argument("--image", default="demo/images/disk.png")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()

    with open(args.image, "rb") as f:
        body = json.dumps({"image": base64.b64encode(f.read()).decode()})
    tmp = tempfile.mkdtemp(prefix="infera-reload-")
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        f.write("server: {host: 127.0.0.1, port: 0, access_log: false}\n")
        f.write("model_repository: %s\n" % os.path.abspath(args.repo))
        f.write("model_control: {mode: explicit}\n")
        f.write("storage: {path: %s}\n" % os.path.join(tmp, "data"))
        f.write("auth: {enabled: false}\n")
    server = ProbeServer(args.infera, config)
    with server as port:
        stop_at = time.time() + args.seconds
        lock = threading.Lock()
        samples = []  # (start, end, ok)
        reloads = []  # (start, end, status)

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while time.time() < stop_at:
                start = time.time()
                ok = False
                try:
                    conn.request("POST", "/predict/" + args.model, body,
                                 {"Content-Type": "application/json"})
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                with lock:
                    samples.append((start, time.time(), ok))

        def reloader():
            time.sleep(min(2.0, args.seconds / 4))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            while time.time() < stop_at - 1:
                start = time.time()
                conn.request("POST", "/v2/repository/models/%s/load" % args.reload, "{}",
                             {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                reloads.append((start, time.time(), response.status))
                time.sleep(0.5)

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        threads.append(threading.Thread(target=reloader))
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        def overlaps(s, e):
            return any(s < re and e > rs for rs, re, _ in reloads)

        during = [(e - s) * 1000 for s, e, ok in samples if ok and overlaps(s, e)]
        outside = [(e - s) * 1000 for s, e, ok in samples if ok and not overlaps(s, e)]
        report = {
            "model": args.model,
            "reloaded": args.reload,
            "clients": args.clients,
            "requests": len(samples),
            "failures": sum(1 for _, _, ok in samples if not ok),
            "reloads": len(reloads),
            "reload_failures": sum(1 for _, _, st in reloads if st != 200),
            "reload_ms_p50": percentile([(e - s) * 1000 for s, e, _ in reloads], 50),
            "during_reload": {"n": len(during), "p50_ms": percentile(during, 50),
                              "p99_ms": percentile(during, 99)},
            "outside_reload": {"n": len(outside), "p50_ms": percentile(outside, 50),
                               "p99_ms": percentile(outside, 99)},
        }
        print(json.dumps(report))


if __name__ == "__main__":
    main()
