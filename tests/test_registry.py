"""dlscratch.models.registry: named networks, and the classes model files may name."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.models import DeepConvNet, MultiLayerNet, ResNet, SimpleConvNet, TwoLayerNet
from dlscratch.models.config import ConfigError, check_config
from dlscratch.models.registry import (
    MODELS,
    ModelSpec,
    build_model,
    get_spec,
    model_classes,
    register,
    spec_for_class,
)


def test_the_cli_names_are_registered_with_their_shapes():
    assert list(MODELS)[:4] == ["mlp", "twolayer", "cnn", "deepcnn"]
    assert "resnet-small" in MODELS
    for name, cls, shape, flat in [("mlp", MultiLayerNet, (784,), True),
                                   ("twolayer", TwoLayerNet, (784,), True),
                                   ("cnn", SimpleConvNet, (1, 28, 28), False),
                                   ("deepcnn", DeepConvNet, (1, 28, 28), False),
                                   ("resnet-small", ResNet, (1, 28, 28), False)]:
        spec = get_spec(name)
        assert spec.name == name and spec.cls is cls
        assert spec.input_shape == shape and spec.flatten is flat and spec.description


@pytest.mark.parametrize("name", ["mlp", "twolayer", "cnn", "deepcnn", "resnet-small"])
def test_build_model_gives_a_network_for_the_input_shape(name):
    spec = get_spec(name)
    net = build_model(name, rng=0)
    assert type(net) is spec.cls
    # the same seed gives the same weights; another seed, others
    again, other = build_model(name, rng=0), build_model(name, rng=1)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in
               zip(net.state_dict().values(), other.state_dict().values()))
    x = np.random.default_rng(0).random((2, *spec.input_shape), dtype=np.float32)
    assert net.eval().predict(x).shape == (2, 10)


def test_registered_configs_are_the_cli_models():
    mlp = build_model("mlp", rng=0)
    assert mlp.get_config()["hidden_size_list"] == [100, 100]
    assert mlp.get_config()["activation"] == "relu"
    two = build_model("twolayer", rng=0)
    assert two.get_config()["hidden_size"] == 50 and two.get_config()["weight_init_std"] == 0.1
    assert two.get_config()["activation"] == "relu"


def test_overrides_replace_kwargs():
    net = build_model("mlp", rng=0, hidden_size_list=[7])
    assert net.params["W1"].shape == (784, 7)
    assert get_spec("mlp").kwargs["hidden_size_list"] == [100, 100]  # the spec is unchanged


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'.*mlp, twolayer, cnn, deepcnn"):
        get_spec("resnet")
    with pytest.raises(ValueError, match="unknown model"):
        build_model("os.system")


def test_spec_for_class_and_model_classes():
    assert spec_for_class("SimpleConvNet").name == "cnn"
    assert spec_for_class("DeepConvNet").name == "deepcnn"
    assert spec_for_class("ndarray") is None
    classes = model_classes()
    assert {"MultiLayerNet", "TwoLayerNet", "SimpleConvNet", "DeepConvNet", "ResNet"} <= set(classes)
    assert all(isinstance(c, type) for c in classes.values())
    assert "simpleNet" not in classes and "Net" not in classes
    classes.clear()  # a copy: the registry is unaffected
    assert "MultiLayerNet" in model_classes()


def test_register_refuses_duplicates_and_non_networks():
    with pytest.raises(ValueError, match="already registered"):
        register(ModelSpec("mlp", MultiLayerNet))
    with pytest.raises(TypeError, match="not a dlscratch.models.Net"):
        register(ModelSpec("bad", dict))
    assert "bad" not in MODELS


# ---------------------------------------------------------------------- counting from configs
NETS = [
    lambda: MultiLayerNet(20, [16, 8], 5, use_batchnorm=True, rng=0),
    lambda: MultiLayerNet(784, [100, 100], 10, rng=0),
    lambda: TwoLayerNet(4, 3, 2, rng=0),
    lambda: SimpleConvNet(rng=0),
    lambda: SimpleConvNet((3, 12, 10), {"filter_num": 4, "filter_size": 3, "pad": 1,
                                        "stride": 1}, 7, 3, rng=0),
    lambda: DeepConvNet(rng=0),
    lambda: DeepConvNet((1, 20, 20), rng=0),
    lambda: ResNet("basic", [1, 1, 1], 10, 1, [16, 32, 64], "small", rng=0),
    lambda: ResNet("bottleneck", [1, 2], 5, 3, [8, 4], "imagenet", rng=0),
]


@pytest.mark.parametrize("make", NETS)
def test_count_parameters_from_config_equals_the_built_network(make):
    net = make()
    cls = type(net)
    config = check_config(cls, net.get_config())
    assert cls.count_parameters(config) == sum(p.data.size for p in net.parameters())
    assert cls.count_buffers(config) == sum(b.size for _, b in net.named_buffers())


def test_count_parameters_never_builds():
    config = check_config(MultiLayerNet, {"input_size": 100_000, "hidden_size_list": [100_000],
                                          "output_size": 10})
    assert MultiLayerNet.count_parameters(config) == 100_000 * 100_000 + 100_000 + 100_000 * 10 + 10


@pytest.mark.parametrize("config, msg", [
    ({"input_size": 4, "hidden_size": 3, "output_size": 2, "colour": 1}, r"does not take \['colour'\]"),
    ({"input_size": 4, "output_size": 2}, r"needs \['hidden_size'\]"),
    ({"input_size": "4", "hidden_size": 3, "output_size": 2}, "input_size must be int"),
    ({"input_size": True, "hidden_size": 3, "output_size": 2}, "input_size must be int"),
    ({"input_size": 4, "hidden_size": 3, "output_size": 2, "dtype": "object"}, "dtype must be"),
    ({"input_size": 4, "hidden_size": 3, "output_size": 2, "rng": 0}, r"does not take \['rng'\]"),
    ([1, 2], "must be a mapping"),
])
def test_check_config_refuses(config, msg):
    with pytest.raises(ConfigError, match=msg):
        check_config(TwoLayerNet, config)


@pytest.mark.parametrize("cls, config, msg", [
    (TwoLayerNet, {"input_size": 4, "hidden_size": 0, "output_size": 2}, "at least 1"),
    (TwoLayerNet, {"input_size": 4, "hidden_size": 2.5, "output_size": 2}, "must be int"),
    (MultiLayerNet, {"input_size": 4, "hidden_size_list": ["a"], "output_size": 2},
     r"hidden_size_list\[0\] must be an integer"),
    (SimpleConvNet, {"input_dim": [1, 28]}, r"input_dim must be \(C, H, W\)"),
    (SimpleConvNet, {"conv_param": {"filter_num": 3, "size": 2}}, "conv_param takes"),
    (DeepConvNet, {"conv_params": [[16, 1]] * 5}, "six"),
])
def test_count_parameters_refuses_bad_sizes(cls, config, msg):
    with pytest.raises((ConfigError, ValueError), match=msg):
        cls.count_parameters(check_config(cls, config))
