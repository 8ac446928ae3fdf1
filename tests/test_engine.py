"""The training generator: schema, determinism, divergence, clipping."""

import dataclasses
import math

import pytest
import torch

from core.data import load
from core.engine import TrainConfig, train
from core.nets import MLP
from core.recipe import clip_and_check
from core.records import METRICS

TINY = TrainConfig(depth=3, width=16, steps=30, probe_every=10, eval_every=10, batch_size=32)


@pytest.fixture(scope="module")
def digits():
    return load("digits", 0)


def test_records_follow_the_schema(digits):
    recs = list(train(TINY, digits, "tiny"))
    assert {r.metric for r in recs} <= set(METRICS)
    # other lessons' metrics, and the unit-state metrics of ReLU-like activations (TINY is sigmoid)
    not_here = {"diverged", "diverged_reason", "running_mean_err", "running_var_err", "lr", "x", "y", "dead_fraction",
                "negative_fraction", "revived_fraction", "inactive_fraction", "clip_cosine"}
    assert {r.metric for r in recs} == set(METRICS) - not_here
    for r in recs:
        assert r.run == "tiny" and 1 <= r.step <= TINY.steps and math.isfinite(r.value)
        if r.metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert r.layer is None
        elif r.metric in ("grad_norm", "update_ratio"):
            assert 1 <= r.layer <= TINY.depth + 1
        else:
            assert 1 <= r.layer <= TINY.depth
    steps = {r.step for r in recs if r.metric == "grad_norm"}
    assert steps == {1, 10, 20, 30}
    assert {r.step for r in recs if r.metric == "val_accuracy"} == {10, 20, 30}
    assert len([r for r in recs if r.metric == "loss"]) == TINY.steps


def test_same_seed_same_records(digits):
    assert list(train(TINY, digits)) == list(train(TINY, digits))
    other = list(train(dataclasses.replace(TINY, seed=1), digits))
    assert other != list(train(TINY, digits))


def test_training_learns(digits):
    cfg = TrainConfig(activation="relu", init="he_normal", depth=3, width=64, steps=300)
    recs = list(train(cfg, digits))
    assert [r.value for r in recs if r.metric == "val_accuracy"][-1] > 0.85


def test_divergence_is_detected_and_no_nan_escapes(digits):
    # ReLU with N(0,1) weights multiplies the signal by ~sqrt(width/2) per layer: inf within a few steps.
    cfg = TrainConfig(activation="relu", init="normal", depth=30, width=128, lr=1.0, steps=50)
    recs = list(train(cfg, digits))
    diverged = [r for r in recs if r.metric == "diverged"]
    assert len(diverged) == 1 and recs[-1] == diverged[0]
    assert diverged[0].value == diverged[0].step
    assert all(math.isfinite(r.value) for r in recs)


def test_clipping_bounds_the_global_norm():
    torch.manual_seed(0)
    m = MLP(10, 3, 3, 16, "tanh", "normal")
    m(torch.randn(8, 10)).pow(2).sum().mul(1e3).backward()
    params = list(m.parameters())
    clip_and_check(params, clip_value=0.0, clip_norm=0.5)
    total = torch.nn.utils.get_total_norm([p.grad for p in params]).item()
    assert total == pytest.approx(0.5, rel=1e-4)


def test_clip_value_bounds_every_component():
    torch.manual_seed(0)
    m = MLP(10, 3, 3, 16, "tanh", "normal")
    m(torch.randn(8, 10)).pow(2).sum().mul(1e3).backward()
    clip_and_check(list(m.parameters()), clip_value=0.01, clip_norm=0.0)
    assert max(p.grad.abs().max().item() for p in m.parameters()) <= 0.01


def test_clipped_run_records_bounded_layer_norms(digits):
    cfg = TrainConfig(activation="tanh", init="normal", clip_norm=1.0, steps=20, probe_every=5)
    recs = list(train(cfg, digits))
    by_step: dict[int, float] = {}
    for r in recs:
        if r.metric == "grad_norm":
            by_step[r.step] = by_step.get(r.step, 0.0) + r.value**2
    assert by_step and all(math.sqrt(v) <= 1.0 + 1e-4 for v in by_step.values())


def test_device_choice():
    from core.config import ConfigError
    from core.device import resolve

    assert resolve("cpu", 512, 1024).type == "cpu"
    assert resolve("auto", 100, 64).type == "cpu"  # small runs stay on the CPU even with a GPU
    if not torch.cuda.is_available():
        assert resolve("auto", 512, 1024).type == "cpu"
        with pytest.raises(ConfigError, match="no CUDA device"):
            TrainConfig(device="cuda")
    else:
        assert resolve("auto", 512, 1024).type == "cuda"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (the device check runs it)")
def test_a_run_on_cuda_records_what_the_cpu_records():
    """Same seed, same data: CUDA's losses follow the CPU's (float kernels differ a little), and every
    metric the CPU records is recorded, finite, on CUDA too."""
    cfg = TrainConfig(depth=4, width=64, activation="relu", init="he_normal", lr=0.05, steps=20,
                      probe_every=5, eval_every=10)
    data = load("digits", 0)
    runs = {dev: list(train(dataclasses.replace(cfg, device=dev), data)) for dev in ("cpu", "cuda")}
    loss = {dev: [r.value for r in rs if r.metric == "loss"] for dev, rs in runs.items()}
    assert len(loss["cpu"]) == len(loss["cuda"]) == 20
    assert max(abs(a - b) for a, b in zip(loss["cpu"], loss["cuda"], strict=True)) < 1e-3
    keys = {dev: {(r.step, r.metric, r.layer) for r in rs} for dev, rs in runs.items()}
    assert keys["cpu"] == keys["cuda"]
    assert all(math.isfinite(r.value) for r in runs["cuda"])


@pytest.mark.parametrize("cfg", [
    TINY,
    dataclasses.replace(TINY, activation="relu", batch_norm="before", probe_every=1, eval_every=2, steps=12),
    dataclasses.replace(TINY, optimizer="adam", schedule="cosine", lr=0.01),
    # diverges at step 9 (ReLU on N(0,1) weights), with probes in flight
    dataclasses.replace(TINY, activation="relu", init="normal", depth=6, lr=0.01, steps=100, probe_every=3,
                        eval_every=5),
], ids=["sigmoid", "bn-every-step", "schedule", "diverges"])
def test_measuring_beside_gives_the_records_of_measuring_in_place(digits, cfg):
    """Probes and evaluations taken on the second thread's copy of the model are the same numbers, in the
    same order, as taken in place; a run that diverges ends at the same record."""
    in_place = list(train(cfg, digits, "r", measure_beside=False))
    beside = list(train(cfg, digits, "r", measure_beside=True))
    assert beside == in_place
    if cfg.init == "normal":
        assert in_place[-1].metric == "diverged" and in_place[-1].step < cfg.steps


def test_records_wait_in_order_for_a_measurement_in_flight():
    from concurrent.futures import Future

    from core.engine import RecordQueue
    from core.records import Record

    out, pending = RecordQueue(), Future()
    out.put([Record("r", 1, "loss", None, 1.0)])
    out.defer(pending, lambda v: ([Record("r", 1, "grad_norm", 1, v)], v > 9))
    out.put([Record("r", 2, "loss", None, 2.0)])
    drained = out.drain()
    assert [r.metric for r in drained] == ["loss"]  # step 2's loss waits behind step 1's probe
    pending.set_result(10.0)  # the probe found a reason to end the run
    gen = out.drain()
    got = []
    with pytest.raises(StopIteration) as stop:
        while True:
            got.append(next(gen))
    assert [r.metric for r in got] == ["grad_norm"] and stop.value.value is True
    assert not out.items  # what came after the end is dropped


def test_a_run_closed_early_leaves_no_measuring_thread(digits):
    import threading

    before = {t for t in threading.enumerate() if t.name.startswith("measure")}
    gen = train(dataclasses.replace(TINY, probe_every=1, steps=200), digits, measure_beside=True)
    for r in gen:
        if r.step > 5:
            break
    assert {t for t in threading.enumerate() if t.name.startswith("measure")} - before  # it was measuring beside
    gen.close()
    assert not {t for t in threading.enumerate() if t.name.startswith("measure") and t.is_alive()} - before


def test_a_run_measures_beside_only_with_a_cpu_to_spare(digits, monkeypatch):
    """Two CPUs and one torch thread: a lone training thread has one to spare; with a second thread training
    (another session), neither has."""
    import threading

    from core import engine

    monkeypatch.setattr(engine, "available_cpus", lambda: 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    gen = train(TINY, digits)
    next(gen)
    assert engine.spare_cpu()
    other_started, other_stop = threading.Event(), threading.Event()

    def other_session():
        g = train(dataclasses.replace(TINY, steps=10_000), digits)
        next(g)
        other_started.set()
        other_stop.wait(30)
        g.close()

    t = threading.Thread(target=other_session)
    t.start()
    try:
        assert other_started.wait(30)
        assert not engine.spare_cpu()
    finally:
        other_stop.set()
        t.join(30)
        gen.close()
    assert engine.spare_cpu()  # nothing trains: the next run would have its CPU
