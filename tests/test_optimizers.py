"""Optimizers lesson: surfaces against hand-derived gradients, trajectories against torch.optim,
schedules against torch.optim.lr_scheduler, presets' claims, runner."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch.optim import lr_scheduler

from core import surfaces
from core.config import ConfigError
from core.experiments import optimizers
from core.optim import OPTIMIZERS, SCHEDULES, make_schedule, step_schedule

# Gradients derived by hand: the reference autograd must agree with.
GRADIENTS = {
    "ravine": lambda x, y: (0.1 * x, 4.0 * y),
    "rosenbrock": lambda x, y: (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)),
    "saddle": lambda x, y: (2 * x, -2 * y),
    "himmelblau": lambda x, y: (4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
                                2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7)),
    "rastrigin": lambda x, y: (2 * x + 20 * math.pi * math.sin(2 * math.pi * x),
                               2 * y + 20 * math.pi * math.sin(2 * math.pi * y)),
    "beale": lambda x, y: (
        2 * (1.5 - x + x * y) * (y - 1) + 2 * (2.25 - x + x * y**2) * (y**2 - 1)
        + 2 * (2.625 - x + x * y**3) * (y**3 - 1),
        2 * (1.5 - x + x * y) * x + 2 * (2.25 - x + x * y**2) * 2 * x * y + 2 * (2.625 - x + x * y**3) * 3 * x * y**2),
}


@pytest.mark.parametrize("name", list(surfaces.SURFACES))
def test_gradient_agrees_with_autograd(name):
    for point in [(0.3, -0.7), (-1.2, 0.4), (2.0, 1.5)]:
        xy = torch.tensor(point, dtype=torch.float64, requires_grad=True)
        surfaces.loss(name, xy).backward()
        assert xy.grad.tolist() == pytest.approx(GRADIENTS[name](*point), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", [n for n, s in surfaces.SURFACES.items() if s.minima])
def test_known_minima_are_minima(name):
    for m in surfaces.SURFACES[name].minima:
        xy = torch.tensor(m, dtype=torch.float64, requires_grad=True)
        f = surfaces.loss(name, xy)
        f.backward()
        assert xy.grad.abs().max().item() < 1e-3
        for dx, dy in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)]:
            assert surfaces.loss(name, torch.tensor((m[0] + dx, m[1] + dy), dtype=torch.float64)) > f


# The reference: torch optimizers built from literal arguments, not from the project's registry
# (the Config's defaults are β = 0.9, β₁ = 0.9, β₂ = 0.999, ε = 1e-8; RMSProp's ρ is HOML's 0.9).
REFERENCE = {
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "nesterov": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr, eps=1e-8),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.9, eps=1e-8),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.9, 0.999), eps=1e-8),
    "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
    "nadam": lambda p, lr: torch.optim.NAdam(p, lr=lr, betas=(0.9, 0.999), eps=1e-8),
    "adamax": lambda p, lr: torch.optim.Adamax(p, lr=lr, betas=(0.9, 0.999), eps=1e-8),
}


def test_every_registered_optimizer_has_a_reference():
    assert set(REFERENCE) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_trajectory_equals_torch_optim_steps(name):
    cfg = optimizers.Config(surface="rosenbrock", optimizers=(name,), lr=1e-3, steps=25, start=(-1.0, 1.5))
    recs = list(optimizers.trajectories(cfg))
    xy = torch.tensor(cfg.start, dtype=torch.float64, requires_grad=True)
    opt = REFERENCE[name]([xy], cfg.lr)
    for _ in range(cfg.steps):
        opt.zero_grad()
        surfaces.loss("rosenbrock", xy).backward()
        opt.step()
    xs = [r.value for r in recs if r.metric == "x"]
    ys = [r.value for r in recs if r.metric == "y"]
    assert len(xs) == cfg.steps + 1 and (xs[0], ys[0]) == cfg.start
    assert (xs[-1], ys[-1]) == pytest.approx(tuple(xy.tolist()), abs=1e-12)
    assert {r.metric for r in recs} == {"loss", "x", "y", "lr"} and {r.run for r in recs} == {name}


EXPECTED = {
    "constant": lambda opt, n: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "step": lambda opt, n: lr_scheduler.StepLR(opt, step_size=n // 3, gamma=0.1),
    "exponential": lambda opt, n: lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / n)),
    "cosine": lambda opt, n: lr_scheduler.CosineAnnealingLR(opt, T_max=n),
    "1cycle": lambda opt, n: lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=n),
}


def _lrs(schedule_factory, n=30, losses=None):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = schedule_factory(opt, n)
    out = []
    for t in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        step_schedule(sched, losses[t] if losses else 1.0)
    return out


@pytest.mark.parametrize("name", list(EXPECTED))
def test_schedules_match_torch(name):
    assert _lrs(SCHEDULES[name]) == pytest.approx(_lrs(EXPECTED[name]))


def test_power_and_plateau_schedules():
    lrs = _lrs(SCHEDULES["power"], n=30)
    assert lrs == pytest.approx([0.1 / (1 + t / 3) for t in range(30)])
    flat = _lrs(SCHEDULES["reduce_on_plateau"], n=30, losses=[1.0] * 30)
    assert flat[0] == 0.1 and flat[-1] < 0.1  # a flat loss halves the rate
    assert set(SCHEDULES) == {"constant", "step", "exponential", "power", "cosine", "1cycle", "reduce_on_plateau"}
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    assert isinstance(make_schedule("cosine", opt, 10), lr_scheduler.CosineAnnealingLR)


def test_claims_read_the_paths_they_describe():
    # the presets' claims are checked on five seeds in tests/test_claims.py; here one claim is
    # checked against the path computed directly from the records
    recs = list(optimizers.trajectories(optimizers.SURFACE_EXPERIMENT.configure("adagrad-stall", steps=50)))
    xs = [r.value for r in recs if r.run == "adagrad" and r.metric == "x"]
    ys = [r.value for r in recs if r.run == "adagrad" and r.metric == "y"]
    first, last = math.hypot(xs[1] - xs[0], ys[1] - ys[0]), math.hypot(xs[-1] - xs[-2], ys[-1] - ys[-2])
    distance = surfaces.distance_to_minimum("ravine", xs[-1], ys[-1])
    assert optimizers.stalls(last_below=last * 1.01, beyond=distance * 0.99)(recs).holds
    verdict = optimizers.stalls(last_below=last * 0.99)(recs)
    assert not verdict.holds and f"{first:.3g}" in verdict.evidence


def test_fair_mode_picks_rates_on_training_data_not_validation():
    from core.data import load

    data = load("digits", 0)
    pick = optimizers.selection_split(data)
    assert len(pick.x_train) + len(pick.x_val) == len(data.x_train)
    assert torch.equal(pick.x_val, data.x_train[len(pick.x_train):])


def test_rosenbrock_and_saddle_presets_run():
    for name in ("rosenbrock", "saddle"):
        recs = list(optimizers.trajectories(optimizers.SURFACE_EXPERIMENT.configure(name, steps=20)))
        assert {r.run for r in recs} == set(optimizers.PRESETS[name]["optimizers"])


def test_net_mode_and_fair_mode():
    cfg = optimizers.NetConfig(fair=True, optimizers=("sgd", "adam"), steps=40, depth=2)
    recs = list(optimizers.run_net(cfg))
    runs = {r.run for r in recs}
    assert {"sgd", "adam"} <= runs and {f"adam@lr{lr:g}" for lr in optimizers.FAIR_GRID} <= runs
    chosen = {r.run: r.value for r in recs if r.metric == "chosen_lr"}
    assert set(chosen) == {"sgd", "adam"} and all(lr in optimizers.FAIR_GRID for lr in chosen.values())
    adam_lr = [r.value for r in recs if r.run == "adam" and r.metric == "lr"]
    assert adam_lr and set(adam_lr) == {chosen["adam"]}
    assert {optimizers.NET_RUNS.parse(run)["phase"] for run in runs} == {"sweep", "final"}


def test_without_fair_mode_every_optimizer_uses_the_configs_rate():
    recs = list(optimizers.run_net(optimizers.NetConfig(optimizers=("sgd", "nesterov"), steps=5, depth=2, lr=0.02)))
    assert {r.run: r.value for r in recs if r.metric == "chosen_lr"} == {"sgd": 0.02, "nesterov": 0.02}


def test_lr_range_test_grows_the_rate_from_min_to_max():
    cfg = optimizers.RangeConfig(optimizers=("sgd",), depth=2, steps=50, lr_min=1e-4, lr_max=1.0)
    recs = list(optimizers.run_range(cfg))
    lrs = [r.value for r in recs if r.metric == "lr"]
    assert lrs[0] == pytest.approx(1e-4) and all(b > a for a, b in zip(lrs, lrs[1:], strict=False))
    if len(lrs) == 50:  # the rate reached the last step: one factor short of lr_max (torch's ExponentialLR)
        assert lrs[-1] == pytest.approx(1e-4 * 1e4 ** (49 / 50))
    with pytest.raises(ConfigError, match="lr_min"):
        optimizers.RangeConfig(lr_min=1.0, lr_max=0.5)


def test_config_checks():
    with pytest.raises(ConfigError, match="start"):
        optimizers.Config(start=(1.0,))
    with pytest.raises(ConfigError, match="start"):
        optimizers.Config(start=(1.0, 50.0))


def test_runner_optimizers(tmp_path):
    from core.__main__ import main

    out = tmp_path / "o.csv"
    assert main(["run", "optimizers", "--surface", "beale", "--optimizers", "sgd,adam", "--lr", "0.01",
                 "--steps", "10", "--start=1,1", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[1].startswith("sgd,0,loss,,")
    assert {line.split(",")[2] for line in lines[1:]} == {"loss", "x", "y", "lr"}
    assert main(["run", "optimizers-net", "--optimizers", "sgd", "--steps", "5", "--depth", "2",
                 "--out", str(out)]) == 0
    assert "val_accuracy" in out.read_text()
    assert main(["run", "lr-range", "--optimizers", "adam", "--steps", "10", "--depth", "2", "--out", str(out)]) == 0
    assert {line.split(",")[0] for line in out.read_text().splitlines()[1:]} == {"adam@range"}
    assert main(["run", "optimizers", "--surface", "moon"]) == 2
    assert main(["run", "optimizers", "--start=1"]) == 2


@pytest.mark.parametrize("name", ["ravine", "himmelblau", "saddle"])
def test_contour_lines_lie_on_their_level(name):
    """Every point contourpy gives for a level has the surface's loss at that level (the formula itself),
    up to the interpolation between grid points: within 2% of the loss range on the map."""
    from core.surfaces import SURFACES, contour_levels, contours

    lines = contours(name)
    levels = np.asarray(contour_levels(name))
    assert len(lines["x"]) > 0
    assert np.allclose(levels[np.abs(lines["level"][:, None] - levels).argmin(1)], lines["level"], rtol=1e-5)
    x, y = torch.tensor(lines["x"], dtype=torch.float64), torch.tensor(lines["y"], dtype=torch.float64)
    f = SURFACES[name].f(x, y).numpy()
    spread = max(levels) - min(levels)
    assert np.abs(f - lines["level"]).max() <= 0.02 * spread
    x_lo, x_hi, y_lo, y_hi = SURFACES[name].window
    assert x.min() >= x_lo and x.max() <= x_hi and y.min() >= y_lo and y.max() <= y_hi


def _frame(rows):
    return pd.DataFrame(rows, columns=["run", "step", "metric", "layer", "value"])


def test_step_lengths_and_final_positions_against_direct_arithmetic():
    """A 3-4-5 move and a diverged run: the page's tables from records, against the arithmetic done by hand."""
    rows = [("sgd", 0, "x", None, 0.0), ("sgd", 0, "y", None, 0.0), ("sgd", 0, "loss", None, 2.0),
            ("sgd", 1, "x", None, 3.0), ("sgd", 1, "y", None, 4.0), ("sgd", 1, "loss", None, 1.0),
            ("adam", 0, "x", None, 1.0), ("adam", 0, "y", None, 1.0), ("adam", 0, "loss", None, 0.5)]
    lengths = optimizers.step_lengths(_frame(rows))
    assert lengths[["run", "step"]].values.tolist() == [["sgd", 1]] and lengths["value"].iloc[0] == pytest.approx(5.0)
    table = optimizers.final_positions(_frame(rows), "rosenbrock", {"sgd"})
    assert table["optimizer"].tolist() == ["adam", "sgd"]  # lowest final loss first
    assert table["steps"].tolist() == [0, 1] and table["diverged"].tolist() == [False, True]
    # Rosenbrock's one minimum is (1, 1): adam stands on it, sgd is |(3, 4) - (1, 1)| = √13 away
    assert table["distance to nearest minimum"].tolist() == pytest.approx([0.0, math.sqrt(13)])


def test_sweep_scores_take_each_rates_last_accuracy_and_zero_for_a_divergence():
    rows = [("adam@lr0.01", 10, "val_accuracy", None, 0.5), ("adam@lr0.01", 20, "val_accuracy", None, 0.8),
            ("adam@lr1", 10, "val_accuracy", None, 0.3), ("adam@lr1", 12, "diverged", None, 12.0),
            ("adam", 5, "val_accuracy", None, 0.9)]  # a final run: not part of the sweep
    scores = optimizers.sweep_scores(optimizers.NET_RUNS.annotate(_frame(rows)))
    assert scores.values.tolist() == [["adam", 0.01, 0.8, False], ["adam", 1.0, 0.0, True]]
