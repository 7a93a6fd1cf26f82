"""The web pages in a real browser: Debian's Chromium, headless, driven by Playwright.

A server (uvicorn, in a thread, on a free 127.0.0.1 port) serves a small CNN trained here and a
runs folder with its real run; the browser draws a digit stroke by stroke with mouse events and
must show the prediction (the same one the API gives for the canvas image) and ten probability
bars, the feature maps, the Korean interface, and the runs page with its learning curves. The
screenshots are kept in pytest's tmp_path and, when DLSCRATCH_ARTIFACTS is set, copied there.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import need

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    need(importlib.util.find_spec("playwright") is not None,
         "the browser test needs Playwright for Python: pip install playwright (no browser "
         "download: it drives Debian's chromium)")
    need(CHROMIUM.exists(), "the browser test needs Debian's Chromium: apt-get install chromium")
    need(importlib.util.find_spec("fastapi") is not None
         and importlib.util.find_spec("uvicorn") is not None,
         "the browser test needs pip install fastapi uvicorn (dlscratch[web])")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run of a CNN (1,500 images, 2 epochs) and a second, unfinished run to overlay."""
    from dlscratch import runs
    from dlscratch.callbacks import CSVLogger
    from dlscratch.datasets import load_mnist
    from dlscratch.io import save
    from dlscratch.models.registry import build_model
    from dlscratch.trainer import Trainer

    root = tmp_path_factory.mktemp("runs")
    folder = root / "cnn-mnist-sample-20250101-120000"
    folder.mkdir()
    (x, t), (xt, tt) = load_mnist(dataset="mnist-sample", flatten=False)
    settings = {"model": "cnn", "dataset": "mnist-sample", "epochs": 2, "batch_size": 50,
                "optimizer": "adam", "lr": 0.002, "seed": 0}
    runs.write_config(folder, settings)
    net = build_model("cnn", rng=0)
    Trainer(net, x[:1500], t[:1500], xt[:300], tt[:300], epochs=2, mini_batch_size=50,
            optimizer="adam", optimizer_param={"lr": 0.002}, verbose=False, rng=0,
            callbacks=[CSVLogger(folder / runs.METRICS)]).fit()
    net.eval()
    save(net, folder / runs.MODEL)
    runs.write_plots(folder, net, xt[:300], tt[:300], [str(k) for k in range(10)])
    other = root / "mlp-mnist-sample-20250101-130000"
    other.mkdir()
    runs.write_config(other, {**settings, "model": "mlp", "epochs": 5})
    (other / runs.METRICS).write_text(
        "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n"
        "1,0.9,0.75,0.6,0.82,0.002,1\n2,0.45,0.87,0.42,0.88,0.002,1\n"
        "3,0.33,0.9,0.36,0.9,0.002,1\n")
    return root


@pytest.fixture(scope="module")
def server(run_dir):
    import uvicorn

    from dlscratch.web import create_app

    app = create_app(run_dir / "cnn-mnist-sample-20250101-120000", runs_dir=run_dir, rng=0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def _keep(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("DLSCRATCH_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def _stroke(page, box, points):
    """One stroke through ``points`` (fractions of the canvas), as a person moves a mouse."""
    x0, y0 = box["x"], box["y"]
    pts = [(x0 + fx * box["width"], y0 + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*pts[0])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        for k in range(1, 9):
            page.mouse.move(ax + (bx - ax) * k / 8, ay + (by - ay) * k / 8)
    page.mouse.up()


def _wait_predictions(page, n: int) -> None:
    page.wait_for_function(f"() => Number(document.body.dataset.predictions || 0) >= {n} && "
                           "!document.getElementById('message').classList.contains('busy')")


def _bars(page) -> list[float]:
    return [float(v.rstrip("%")) for v in page.locator("#bars .value").all_inner_texts()]


def test_draw_a_digit_and_see_the_network_respond(browser, server, tmp_path):
    import httpx

    page = browser.new_page(viewport={"width": 1150, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='1']")
    assert "cnn" in page.locator("#model-info").inner_text()
    assert page.locator("#filters canvas").count() == 30

    box = page.locator("#pad").bounding_box()
    _stroke(page, box, [(0.28, 0.22), (0.72, 0.22)])  # a 7: the bar ...
    _wait_predictions(page, 1)
    _stroke(page, box, [(0.72, 0.22), (0.55, 0.55), (0.42, 0.85)])  # ... then the stem
    _wait_predictions(page, 2)

    shown = page.locator("#predicted").inner_text()
    bars = _bars(page)
    assert len(bars) == 10 and abs(sum(bars) - 100) < 1.0
    assert shown == str(int(np.argmax(bars)))
    # the page shows what the API says for exactly this canvas
    data_url = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    png = base64.b64decode(data_url.split(",", 1)[1])
    api = httpx.post(server + "/api/predict", content=png, timeout=30).json()
    assert shown == api["class_name"]
    np.testing.assert_allclose(bars, np.round(np.array(api["probabilities"]) * 100, 1), atol=0.11)
    assert page.locator("#maps canvas").count() == 60  # Conv1 and Pool1, 30 maps each
    lit = page.evaluate("""(() => { const c = document.getElementById('input');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n; })()""")
    assert lit > 500, "the 28x28 input shows no ink"
    _keep(page, tmp_path, "draw_en.png")

    page.click("#lang")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h2[data-i18n='draw_title']").inner_text() == "숫자를 그려 보세요"
    assert page.locator("#lang").inner_text() == "English"
    page.click("#sample")
    page.wait_for_selector("#truth:not([hidden])")
    _wait_predictions(page, 3)
    truth = page.locator("#truth").inner_text()
    assert truth.startswith("정답: ") and page.locator("#predicted").inner_text() in truth
    _keep(page, tmp_path, "draw_ko.png")

    page.click("#clear")
    assert page.evaluate("""(() => { const c = document.getElementById('pad');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return d.every((v) => v === 255); })()""")
    assert errors == []
    page.close()


def _chart_pixels(page, selector: str) -> int:
    return page.evaluate(f"""(() => {{ const c = document.querySelector('{selector}');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4)
          if (d[i + 3] > 0 && d[i + 2] > 150 && d[i] < 120) n++;  // the first run's blue
        return n; }})()""")


def test_runs_page_shows_curves_plots_and_overlays(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 1150, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/runs")
    page.wait_for_selector("body[data-charted='1']")  # the newest run (the mlp) is shown
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 2 and rows.first.get_attribute("data-name").startswith("mlp-")
    assert _chart_pixels(page, "#chart-loss") > 100 and _chart_pixels(page, "#chart-acc") > 100
    assert page.locator("#plots img").count() == 0  # that run has drawn no plots yet

    page.locator("#runs tbody tr", has_text="cnn-mnist").locator("input").check()
    page.wait_for_selector("body[data-charted='2']")
    legend = page.locator("#legend").inner_text()
    assert "cnn-mnist-sample" in legend and "mlp-mnist-sample" in legend
    page.wait_for_function("() => [...document.querySelectorAll('#plots img')]"
                           ".every((i) => i.complete && i.naturalWidth > 0)")
    assert page.locator("#plots img").count() == 3  # confusion matrix, mistakes, filters
    _keep(page, tmp_path, "runs_en.png")

    page.click("#lang")
    assert page.locator("h2 [data-i18n='runs_title']").inner_text() == "학습 기록"
    assert "학습 중" in page.locator("#runs tbody").inner_text()  # the unfinished run
    _keep(page, tmp_path, "runs_ko.png")
    assert errors == []
    page.close()
