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
    state["extra.W"] = np.zeros(2)  # same size: the names, not the count, differ
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
    io.save(MultiLayerNet(30, [20], 3, rng=2), tmp_path / "next.npz")  # sweeps any temp name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "next.npz"]


# ---------------------------------------------------------------------- the lectures' params
@pytest.mark.parametrize("name, head", [("params.pkl", b"\x80"), ("params.npz", b"PK\x03\x04")])
def test_save_params_writes_what_the_name_says_and_load_params_reads_both(tmp_path, name, head):
    net = TwoLayerNet(4, 3, 2, rng=0)
    net.save_params(tmp_path / name)
    assert (tmp_path / name).read_bytes()[:len(head)] == head  # .pkl: a pickle; else .npz
    other = TwoLayerNet(4, 3, 2, rng=5)
    other.load_params(tmp_path / name)
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


# ---------------------------------------------------------------------- loading hardening
def _craft(path, meta, arrays=None):
    """An .npz with ``meta`` as the metadata (a dict is dumped as JSON, a str kept as is)."""
    out = dict(arrays or {})
    out["__metadata__"] = np.array(meta if isinstance(meta, str) else json.dumps(meta))
    np.savez(path, **out)
    return path


def _meta(**over):
    meta = {"format": "dlscratch", "format_version": 1, "dlscratch_version": "0",
            "kind": "model", "class": "TwoLayerNet",
            "config": {"input_size": 4, "hidden_size": 3, "output_size": 2}}
    meta.update(over)
    return {k: v for k, v in meta.items() if v is not _DROP}


_DROP = object()
_TWO = TwoLayerNet(4, 3, 2, rng=0).state_dict()


def _refused(path, match, loader=None):
    """Every loader gives a ModelFileError naming the file, never NumPy's pickle advice."""
    loaders = [loader] if loader else [io.load_model, io.read_model_file, io.load_state]
    for load in loaders:
        with pytest.raises(io.ModelFileError, match=match) as info:
            load(path)
        msg = str(info.value)
        assert str(path) in msg and "allow_pickle" not in msg


def test_random_bytes_are_not_a_model_file(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    _refused(path, "not an .npz archive")
    pkl = tmp_path / "w.npz"
    pkl.write_bytes(pickle.dumps({"W": np.zeros(2)}))
    _refused(pkl, "is a pickle")
    np.save(tmp_path / "one.npy", np.zeros(3))
    _refused(tmp_path / "one.npy", "single .npy array")
    (tmp_path / "empty.npz").write_bytes(b"")
    _refused(tmp_path / "empty.npz", "not an .npz archive")
    _refused(tmp_path, "is a folder")


def test_truncated_zip_is_named_damaged(tmp_path):
    path = io.save(MultiLayerNet(30, [20], 3, rng=0), tmp_path / "m.npz")
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 40):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        _refused(tmp_path / "cut.npz", "damaged|truncated")


@pytest.mark.parametrize("meta, match", [
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", "must be a JSON object, found a JSON list"),
    ('"model"', "must be a JSON object, found a JSON str"),
    (_meta(format_version="1"), "format_version must be an integer, got '1'"),
    (_meta(format_version=1.5), "format_version must be an integer"),
    (_meta(format_version=True), "format_version must be an integer"),
    (_meta(format_version=0), "not a valid dlscratch file version"),
    (_meta(format_version=_DROP), "no 'format_version'"),
    (_meta(format="keras"), "not a dlscratch file.*format 'keras'"),
    (_meta(format=_DROP), "no 'format' field"),
    (_meta(kind="weights"), "unknown kind 'weights'"),
    (_meta(config=[4, 3, 2]), "'config' must be a JSON object"),
    (_meta(**{"class": 7}), "'class' must be a string"),
    (_meta(training="yes"), "'training' must be true or false"),
])
def test_malformed_metadata_is_a_model_file_error(tmp_path, meta, match):
    path = _craft(tmp_path / "bad.npz", meta, _TWO)
    _refused(path, match)


def test_metadata_that_is_not_a_string_is_refused(tmp_path):
    np.savez(tmp_path / "m.npz", __metadata__=np.zeros(3), **_TWO)
    _refused(tmp_path / "m.npz", "__metadata__ must be a JSON string")
    np.savez(tmp_path / "plain.npz", **_TWO)  # no metadata at all
    _refused(tmp_path / "plain.npz", "has no __metadata__", io.load_model)


@pytest.mark.parametrize("meta, match", [
    (_meta(**{"class": "Popen"}), "unknown network class 'Popen'"),
    (_meta(**{"class": "simpleNet"}), "unknown network class 'simpleNet'"),
    (_meta(config={"input_size": 4, "hidden_size": 3, "output_size": 2, "evil": 1}),
     r"invalid config for TwoLayerNet: TwoLayerNet does not take \['evil'\]"),
    (_meta(config={"input_size": 4, "output_size": 2}), r"needs \['hidden_size'\]"),
    (_meta(config={"input_size": 4, "hidden_size": "3", "output_size": 2}),
     "hidden_size must be int, got '3'"),
    (_meta(config={"input_size": 4, "hidden_size": 3, "output_size": 2, "activation": 5}),
     "activation must be str"),
    (_meta(config={"input_size": 4, "hidden_size": 3, "output_size": 2,
                   "activation": "swish"}), "activation must be one of"),
    (_meta(config={"input_size": 4, "hidden_size": 3, "output_size": 2,
                   "dtype": "object"}), "dtype must be one of"),
    (_meta(config={"input_size": 4, "hidden_size": -3, "output_size": 2}), "at least 1"),
])
def test_bad_class_or_config_is_refused_before_building(tmp_path, meta, match):
    path = _craft(tmp_path / "bad.npz", meta, _TWO)
    _refused(path, match, io.load_model)


def test_config_needing_huge_memory_fails_fast(tmp_path):
    """A tiny file whose config asks for 10**10 parameters: refused before any allocation."""
    import tracemalloc

    config = {"input_size": 100_000, "hidden_size_list": [100_000], "output_size": 10}
    path = _craft(tmp_path / "huge.npz", _meta(**{"class": "MultiLayerNet"}, config=config),
                  {"layers.Affine1.W": np.zeros((2, 2), np.float32)})
    tracemalloc.start()
    try:
        _refused(path, r"10,001,\d{3},\d{3} parameters, more than the limit of 500,000,000",
                 io.load_model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20  # NumPy reports its allocations to tracemalloc
    # under the limit, but not what the file holds: refused before building as well
    _refused(path, "config describes a MultiLayerNet with 10,001,100,010 parameters, but the "
             "file stores 4 numbers", lambda p: io.load_model(p, max_parameters=10**11))


def test_max_parameters_limits_real_files(tmp_path):
    path = io.save(TwoLayerNet(4, 3, 2, rng=0), tmp_path / "m.npz")
    assert io.load_model(path, max_parameters=23).params["W1"].shape == (4, 3)
    _refused(path, "23 parameters, more than the limit of 22",
             lambda p: io.load_model(p, max_parameters=22))
    _refused(path, "holds 23 numbers, more than the limit of 22",
             lambda p: io.read_model_file(p, max_parameters=22))


def test_array_header_claiming_more_than_stored_is_refused(tmp_path):
    """A member whose .npy header declares a huge shape (a zip-bomb-like file)."""
    import zipfile

    path = tmp_path / "lie.npz"
    io.save(TwoLayerNet(4, 3, 2, rng=0), path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    w = members["layers.Affine1.W.npy"]
    # same header length: the padding absorbs the longer shape
    lie = w.replace(b"(4, 3), }        ", b"(40000, 30000), }")
    assert len(lie) == len(w) and lie != w
    members["layers.Affine1.W.npy"] = lie
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    _refused(path, "layers.Affine1.W.*truncated")


def test_object_arrays_in_npz_are_refused_without_pickle_advice(tmp_path):
    np.savez(tmp_path / "obj.npz", W=np.array([1, "a"], dtype=object),
             __metadata__=np.array(json.dumps(_meta())))
    _refused(tmp_path / "obj.npz", "'W' has dtype object; model files hold numeric arrays only")
    with pytest.raises(io.ModelFileError, match="dtype object"):
        io.load_params(tmp_path / "obj.npz")


def _with_nan(tmp_path):
    net = TwoLayerNet(4, 3, 2, rng=0)
    net.params["W1"][0, 0] = np.nan
    net.params["b2"][1] = np.inf
    return io.save(net, tmp_path / "nan.npz")


def test_nonfinite_weights_are_refused_naming_the_arrays(tmp_path):
    path = _with_nan(tmp_path)
    _refused(path, r"NaN or inf \(layers\.Affine1\.W, layers\.Affine2\.b\).*allow_nonfinite=True")


def test_nonfinite_weights_load_with_a_warning_when_allowed(tmp_path):
    path = _with_nan(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"NaN or inf \(layers\.Affine1\.W"):
        net = io.load_model(path, allow_nonfinite=True)
    assert np.isnan(net.params["W1"][0, 0]) and np.isinf(net.params["b2"][1])
    with pytest.warns(RuntimeWarning):
        assert np.isnan(io.read_model_file(path, allow_nonfinite=True).state[
            "layers.Affine1.W"][0, 0])


@pytest.mark.parametrize("obj", [
    {"W": np.array([1, "a"], dtype=object)},
    {"W1": np.zeros(2), "W": np.array([1.5, 2], dtype=object)},
    {"W": np.zeros(2, dtype=[("a", "f8"), ("b", "O")])},
    {"W": np.array(["text"])},
])
def test_pickle_importer_refuses_object_and_non_numeric_arrays(tmp_path, obj):
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / "obj.pkl"
        path.write_bytes(pickle.dumps(obj, protocol=protocol))
        with pytest.raises(io.ModelFileError, match=r"obj\.pkl.*(refused|dtype)"):
            io.load_pickle_weights(path)
        with pytest.raises(io.ModelFileError):
            io.load_params(path)


def test_pickle_dtype_guard_refuses_object_dtype_itself():
    from dlscratch import _pickleweights

    guard = _pickleweights._ALLOWED_GLOBALS[("numpy", "dtype")]
    assert guard("f8", False, True) == np.float64
    with pytest.raises(pickle.UnpicklingError, match="dtype object"):
        guard("O8", False, True)


# ---------------------------------------------------------------------- checkpoints (extras)
def test_extra_arrays_and_meta_round_trip_and_load_model_ignores_them(tmp_path):
    net = MultiLayerNet(6, [5], 3, use_batchnorm=True, rng=0)
    extra_arrays = {"optimizer.m.W1": np.full((6, 5), 0.5),  # never mixed with state keys
                    "layers.Affine1.W": np.arange(4.0)}
    extra_meta = {"epoch": np.int64(3), "history": {"loss": [1.5, np.float32(0.5)]},
                  "rng": np.random.default_rng(0).bit_generator.state}
    path = io.save(net, tmp_path / "ckpt.npz", extra_arrays=extra_arrays,
                   extra_meta=extra_meta)
    f = io.read_model_file(path)
    assert isinstance(f, io.ModelFile)
    assert list(f.state) == list(net.state_dict())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(f.state[k], v)
    assert set(f.extra_arrays) == set(extra_arrays)
    for k, v in extra_arrays.items():
        np.testing.assert_array_equal(f.extra_arrays[k], v)
    assert f.extra_meta == {"epoch": 3, "history": {"loss": [1.5, 0.5]},
                            "rng": np.random.default_rng(0).bit_generator.state}
    assert "extra" not in f.meta and f.meta["class"] == "MultiLayerNet"
    loaded = io.load_model(path)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k], v)
    state, meta = io.load_state(path)
    assert list(state) == list(net.state_dict()) and meta["kind"] == "model"


def test_extra_meta_must_be_json(tmp_path):
    net = TwoLayerNet(4, 3, 2, rng=0)
    with pytest.raises(TypeError, match="cannot store the metadata.*object is not JSON"):
        io.save(net, tmp_path / "x.npz", extra_meta={"f": object()})
    with pytest.raises(TypeError, match="only numeric arrays"):
        io.save(net, tmp_path / "x.npz", extra_arrays={"names": np.array(["a"])})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_files_get_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        net = TwoLayerNet(4, 3, 2, rng=0)
        assert io.save(net, tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644
        net.save_params(tmp_path / "params.pkl")
        assert (tmp_path / "params.pkl").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert io.save(net, tmp_path / "private.npz").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_models_do_not_import_io():
    """Net.save_params / load_params use the low-level weight-file module, not dlscratch.io."""
    code = ("import sys, dlscratch.models as m, tempfile, os\n"
            "d = tempfile.mkdtemp(); p = os.path.join(d, 'p.pkl')\n"
            "net = m.TwoLayerNet(4, 3, 2, rng=0); net.save_params(p); net.load_params(p)\n"
            "assert 'dlscratch.io' not in sys.modules, 'models imported io'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
