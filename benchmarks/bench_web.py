"""Load check of the web server: 8 concurrent clients send 500 predictions to a local server.

    python benchmarks/bench_web.py                       # SimpleConvNet, 8 clients, 500 requests
    python benchmarks/bench_web.py --model mlp --clients 4 --requests 200

The server is the real command (``dlscratch serve MODEL_FILE --port 0``) in its own process;
the model is the registry's network with fresh weights (speed does not depend on training),
saved to a temporary file. Each request posts what the draw page posts: a 280x280 PNG of a
test digit, dark ink on white (from the bundled mnist-sample). The script reports errors (any
answer but 200, or a failed connection; must be 0), the median and 95th-percentile latency
and the throughput, and exits with status 1 if there was an error.
"""

from __future__ import annotations

import argparse
import io
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def canvases(n: int) -> list[bytes]:
    """``n`` 280x280 PNGs of test digits, dark ink on white paper, as the page sends them."""
    from PIL import Image

    from dlscratch.datasets import load_mnist

    _, (x, _) = load_mnist(dataset="mnist-sample", flatten=False)
    out = []
    for i in range(n):
        a = np.kron(1.0 - x[i, 0], np.ones((10, 10)))
        buf = io.BytesIO()
        Image.fromarray(np.rint(a * 255).astype(np.uint8), mode="L").save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def start_server(model_file: Path, runs_dir: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "dlscratch.cli", "serve", str(model_file), "--port", "0",
           "--runs-dir", str(runs_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"the server stopped before serving (exit {proc.wait()})")
        found = re.search(r"serving at (http://\S+/)", line)
        if found:
            return proc, found.group(1)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn", help="registry name of the served network")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()

    import httpx

    from dlscratch.io import save
    from dlscratch.models.registry import build_model

    images = canvases(50)
    with tempfile.TemporaryDirectory() as tmp:
        model_file = save(build_model(args.model, rng=0), Path(tmp) / "model.npz")
        proc, url = start_server(model_file, Path(tmp) / "runs")
        try:
            with httpx.Client() as c:  # warm-up: first request loads what is lazy
                c.post(url + "api/predict", content=images[0], timeout=60).raise_for_status()
            jobs: queue.Queue[int] = queue.Queue()
            for i in range(args.requests):
                jobs.put(i)
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()

            def client() -> None:
                with httpx.Client(timeout=60) as c:
                    while True:
                        try:
                            i = jobs.get_nowait()
                        except queue.Empty:
                            return
                        t0 = time.perf_counter()
                        try:
                            r = c.post(url + "api/predict", content=images[i % len(images)],
                                       headers={"Content-Type": "image/png"})
                            ok = r.status_code == 200 and len(r.json()["probabilities"]) == 10
                            problem = None if ok else f"HTTP {r.status_code}: {r.text[:100]}"
                        except Exception as exc:  # noqa: BLE001 - every failure counts
                            problem = f"{type(exc).__name__}: {exc}"
                        dt = time.perf_counter() - t0
                        with lock:
                            latencies.append(dt)
                            if problem:
                                errors.append(problem)

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(10)
    ms = sorted(1000 * v for v in latencies)
    p95 = ms[min(len(ms) - 1, int(np.ceil(0.95 * len(ms))) - 1)]
    print(f"model {args.model}, {args.clients} clients, {len(ms)} predictions in {wall:.1f} s "
          f"({len(ms) / wall:.1f}/s), cpus {os.cpu_count()}")
    print(f"errors {len(errors)}; latency median {statistics.median(ms):.0f} ms, "
          f"95th percentile {p95:.0f} ms, max {ms[-1]:.0f} ms")
    for e in errors[:5]:
        print("  error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
