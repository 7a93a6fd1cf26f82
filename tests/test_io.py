"""Model files: safe .npz save/load, atomic writes, and the restricted pickle importer."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import dlscratch
from dlscratch import io
from dlscratch.datasets import sample_weight_path
from dlscratch.models import MultiLayerNet, TwoLayerNet

SHARED_WEIGHT = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dlfs-weights"
                 / "sample_weight.pkl")
SAMPLE_WEIGHT = sample_weight_path()  # the same file, shipped inside the package


@pytest.mark.skipif(not SHARED_WEIGHT.exists(), reason=f"{SHARED_WEIGHT} not found")
def test_bundled_sample_weight_is_the_shared_file():
    assert SAMPLE_WEIGHT.read_bytes() == SHARED_WEIGHT.read_bytes()


# Seed 000 end to end (accuracy 0.9352 one image at a time and in batches, through the safe
# importer) is tests/test_lessons.py::test_seed000_pretrained_network_scores_09352_both_ways.


# ---------------------------------------------------------------------- restricted pickles
class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"W1": np.zeros(2), "x": _Evil()}))
    with pytest.raises(io.ModelFileError, match=r"refused to load (posix|nt)\.system"):
        io.load_pickle_weights(path)
    assert not (tmp_path / "pwned.txt").exists()
    with pytest.raises(io.ModelFileError, match="refused"):
        io.load_params(path)
    assert not (tmp_path / "pwned.txt").exists()


@pytest.mark.parametrize("obj, msg", [
    ([np.zeros(2)], "expected a dict"),
    ({"W": [1, 2]}, "numeric arrays"),
    ({"W": np.array([object()], dtype=object)}, "refused|numeric arrays"),
])
def test_pickle_with_other_objects_is_refused(tmp_path, obj, msg):
    path = tmp_path / "w.pkl"
    path.write_bytes(pickle.dumps(obj))
    with pytest.raises(io.ModelFileError, match=msg):
        io.load_pickle_weights(path)


def test_pickle_of_arrays_loads_with_dtypes_and_shapes(tmp_path):
    params = {"W1": np.arange(6, dtype=np.float32).reshape(2, 3), "b1": np.ones(3)}
    for protocol in (2, 3, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(params, protocol=protocol))
        got = io.load_pickle_weights(path)
        assert got.keys() == params.keys()
        for k in params:
            assert got[k].dtype == params[k].dtype
            np.testing.assert_array_equal(got[k], params[k])


def test_truncated_pickle_gives_clear_error(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"W": np.zeros(100)})[:50])
    with pytest.raises(io.ModelFileError, match="cut.pkl"):
        io.load_pickle_weights(path)


# ---------------------------------------------------------------------- models
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_multilayernet_batchnorm_round_trip_identical_predictions(tmp_path, mode):
    rng = np.random.default_rng(0)
    x = rng.random((64, 20), dtype=np.float32)
    t = rng.integers(0, 5, 64)
    net = MultiLayerNet(20, [16, 8], 5, use_batchnorm=True, use_dropout=False, rng=1)
    for _ in range(3):  # move weights and running statistics away from their initial values
        grads = net.gradient(x, t)
        for k in net.params:
            net.params[k] -= 0.1 * grads[k]
    assert not np.allclose(net.layers["BatchNorm1"].running_mean, 0)
    getattr(net, mode)()
    path = dlscratch.save(net, tmp_path / "net.npz")
    loaded = dlscratch.load(path)
    assert type(loaded) is MultiLayerNet
    assert loaded.training == net.training
    np.testing.assert_array_equal(loaded.layers["BatchNorm1"].running_var,
                                  net.layers["BatchNorm1"].running_var)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    for (k1, v1), (k2, v2) in zip(net.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and v1.dtype == v2.dtype
        np.testing.assert_array_equal(v1, v2)


def test_file_is_npz_with_documented_metadata_and_no_pickle(tmp_path):
    net = TwoLayerNet(4, 3, 2, rng=0)
    path = io.save(net, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["__metadata__"]))
        assert set(z.files) == {"__metadata__", *net.state_dict()}
    assert meta["format"] == "dlscratch" and meta["format_version"] == io.FORMAT_VERSION
    assert meta["class"] == "TwoLayerNet" and meta["dlscratch_version"] == dlscratch.__version__
    assert meta["config"]["hidden_size"] == 3


def test_newer_format_version_is_a_clear_error(tmp_path):
    arrays = {"__metadata__": np.array(json.dumps({"format": "dlscratch", "format_version": 99,
                                                   "kind": "model", "class": "TwoLayerNet",
                                                   "config": {}}))}
    np.savez(tmp_path / "new.npz", **arrays)
    with pytest.raises(io.ModelFileError, match="version 99.*upgrade"):
        io.load_model(tmp_path / "new.npz")


def test_missing_and_unexpected_keys_are_reported(tmp_path):
    net = TwoLayerNet(4, 3, 2, rng=0)
    path = io.save(net, tmp_path / "m.npz")
    state, meta = io.load_state(path)
    state.pop("layers.Affine2.b")
    state["extra.W"] = np.zeros(1)
    arrays = dict(state)
    arrays["__metadata__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(io.ModelFileError, match=r"missing keys \['layers.Affine2.b'\].*"
                                                r"unexpected keys \['extra.W'\]"):
        io.load_model(tmp_path / "bad.npz")
    with pytest.raises(KeyError, match="layers.Affine2.b"):
        net.load_state_dict(state)


def test_shape_mismatch_on_load_names_the_key(tmp_path):
    net = TwoLayerNet(4, 3, 2, rng=0)
    state = net.state_dict()
    state["layers.Affine1.W"] = np.zeros((5, 3), np.float32)
    before = net.params["W1"].copy()
    with pytest.raises(ValueError, match=r"layers.Affine1.W: expected \(4, 3\), got \(5, 3\)"):
        net.load_state_dict(state)
    np.testing.assert_array_equal(net.params["W1"], before)


def test_unknown_class_is_refused(tmp_path):
    arrays = {"__metadata__": np.array(json.dumps({"format": "dlscratch", "format_version": 1,
                                                   "kind": "model", "class": "os",
                                                   "config": {}}))}
    np.savez(tmp_path / "x.npz", **arrays)
    with pytest.raises(io.ModelFileError, match="unknown network class 'os'"):
        io.load_model(tmp_path / "x.npz")


def test_not_a_model_file(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(io.ModelFileError, match="junk.npz"):
        io.load_model(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        io.load_model(tmp_path / "nope.npz")


# ---------------------------------------------------------------------- atomic writes
def test_failed_save_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    net = TwoLayerNet(4, 3, 2, rng=0)
    path = io.save(net, tmp_path / "m.npz")
    old = path.read_bytes()

    def boom(f, **arrays):
        f.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(io.np, "savez", boom)
    net2 = TwoLayerNet(4, 3, 2, rng=1)
    with pytest.raises(OSError, match="disk full"):
        io.save(net2, path)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_save_killed_mid_write_leaves_old_file_loadable(tmp_path):
    """A real SIGKILL after the new data is written but before the rename."""
    path = tmp_path / "m.npz"
    io.save(MultiLayerNet(30, [20], 3, rng=0), path)
    expected = dlscratch.load(path).state_dict()
    script = textwrap.dedent(f"""
        import os, signal
        import dlscratch
        from dlscratch.models import MultiLayerNet
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # die mid-save
        dlscratch.save(MultiLayerNet(30, [20], 3, rng=1), {str(path)!r})
        print("not reached")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert "not reached" not in proc.stdout
    got = dlscratch.load(path).state_dict()
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k])


# ---------------------------------------------------------------------- the lectures' params
def test_save_params_writes_npz_under_the_given_name_and_load_params_reads_both(tmp_path):
    net = TwoLayerNet(4, 3, 2, rng=0)
    net.save_params(tmp_path / "params.pkl")
    assert (tmp_path / "params.pkl").read_bytes()[:4] == b"PK\x03\x04"  # npz, not a pickle
    other = TwoLayerNet(4, 3, 2, rng=5)
    other.load_params(tmp_path / "params.pkl")
    for k in net.params:
        np.testing.assert_array_equal(other.params[k], net.params[k])

    # a pickle written by the book's save_params
    lecture = {k: (v * 2).astype(np.float64) for k, v in net.params.items()}
    with open(tmp_path / "book.pkl", "wb") as f:
        pickle.dump(lecture, f)
    other.load_params(tmp_path / "book.pkl")
    for k in lecture:
        assert other.params[k].dtype == np.float32  # the network keeps its dtype
        np.testing.assert_allclose(other.params[k], lecture[k])
