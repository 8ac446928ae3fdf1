"""The playground lesson: its points against scikit-learn and their formulas, its boundary records against the
network's own output on the plane, and training that the boundary does not disturb."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from sklearn import datasets

from core.engine import build_model, train
from core.experiments import playground as pg


@pytest.mark.parametrize(("shape", "make"), [
    ("moons", lambda: datasets.make_moons(200, noise=0.2, random_state=3)),
    ("circles", lambda: datasets.make_circles(200, noise=0.2, factor=0.5, random_state=3))])
def test_moons_and_circles_are_scikit_learns(shape, make):
    x, y = pg.make_points(shape, 200, 0.2, 3)
    want_x, want_y = make()
    assert torch.equal(y, torch.tensor(want_y)) and torch.allclose(x, torch.tensor(want_x, dtype=torch.float32))


def test_without_noise_each_spiral_point_lies_on_its_arm():
    """Arm c at radius r has angle 3πr + πc (mod 2π): a point's class is the arm it lies on."""
    x, y = pg.make_points("spiral", 300, 0.0, 1)
    r = x.double().norm(dim=1)
    angle = torch.atan2(x[:, 1].double(), x[:, 0].double())
    off = torch.remainder(angle - 3 * math.pi * r - math.pi * y, 2 * math.pi)
    assert torch.minimum(off, 2 * math.pi - off).max() < 1e-4
    assert (r <= 1 + 1e-6).all() and y.sum() == 150


def test_xor_blobs_take_the_class_of_their_corners_signs():
    x, y = pg.make_points("xor", 400, 0.0, 2)
    by_signs = ((x[:, 0] > 0) != (x[:, 1] > 0)).long()  # opposite-sign corners: class 1
    assert (by_signs == y).float().mean() > 0.99 and 150 < y.sum() < 250


def test_the_points_are_seeded_and_a_bad_shape_is_refused():
    assert torch.equal(pg.make_points("spiral", 50, 0.1, 4)[0], pg.make_points("spiral", 50, 0.1, 4)[0])
    assert not torch.equal(pg.make_points("spiral", 50, 0.1, 4)[0], pg.make_points("spiral", 50, 0.1, 5)[0])
    with pytest.raises(ValueError, match="shape must be one of"):
        pg.make_points("torus", 50, 0.1, 0)


def test_the_boundary_is_the_networks_softmax_on_the_cell_centres():
    cfg = pg.EXPERIMENT.configure(None, steps=3, grid=8, boundary_every=2, depth=2, points=80)
    records = list(pg.EXPERIMENT.run(cfg))
    found = pg.snapshots(records)
    assert sorted(found) == [0, 2, 3] and all(len(v) == 64 for v in found.values())
    data = pg.load(cfg)
    model = build_model(pg.engine_config(cfg), data).eval()  # the untrained network: step 0's boundary
    size = 5.0 / 8
    centres = torch.tensor([(-2.5 + (c + 0.5) * size, -2.5 + (r + 0.5) * size) for r in range(8) for c in range(8)])
    with torch.no_grad():
        want = torch.softmax(model(centres), 1)[:, 1]
    assert torch.allclose(torch.tensor(found[0]), want, atol=1e-6)
    points = {(r.metric, r.layer): r.value for r in records if r.metric in pg.POINTS}
    assert len(points) == 3 * len(data.x_train) and points["point_x", 1] == pytest.approx(data.x_train[0, 0].item())


def test_drawing_the_boundary_does_not_change_the_training():
    """The run's loss and accuracy records are those of the engine training the same network on the same points
    with no boundary drawn (batch norm: evaluating in eval mode leaves its running statistics alone)."""
    cfg = pg.EXPERIMENT.configure(None, steps=30, grid=8, boundary_every=1, depth=3, batch_norm="before")
    mine = [r for r in pg.EXPERIMENT.run(cfg) if r.metric in ("loss", "accuracy", "val_loss")]
    tc = pg.engine_config(cfg)
    data = pg.load(cfg)
    plain = [r for r in train(tc, data, "relu", measure_beside=False) if r.metric in ("loss", "accuracy", "val_loss")]
    assert mine == plain


def test_the_plane_puts_each_cell_where_the_records_say():
    cfg = pg.EXPERIMENT.configure(None, steps=2, grid=8, depth=2, points=80)
    df = pd.DataFrame(list(pg.EXPERIMENT.run(cfg)))
    values, points, step = pg.plane(df, 8)
    assert step == 2 and values.shape == (8, 8) and len(points) == 64
    assert points.x.tolist() == pytest.approx(pg.load(cfg).x_train[:, 0].tolist())
    final = pg.snapshots(pg.EXPERIMENT.run(cfg))[2]
    size = 2 * pg.EXTENT / 8
    for k in range(1, 65):  # the row and column where each cell's centre lies, from the bottom left
        x, y = pg.cell(k, 8)
        assert values[math.floor((y + pg.EXTENT) / size), math.floor((x + pg.EXTENT) / size)] == \
            pytest.approx(final[k - 1], abs=1e-6)
    assert pg.plane(df[df["metric"] != pg.BOUNDARY], 8)[2] is None
