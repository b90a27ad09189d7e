"""Dataset-job images/s on SQLite vs PostgreSQL for the same job (docs/PERFORMANCE.md,
"Several nodes on PostgreSQL"), and with 1, 2 and 3 nodes on PostgreSQL.

Starts its own PostgreSQL (initdb into a temp folder, a unix socket only; as the
`postgres` user when root), then for each setup `infera serve` node(s) on a fresh
store: uploads the same N images, starts one inference job and times it from the start
request to `completed` (polling every 20 ms). Several nodes share the job only by
claiming it whole, so the 2- and 3-node rows show a single job's rate is one node's;
throughput grows with jobs, not nodes (see PERFORMANCE.md).

  python3 bench/cluster_jobs.py [--images 200] [--model tiny_multiclass]
      [--repo build/test-models/repo] [--image build/test-models/images/rgb_regions.png]
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from probe_server import ProbeServer

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def as_pg(args):
    if os.geteuid() == 0:
        return ["/usr/sbin/runuser", "-u", "postgres", "--"] + args
    return args


class Postgres:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="infera-bench-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.databases = 0

    def __enter__(self):
        data = os.path.join(self.dir, "data")
        subprocess.run(as_pg([PG_BIN + "/initdb", "-D", data, "-U", "postgres", "--auth=trust",
                              "-E", "UTF8", "--locale=C", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(as_pg([PG_BIN + "/pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l",
                              os.path.join(self.dir, "log"), "-o",
                              "-c listen_addresses= -c unix_socket_directories=" + self.dir]),
                       check=True, stdout=subprocess.DEVNULL)
        return self

    def fresh_url(self):
        self.databases += 1
        name = "bench_%d" % self.databases
        subprocess.run(as_pg([PG_BIN + "/createdb", "-h", self.dir, "-U", "postgres", name]),
                       check=True)
        return "postgresql://postgres@/%s?host=%s" % (name, self.dir)

    def __exit__(self, *exc):
        subprocess.run(as_pg([PG_BIN + "/pg_ctl", "stop", "-m", "immediate", "-w", "-D",
                              os.path.join(self.dir, "data")]), stdout=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request(method, path, body, headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def multipart(files):
    boundary = "bench" + uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"files\"; "
                      "filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n" %
                      (boundary, name)).encode() + data + b"\r\n")
    body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
    return body, "multipart/form-data; boundary=" + boundary


def run_job(ports, image, count, model):
    """Uploads `count` copies of `image` through the first node, runs one job; images/s."""
    status, body = request(ports[0], "POST", "/api/datasets", json.dumps({"name": "bench"}))
    assert status == 201, body
    dataset = json.loads(body)["id"]
    for start in range(0, count, 50):
        files = [("img%04d.png" % i, image) for i in range(start, min(count, start + 50))]
        data, content_type = multipart(files)
        status, body = request(ports[0], "POST", "/api/datasets/%d/files" % dataset, data,
                               {"Content-Type": content_type})
        assert status == 201, body
    begin = time.time()
    status, body = request(ports[0], "POST", "/api/inferences/start",
                           json.dumps({"dataset_id": dataset, "model_id": model}))
    assert status == 202, body
    job = json.loads(body)["inference_id"]
    deadline = begin + 600
    while time.time() < deadline:
        status, body = request(ports[-1], "GET", "/api/inferences/%d" % job)
        record = json.loads(body)
        if record["status"] not in ("queued", "running"):
            break
        time.sleep(0.02)
    elapsed = time.time() - begin
    assert record["status"] == "completed", record["status"]
    return count / elapsed


def config(folder, repo, storage):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "config.yaml")
    with open(path, "w") as f:
        f.write("server: {port: 0}\nmodel_repository: %s\n%s\nauth: {enabled: false}\n" %
                (repo, storage))
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infera", default="build/infera")
    ap.add_argument("--repo", default="build/test-models/repo")
    ap.add_argument("--model", default="tiny_multiclass")
    ap.add_argument("--image", default="build/test-models/images/rgb_regions.png")
    ap.add_argument("--images", type=int, default=200)
    args = ap.parse_args()
    with open(args.image, "rb") as f:
        image = f.read()
    work = tempfile.mkdtemp(prefix="infera-bench-cluster-")
    # A repository of the one model (nodes load every model of theirs at start).
    repo = os.path.join(work, "repo")
    shutil.copytree(os.path.join(args.repo, args.model), os.path.join(repo, args.model))
    rates = {}
    try:
        with ProbeServer(args.infera, config(os.path.join(work, "sqlite"), repo,
                                             "storage: {path: data}")) as port:
            rates["SQLite, 1 node"] = run_job([port], image, args.images, args.model)
        with Postgres() as pg:
            for nodes in (1, 2, 3):
                url = pg.fresh_url()
                servers = [ProbeServer(args.infera, config(os.path.join(work, "pg%d_%d" % (nodes, i)),
                                                           repo, "storage: {url: '%s'}" % url))
                           for i in range(nodes)]
                ports = []
                try:
                    for s in servers:
                        ports.append(s.__enter__())
                    rates["PostgreSQL, %d node%s" % (nodes, "s" if nodes > 1 else "")] = run_job(
                        ports, image, args.images, args.model)
                finally:
                    for s in servers[:len(ports)]:
                        s.__exit__(None, None, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rates["SQLite, 1 node"]
    print("dataset job, %d images, model %s" % (args.images, args.model))
    for name, rate in rates.items():
        print("  %-22s %8.1f images/s  (%.2f x SQLite)" % (name, rate, rate / base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
