#!/usr/bin/env python3
"""The cost of tracing on /predict throughput (issue 20): `infera bench` served
measurements with tracing off, at rate 1.0 and at rate 0.01, the spans going to a real
OTLP/HTTP sink (this script, 127.0.0.1, answering 200 to every POST /v1/traces).

  bench/tracing_cost.py [--infera build/infera] [--config build/test-models/config.yaml]
                        [--model tiny_cls] [--seconds 5] [--concurrency 1,8] [--rounds 2]

Each round runs the three modes one after the other (the order rotates between rounds,
so a drift of the shared machine's load does not favour one mode); the table gives the
mean requests/s per mode and concurrency and the ratio to tracing off.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    spans = 0
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Sink.lock:
            Sink.spans += body.count(b'"startTimeUnixNano"')  # once per span
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def portable_config(path, workdir):
    """The config's text with its model_repository made absolute and its storage in
    `workdir` (the variants live in a temp folder; the original's folder is left alone)."""
    base = os.path.dirname(os.path.abspath(path))
    lines = []
    with open(path) as f:
        for line in f:
            if line.startswith("model_repository:"):
                repo = line.split(":", 1)[1].strip()
                line = "model_repository: %s\n" % os.path.join(base, repo)
            if line.startswith("storage:"):
                continue
            lines.append(line)
    lines.append("storage: {path: %s}\n" % os.path.join(workdir, "data"))
    return "".join(lines)


def run_bench(args, config_text, workdir, name):
    config = os.path.join(workdir, name + ".yaml")
    with open(config, "w") as f:
        f.write(config_text)
    out = os.path.join(workdir, name + ".json")
    cmd = [args.infera, "bench", "--config", config, "--model", args.model,
           "--seconds", str(args.seconds), "--concurrency", args.concurrency,
           "--batch-sizes", "1", "--json", out]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        report = json.load(f)
    return {int(c): m["per_second"] for c, m in report["served"].items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--infera", default="build/infera")
    p.add_argument("--config", default="build/test-models/config.yaml")
    p.add_argument("--model", default="tiny_cls")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()

    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d/v1/traces" % sink.server_address[1]

    workdir = tempfile.mkdtemp(prefix="tracing-bench-")
    base = portable_config(args.config, workdir)
    modes = [("off", ""),
             ("rate 1.0", "tracing: {endpoint: %s, rate: 1.0}\n" % endpoint),
             ("rate 0.01", "tracing: {endpoint: %s, rate: 0.01}\n" % endpoint)]
    results = {name: [] for name, _ in modes}
    try:
        for r in range(args.rounds):
            order = modes[r % len(modes):] + modes[:r % len(modes)]
            for name, extra in order:
                got = run_bench(args, base + extra, workdir, "m%d" % len(results[name]))
                results[name].append(got)
                print("round %d %-9s %s  (load average %.1f)" % (
                      r + 1, name,
                      "  ".join("c=%d: %.1f req/s" % (c, v) for c, v in sorted(got.items())),
                      os.getloadavg()[0]), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sink.shutdown()

    conc = sorted(results["off"][0])
    mean = {name: {c: sum(run[c] for run in runs) / len(runs) for c in conc}
            for name, runs in results.items()}
    print("\n| tracing | " + " | ".join("c=%d req/s | ratio" % c for c in conc) + " |")
    print("|---|" + "---|---|" * len(conc))
    for name, _ in modes:
        cells = []
        for c in conc:
            cells.append("%.1f" % mean[name][c])
            cells.append("%.3f" % (mean[name][c] / mean["off"][c]))
        print("| %s | %s |" % (name, " | ".join(cells)))
    print("\nspans received by the sink: %d" % Sink.spans)


if __name__ == "__main__":
    sys.exit(main())
