"""The web API (dlscratch.web) through FastAPI's TestClient: predictions of real test digits,
refusals of bad uploads (and the server keeps serving), the runs API and its path safety."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import need

try:
    import fastapi  # noqa: F401
    import httpx  # noqa: F401
    HAVE_WEB = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_WEB = False

from dlscratch import runs
from dlscratch.datasets import load_mnist
from dlscratch.images import image_to_input
from dlscratch.models.registry import build_model

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture(autouse=True)
def _web_installed():
    need(HAVE_WEB, "the web tests need `pip install fastapi uvicorn httpx` (dlscratch[web])")


def _client(app):
    with warnings.catch_warnings():  # starlette's note about httpx vs httpx2
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app)


def png(a: np.ndarray) -> bytes:
    """(H, W) floats in [0, 1] or uint8 as an 8-bit grayscale PNG."""
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    PIL.fromarray(a, mode="L").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def test_set():
    _, (x, t) = load_mnist(dataset="mnist-sample", flatten=False)
    return x, t


@pytest.fixture(scope="module")
def mlp():
    from dlscratch.web.server import quick_model

    net, _ = quick_model(epochs=2, rng=0, limit=4000)
    return net


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A runs folder with one finished run (metrics, one plot, model) and one just started."""
    root = tmp_path_factory.mktemp("runs")
    done = root / "mlp-mnist-sample-20250101-120000"
    done.mkdir()
    runs.write_config(done, {"model": "mlp", "dataset": "mnist-sample", "epochs": 2,
                             "batch_size": 100, "optimizer": "adam", "lr": 0.001, "seed": 0})
    (done / runs.METRICS).write_text(
        "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n"
        "1,0.75,0.81,0.5,0.85,0.001,1.5\n2,0.25,0.93,0.3,,0.001,1.4\n")
    (done / "plots").mkdir()
    (done / "plots" / "confusion_matrix.png").write_bytes(png(np.eye(10)))
    from dlscratch.io import save

    save(build_model("mlp", rng=1), done / runs.MODEL)
    os.utime(done / runs.METRICS, (1e9, 1e9))
    os.utime(done / runs.MODEL, (1e9 + 1, 1e9 + 1))
    fresh = root / "cnn-mnist-sample-20250101-130000"
    fresh.mkdir()
    runs.write_config(fresh, {"model": "cnn", "dataset": "mnist-sample", "epochs": 5,
                              "batch_size": 100, "optimizer": "adam", "lr": 0.001, "seed": 0})
    (fresh / runs.METRICS).write_text(
        "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n1,0.6,0.8,0.4,0.88,0.001,9\n")
    outside = tmp_path_factory.mktemp("outside")
    runs.write_config(outside, {"model": "mlp", "dataset": "mnist", "epochs": 1, "batch_size": 1,
                                "optimizer": "sgd", "lr": 0.1, "seed": 0})
    (outside / runs.METRICS).write_text("epoch,train_loss\n1,0.5\n")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / ".hidden").mkdir()
    runs.write_config(root / ".hidden", {"model": "mlp", "dataset": "mnist", "epochs": 1,
                                         "batch_size": 1, "optimizer": "sgd", "lr": 0.1,
                                         "seed": 0})
    return root


@pytest.fixture(scope="module")
def client(mlp, runs_dir):
    from dlscratch.web import create_app

    return _client(create_app(mlp, runs_dir=runs_dir, rng=0))


def _ok(client, image: bytes) -> dict:
    r = client.post("/api/predict", content=image, headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- predictions
def test_test_digits_come_back_with_their_labels(client, mlp, test_set):
    x, t = test_set
    right = 0
    for i in range(20):
        data = _ok(client, png(x[i, 0]))
        right += data["class"] == int(t[i])
        # exactly what the network says for the image as `predict` prepares it
        inp = image_to_input(png(x[i, 0]), flatten=True)
        expected = mlp.predict(inp)[0]
        p = np.exp(expected - expected.max())
        np.testing.assert_allclose(data["probabilities"], p / p.sum(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.array(data["input"]).ravel(), inp.ravel(), atol=5e-4)
        assert data["class_name"] == str(data["class"])
    assert right >= 17, f"only {right} of 20 test digits recognised"


def test_prediction_shapes_for_an_mlp(client, test_set):
    data = _ok(client, png(test_set[0][3, 0]))
    assert len(data["probabilities"]) == 10
    assert abs(sum(data["probabilities"]) - 1) < 1e-6
    assert np.array(data["input"]).shape == (28, 28)
    assert data["activations"]["maps"] == []
    hidden = data["activations"]["hidden"]
    assert [h["name"] for h in hidden] == ["Activation_function1", "Activation_function2"]
    assert all(h["size"] == 100 and len(h["values"]) == 100 for h in hidden)
    assert all(v >= 0 for h in hidden for v in h["values"])  # after ReLU


def test_dark_ink_on_white_paper_like_the_canvas(client, test_set):
    x, t = test_set
    big = np.kron(1.0 - x[7, 0], np.ones((10, 10)))  # 280x280, black digit on white
    assert _ok(client, png(big))["class"] == int(t[7])


def test_model_info(client, mlp):
    info = client.get("/api/model").json()
    assert info["class"] == "MultiLayerNet" and info["name"] == "mlp"
    assert info["parameters"] == sum(p.data.size for p in mlp.parameters())
    assert [layer["output_shape"] for layer in info["layers"]] == [[100], [100], [100], [100], [10]]
    f = info["filters"]
    assert f["kind"] == "linear" and f["shape"] == [784, 100] and f["shown"] == 32
    w0 = mlp.params["W1"][:, 0].reshape(28, 28)
    expected = np.rint((w0 - w0.min()) / (w0.max() - w0.min()) * 255)
    np.testing.assert_array_equal(np.array(f["maps"][0]), expected)


def test_sample_gives_a_test_image_its_label_and_the_prediction(client, test_set):
    x, t = test_set
    data = client.get("/api/sample", params={"index": 11}).json()
    assert data["index"] == 11 and data["label"] == int(t[11]) and data["dataset"] == "mnist-sample"
    np.testing.assert_allclose(np.array(data["input"]), x[11, 0], atol=5e-4)
    assert len(data["probabilities"]) == 10
    rand = client.get("/api/sample").json()
    assert 0 <= rand["index"] < len(t) and rand["label"] == int(t[rand["index"]])
    assert client.get("/api/sample", params={"index": len(t)}).status_code == 404
    assert client.get("/api/sample", params={"index": "x"}).status_code == 422


def test_cnn_feature_maps_and_filters(runs_dir, test_set):
    from dlscratch.web import create_app

    net = build_model("cnn", rng=0)
    net.eval()
    c = _client(create_app(net, runs_dir=runs_dir))
    data = _ok(c, png(test_set[0][0, 0]))
    maps = {m["name"]: m for m in data["activations"]["maps"]}
    assert list(maps) == ["Conv1", "Pool1"]
    assert maps["Conv1"]["shape"] == [30, 24, 24] and maps["Pool1"]["shape"] == [30, 12, 12]
    assert np.array(maps["Pool1"]["maps"]).shape == (30, 12, 12)
    # the pooled map is the 2x2 max of the ReLU of the convolution, seen through the same input
    x = image_to_input(png(test_set[0][0, 0]), flatten=False)
    pooled = net.layers["Pool1"].forward(net.layers["Relu1"].forward(net.layers["Conv1"].forward(x)))[0, 5]
    expected = np.rint((pooled - pooled.min()) / (pooled.max() - pooled.min()) * 255)
    np.testing.assert_array_equal(np.array(maps["Pool1"]["maps"][5]), expected)
    assert data["activations"]["hidden"][0]["name"] == "Relu2"
    info = c.get("/api/model").json()
    assert info["filters"]["kind"] == "conv" and info["filters"]["shape"] == [30, 1, 5, 5]
    assert np.array(info["filters"]["maps"]).shape == (30, 5, 5)


@pytest.mark.parametrize("name", ["deepcnn", "resnet-small"])
def test_layer_by_layer_equals_forward(name):
    from dlscratch.web.introspect import describe_prediction, layer_outputs

    net = build_model(name, rng=0)
    net.eval()
    x = np.random.default_rng(0).random((1, 1, 28, 28)).astype(np.float32)
    steps = layer_outputs(net, x)
    np.testing.assert_allclose(steps[-1][2], net.forward(x), rtol=1e-5, atol=1e-6)
    maps = describe_prediction(net, x)["activations"]["maps"]
    assert maps and all(len(m["maps"]) == min(32, m["shape"][0]) for m in maps)


# ---------------------------------------------------------------- refusals
def _png_of_size(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    PIL.new("L", (w, h), 255).save(buf, format="PNG")
    return buf.getvalue()


BAD = {  # what -> (body, status, words in the reason)
    "garbage": (lambda: b"this is not an image at all" * 10, 400, "not an image"),
    "empty": (lambda: b"", 400, "empty"),
    "one pixel": (lambda: _png_of_size(1, 1), 400, "too small"),
    "huge": (lambda: _png_of_size(5000, 5000), 400, "too large"),
    "truncated png": (lambda: _png_of_size(64, 64)[:60], 400, "image"),
    "blank page": (lambda: _png_of_size(64, 64), 400, "blank"),
    "a pickle": (lambda: b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94.",
                 400, "not an image"),
    "oversized": (lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), 413, "too large"),
}


@pytest.mark.parametrize("what", list(BAD))
def test_bad_uploads_get_a_one_line_4xx_and_the_server_keeps_serving(client, test_set, what,
                                                                     monkeypatch, tmp_path):
    import pickle

    def no_unpickling(*args, **kwargs):
        raise AssertionError("an upload was unpickled")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.chdir(tmp_path)
    make, status, words = BAD[what]
    r = client.post("/api/predict", content=make())
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert words in detail and "\n" not in detail and len(detail) < 200
    assert list(tmp_path.iterdir()) == []  # nothing written where the server runs
    assert _ok(client, png(test_set[0][0, 0]))["class"] in range(10)


def test_oversized_body_without_content_length_is_refused_while_streaming(client):
    def chunks():
        for _ in range(40):
            yield b"\0" * 65536  # 2.5 MB in all, sent chunked (no Content-Length)

    r = client.post("/api/predict", content=chunks())
    assert r.status_code == 413 and "too large" in r.json()["detail"]


def test_a_small_body_limit_is_honoured(mlp, runs_dir, test_set):
    from dlscratch.web import create_app

    c = _client(create_app(mlp, runs_dir=runs_dir, max_body=100))
    assert c.post("/api/predict", content=png(test_set[0][0, 0])).status_code == 413


# ---------------------------------------------------------------- runs
def test_runs_are_listed_newest_first(client):
    listed = client.get("/api/runs").json()["runs"]
    assert [r["name"] for r in listed] == ["cnn-mnist-sample-20250101-130000",
                                          "mlp-mnist-sample-20250101-120000"]
    fresh, done = listed
    assert fresh["running"] is True and fresh["epochs_done"] == 1 and fresh["epochs"] == 5
    assert done["running"] is False and done["has_model"] and done["plots"] == ["confusion_matrix"]
    assert done["test_acc"] is None  # the last epoch's empty cell; JSON has no NaN


def test_run_metrics(client):
    data = client.get("/api/runs/mlp-mnist-sample-20250101-120000/metrics").json()
    m = data["metrics"]
    assert m["epoch"] == [1, 2] and m["train_loss"] == [0.75, 0.25] and m["test_acc"] == [0.85, None]
    assert data["summary"]["model"] == "mlp"


def test_run_plots_are_served_and_only_known_ones(client, runs_dir):
    name = "mlp-mnist-sample-20250101-120000"
    r = client.get(f"/api/runs/{name}/plots/confusion_matrix")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == (runs_dir / name / "plots" / "confusion_matrix.png").read_bytes()
    for plot in ("misclassified", "config", "..", "%2e%2e%2fconfig.json", "..%2F..%2Fconfig"):
        assert client.get(f"/api/runs/{name}/plots/{plot}").status_code == 404, plot


@pytest.mark.parametrize("name", [
    "..", "%2e%2e", ".%2e", "..%2F..%2Fetc", "%2Fetc%2Fpasswd", "%2F", "escape", ".hidden",
    "no-such-run", "mlp-mnist-sample-20250101-120000%2F..", "%00", "a%5C..%5C..", "~",
])
def test_run_names_cannot_escape_the_runs_folder(client, name):
    for url in (f"/api/runs/{name}/metrics", f"/api/runs/{name}/plots/confusion_matrix"):
        r = client.get(url)
        assert r.status_code == 404, (url, r.text)


def test_raw_dot_dot_paths_are_404(client):
    # httpx would normalise "..": send the raw path through the ASGI app
    for raw in ("/api/runs/../runs/x/metrics", "/api/runs/../../etc/passwd"):
        r = client.request("GET", raw)
        assert r.status_code == 404


def test_pages_and_static_files_are_served_with_no_outside_links(client):
    for path in ("/", "/runs"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]
    from dlscratch.web.app import STATIC

    for f in STATIC.iterdir():
        text = f.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, f.name
        assert client.get(f"/static/{f.name}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


# ---------------------------------------------------------------- starting a server
def test_default_model_is_the_newest_run(tmp_path):
    from dlscratch.io import save
    from dlscratch.web.server import default_model

    for i, name in enumerate(["a-run", "b-run"]):
        folder = tmp_path / name
        folder.mkdir()
        runs.write_config(folder, {"model": "mlp", "dataset": "mnist-sample", "epochs": 1,
                                   "batch_size": 1, "optimizer": "sgd", "lr": 0.1, "seed": 0})
        save(build_model("mlp", rng=i), folder / runs.MODEL)
        os.utime(folder / runs.MODEL, (2e9 - i * 100, 2e9 - i * 100))
    said = []
    model, source = default_model(None, tmp_path, say=said.append)
    assert model == tmp_path / "a-run" / runs.MODEL and source is None and "a-run" in said[0]


def test_serve_command_warns_for_a_public_host_and_names_bad_files(monkeypatch, capsys, tmp_path):
    import dlscratch.web as web
    from dlscratch.cli import main

    calls = []
    monkeypatch.setattr(web, "serve", lambda app, **kw: calls.append(kw))
    folder = tmp_path / "run"
    folder.mkdir()
    from dlscratch.io import save

    save(build_model("mlp", rng=0), folder / runs.MODEL)
    assert main(["serve", str(folder), "--host", "0.0.0.0", "--port", "0"]) == 0
    assert calls == [{"host": "0.0.0.0", "port": 0, "open_browser": False}]
    assert "warning: --host 0.0.0.0" in capsys.readouterr().err
    assert main(["serve", str(folder)]) == 0
    assert calls[-1]["host"] == "127.0.0.1"
    assert "warning" not in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.npz" in err


def test_the_package_imports_without_the_web_framework():
    code = ("import sys\nsys.modules['fastapi'] = None\nsys.modules['uvicorn'] = None\n"
            "import dlscratch.web, dlscratch.web.app, dlscratch.web.introspect\n"
            "try:\n    dlscratch.web.create_app(None)\nexcept ImportError as e:\n"
            "    print(json.dumps(str(e)))\n")
    out = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True,
                         text=True, check=True).stdout
    assert "pip install 'dlscratch[web]'" in json.loads(out)
