"""dlscratch.runs: run folders, config.json, metrics.csv and the final plots."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from helpers_cli import png_size

from dlscratch import runs


def test_default_run_dir_names_model_dataset_and_time():
    now = time.mktime((2024, 3, 5, 14, 7, 9, 0, 0, -1))
    assert runs.default_run_dir("cnn", "mnist", "runs", now).as_posix() == \
        "runs/cnn-mnist-20240305-140709"


def test_create_run_dir_is_unique_within_a_second(tmp_path, monkeypatch):
    epoch = time.localtime(0)
    monkeypatch.setattr(runs.time, "localtime", lambda t=None: epoch)
    made = [runs.create_run_dir(None, "mlp", "mnist-sample", root=tmp_path / "runs")
            for _ in range(3)]
    names = [p.name for p in made]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(0))
    assert names == [f"mlp-mnist-sample-{stamp}", f"mlp-mnist-sample-{stamp}-2",
                     f"mlp-mnist-sample-{stamp}-3"]
    assert all(p.is_dir() for p in made)


def test_create_run_dir_with_a_path(tmp_path):
    deep = runs.create_run_dir(tmp_path / "a" / "b", "mlp", "mnist")
    assert deep.is_dir()
    assert runs.create_run_dir(deep, "mlp", "mnist") == deep  # empty folder: fine
    (deep / "metrics.csv").write_text("epoch\n")
    with pytest.raises(runs.RunError, match=r"already holds a run \(metrics.csv\).*--resume"):
        runs.create_run_dir(deep, "mlp", "mnist")
    (tmp_path / "f").write_text("")
    with pytest.raises(runs.RunError, match=r"f is a file, not a folder"):
        runs.create_run_dir(tmp_path / "f" / "sub", "mlp", "mnist")


GOOD = {"model": "mlp", "dataset": "mnist-sample", "epochs": 2, "batch_size": 100,
        "optimizer": "adam", "lr": 0.001, "seed": 0}


def test_config_round_trip(tmp_path):
    path = runs.write_config(tmp_path, {**GOOD, "limit": None})
    assert path == tmp_path / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "dlscratch-run" and data["format_version"] == 1
    assert runs.read_config(tmp_path) == data


@pytest.mark.parametrize("text,message", [
    ("{oops", "not valid JSON"),
    ("[1, 2]", "not a dlscratch run configuration"),
    ('{"format": "other"}', "not a dlscratch run configuration"),
    ('{"format": "dlscratch-run", "format_version": "1"}', "format_version must be a whole"),
    ('{"format": "dlscratch-run", "format_version": 99}', "newer dlscratch"),
])
def test_bad_configs_name_the_file(tmp_path, text, message):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(runs.RunError, match=message) as info:
        runs.read_config(tmp_path)
    assert str(tmp_path / "config.json") in str(info.value)


@pytest.mark.parametrize("key,value", [("model", None), ("epochs", "5"), ("lr", "x"),
                                       ("seed", True), ("batch_size", 1.5)])
def test_config_settings_are_type_checked(tmp_path, key, value):
    runs.write_config(tmp_path, {**GOOD, key: value})
    with pytest.raises(runs.RunError, match=rf"'{key}' is missing or not"):
        runs.read_config(tmp_path)


def test_read_metrics(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n"
                    "1,0.5,0.8,0.4,0.85,0.001,1.5\n2,0.25,0.9,nan,0.9,0.001,1.25\n")
    m = runs.read_metrics(path)
    assert m["epoch"] == [1, 2] and m["train_loss"] == [0.5, 0.25]
    assert np.isnan(m["test_loss"][1]) and m["seconds"] == [1.5, 1.25]
    path.write_text("epoch,train_loss\n1,abc\n")
    with pytest.raises(runs.RunError, match=r"line 2: train_loss = 'abc' is not a number"):
        runs.read_metrics(path)
    path.write_text("epoch,train_loss\n")
    with pytest.raises(runs.RunError, match="no epochs recorded yet"):
        runs.read_metrics(path)


def test_first_conv_filters():
    from dlscratch.models.registry import build_model

    assert runs.first_conv_filters(build_model("mlp", rng=0)) is None
    filters = runs.first_conv_filters(build_model("cnn", rng=0))
    assert filters.shape == (30, 1, 5, 5)


def test_write_plots_for_a_cnn(tmp_path):
    from dlscratch.models.registry import build_model

    net = build_model("cnn", rng=0)
    x = np.random.default_rng(0).random((40, 1, 28, 28), dtype=np.float32)
    t = np.arange(40) % 10
    metrics = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "train_acc": [0.7, 0.8],
               "test_loss": [1.1, 0.6], "test_acc": [0.6, 0.75]}
    written = runs.write_plots(tmp_path, net, x, t, [str(i) for i in range(10)], metrics)
    assert set(written) == {"learning_curves", "confusion_matrix", "misclassified", "filters"}
    for name, path in written.items():
        assert path == tmp_path / runs.PLOT_FILES[name]
        w, h = png_size(path)
        assert 200 <= w <= 4000 and 150 <= h <= 4000, (name, w, h)
