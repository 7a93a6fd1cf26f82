import math

import numpy as np
import pytest

from dlscratch.layers import Linear
from dlscratch.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR
from dlscratch.optim import SGD, Adam


def test_step_lr_multiplies_every_step_size_steps():
    opt = SGD(lr=0.1)
    schedule = StepLR(opt, step_size=2, gamma=0.5)
    seen = [schedule.step() for _ in range(5)]
    assert seen == pytest.approx([0.1, 0.05, 0.05, 0.025, 0.025])
    assert opt.lr == pytest.approx(0.025) and schedule.get_last_lr() == opt.lr


def test_exponential_lr():
    opt = Adam(lr=1e-3)
    schedule = ExponentialLR(opt, gamma=0.8)
    for _ in range(3):
        schedule.step()
    assert opt.lr == pytest.approx(1e-3 * 0.8 ** 3)


def test_cosine_goes_from_base_to_eta_min_and_stays():
    opt = SGD(lr=0.2)
    schedule = CosineAnnealingLR(opt, T_max=4, eta_min=0.02)
    seen = [schedule.step() for _ in range(6)]
    expected = [0.02 + 0.18 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (1, 2, 3, 4, 4, 4)]
    assert seen == pytest.approx(expected)
    assert seen[1] == pytest.approx(0.11)  # half-way: the mean of 0.2 and 0.02
    assert seen[-1] == pytest.approx(0.02)


def test_schedule_changes_what_the_optimizer_does():
    layer = Linear(2, 1, rng=0, dtype=np.float64)
    opt = SGD(layer.parameters(), lr=1.0)
    StepLR(opt, step_size=1, gamma=0.5).step()  # lr 1.0 -> 0.5
    W0 = layer.W.copy()
    layer.forward(np.ones((1, 2)))
    layer.backward(np.ones((1, 1)))
    opt.step()
    np.testing.assert_allclose(layer.W, W0 - 0.5 * 1.0)  # dW = x.T @ dout = ones


def test_state_dict_resumes_exactly():
    a = CosineAnnealingLR(Adam(lr=1e-3), T_max=10)
    for _ in range(3):
        a.step()
    b = CosineAnnealingLR(Adam(lr=1e-3), T_max=10)
    b.load_state_dict(a.state_dict())
    assert b.optimizer.lr == a.optimizer.lr
    assert b.step() == a.step()


def test_bad_arguments_are_refused_with_the_reason():
    with pytest.raises(TypeError, match="expected a dlscratch optimizer"):
        StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="step_size must be > 0"):
        StepLR(SGD(lr=0.1), step_size=0)
    with pytest.raises(ValueError, match="step_size counts steps"):
        StepLR(SGD(lr=0.1), step_size=1.5)
    with pytest.raises(ValueError, match="T_max must be > 0"):
        CosineAnnealingLR(SGD(lr=0.1), T_max=0)
    with pytest.raises(ValueError, match="eta_min must be in"):
        CosineAnnealingLR(SGD(lr=0.1), T_max=5, eta_min=0.5)
