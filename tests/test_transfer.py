"""Transfer lesson: copying, freezing, shared seeds and data, model A's cache, CNN weights offline."""

import dataclasses
import math

import pytest
import torch

from core import backbones
from core.config import ConfigError
from core.data import Dataset, load
from core.experiments import transfer
from core.records import Record

SMALL = transfer.Config(target_size=40, seeds=2, epochs=4, unfreeze_epochs=2, pretrain_steps=60, depth=3,
                 reuse_layers=2, width=32)


@pytest.fixture(scope="module")
def tasks():
    return transfer.split_tasks(load("digits", 0), transfer.HELD_OUT["digits"])


@pytest.fixture(scope="module")
def model_a(tasks):
    list(transfer.pretrained(SMALL, tasks[0]))
    return transfer.model_a(SMALL, tasks[0])


def test_tasks_split_the_classes(tasks):
    a, b = tasks
    assert a.n_classes == 8 and set(a.y_train.tolist()) == set(range(8))
    assert b.n_classes == 2 and set(b.y_train.tolist()) == {0, 1}
    data = load("digits", 0)
    assert len(a.x_val) + len(a.x_train) + len(b.x_val) + len(b.x_train) == len(data.x_val) + len(data.x_train)
    assert len(b.x_val) >= 200  # one validation image is at most half a point


def test_reused_layers_equal_a_after_the_copy(tasks, model_a):
    b = transfer.sample(tasks[1], 40, 0)
    for variant in ("frozen", "unfreeze", "finetune"):
        net = transfer.build_b(SMALL, variant, model_a, b, 0)
        for i in range(SMALL.reuse_layers):
            assert torch.equal(net.linears[i].weight, model_a.linears[i].weight)
        assert not torch.equal(net.linears[SMALL.reuse_layers].weight, model_a.linears[SMALL.reuse_layers].weight)
    scratch = transfer.build_b(SMALL, "scratch", model_a, b, 0)
    assert not torch.equal(scratch.linears[0].weight, model_a.linears[0].weight)


def test_frozen_layers_stay_and_unfrozen_change(tasks, model_a):
    b = transfer.sample(tasks[1], 40, 0)
    frozen = transfer.build_b(SMALL, "frozen", model_a, b, 0)
    list(transfer.train_b(SMALL, "frozen", frozen, b, 0))
    assert torch.equal(frozen.linears[0].weight, model_a.linears[0].weight)
    assert not torch.equal(frozen.head.weight, transfer.build_b(SMALL, "frozen", model_a, b, 0).head.weight)
    thawed = transfer.build_b(SMALL, "unfreeze", model_a, b, 0)
    recs = list(transfer.train_b(SMALL, "unfreeze", thawed, b, 0))
    assert not torch.equal(thawed.linears[0].weight, model_a.linears[0].weight)
    steps = [r.step for r in recs if r.metric == "loss"]
    assert steps == list(range(1, len(steps) + 1))  # the second phase continues the step count
    tuned = transfer.build_b(SMALL, "finetune", model_a, b, 0)
    list(transfer.train_b(SMALL, "finetune", tuned, b, 0))
    assert not torch.equal(tuned.linears[0].weight, model_a.linears[0].weight)


def test_variants_share_seeds_and_data(tasks):
    b1, b2 = transfer.sample(tasks[1], 40, 3), transfer.sample(tasks[1], 40, 3)
    assert torch.equal(b1.x_train, b2.x_train) and torch.equal(b1.x_val, tasks[1].x_val)
    assert not torch.equal(transfer.sample(tasks[1], 40, 4).x_train, b1.x_train)
    recs = list(transfer.run(SMALL))
    runs = {r.run for r in recs}
    assert runs == {"model_a"} | {f"{v}/s{s}" for v in transfer.VARIANTS for s in (0, 1)}


def test_cache_hit_means_a_does_not_retrain(monkeypatch):
    cfg = dataclasses.replace(SMALL, pretrain_steps=61)
    first = list(transfer.run(cfg))
    calls = []
    original = transfer.train
    monkeypatch.setattr(transfer, "train",
                        lambda c, d, run="run", **kw: (calls.append(run), original(c, d, run, **kw))[1])
    second = list(transfer.run(cfg))
    assert "model_a" not in calls and calls  # B trained, A did not
    assert [r for r in first if r.run == "model_a"] == [r for r in second if r.run == "model_a"]
    assert first == second


def _recs(values):
    from core.records import Record

    return [Record(f"{v}/s{s}", 10, "val_accuracy", None, a) for v, accs in values.items() for s, a in enumerate(accs)]


def test_paired_difference_and_interval_against_a_direct_computation():
    from scipy import stats

    scratch, frozen = [0.80, 0.85, 0.78, 0.90], [0.75, 0.80, 0.76, 0.83]
    d, mean, lo, hi = transfer.paired(_recs({"scratch": scratch, "frozen": frozen}), "frozen")
    diffs = [f - s for f, s in zip(frozen, scratch, strict=True)]
    ref = stats.ttest_rel(frozen, scratch).confidence_interval(0.95)  # scipy's own paired t interval
    assert d == pytest.approx(diffs) and mean == pytest.approx(sum(diffs) / 4)
    assert (lo, hi) == pytest.approx((ref.low, ref.high))


def test_verdict_says_what_the_interval_says():
    better = transfer.verdict(_recs({"scratch": [0.70, 0.71, 0.69], "finetune": [0.90, 0.92, 0.89]}))
    assert better.startswith("finetune is better than scratch")
    worse = transfer.verdict(_recs({"scratch": [0.90, 0.91, 0.89], "frozen": [0.80, 0.83, 0.80]}))
    assert worse.startswith("frozen is worse than scratch")
    unclear = transfer.verdict(_recs({"scratch": [0.7, 0.9, 0.8], "finetune": [0.85, 0.75, 0.8]}))
    assert unclear.startswith("finetune is not clearly different from scratch")
    assert "one seed" in transfer.verdict(_recs({"scratch": [0.7], "frozen": [0.8]}))


def test_bad_options():
    with pytest.raises(ConfigError, match="reuse_layers"):
        transfer.Config(depth=2, reuse_layers=3)
    from core.__main__ import main

    assert main(["run", "transfer", "--target-size", "1000", "--seeds", "1"]) == 2  # digits B has ~290
    assert main(["run", "transfer", "--reuse-layers", "9"]) == 2


def test_runner_transfer(tmp_path):
    from core.__main__ import main

    out = tmp_path / "t.csv"
    assert main(["run", "transfer", "--preset", "book-a-to-b", "--seeds", "2", "--target-size", "30",
                 "--epochs", "2", "--unfreeze-epochs", "1", "--pretrain-steps", "30", "--out", str(out)]) == 0
    runs = {line.split(",")[0] for line in out.read_text().splitlines()[1:]}
    assert "model_a" in runs and "frozen/s1" in runs


def test_backbone_loads_from_torch_cache_with_weights_only(cached_weights, monkeypatch):
    seen = {}
    original = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    model = backbones.load_backbone("resnet18")
    assert seen.get("weights_only") is True
    assert torch.equal(model.state_dict()["conv1.weight"], cached_weights["conv1.weight"])


def test_missing_weights_say_so_plainly(tmp_path, monkeypatch):
    import torch.hub

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(backbones.WeightsUnavailable, match="could not be downloaded"):
        backbones.load_backbone("mobilenet_v3_small")


@pytest.mark.parametrize("mode", ["frozen", "finetune"])
def test_cnn_trains_on_a_small_image_task(cached_weights, mode):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (24, 32, 32, 3), dtype=torch.uint8, generator=g)
    x = backbones.normalise(images)
    data = Dataset("fake", x[:16], torch.arange(16) % 2, x[16:], torch.arange(8) % 2, 2)
    cfg = transfer.CnnConfig(mode=mode, steps=3, batch_size=8)
    recs = list(transfer.run_cnn(cfg, transfer.prepare_cnn(cfg, data)))
    assert {r.run for r in recs} == {f"cnn_{mode}"} and any(r.metric == "val_accuracy" for r in recs)


def test_accuracy_table_is_each_seeds_last_accuracy_with_mean_and_sample_std():
    recs = [Record("model_a", 5, "val_accuracy", None, 0.99),
            Record("scratch/s0", 5, "val_accuracy", None, 0.5), Record("scratch/s0", 9, "val_accuracy", None, 0.6),
            Record("scratch/s1", 9, "val_accuracy", None, 0.8),
            Record("frozen/s0", 9, "val_accuracy", None, 0.7), Record("frozen/s1", 9, "val_accuracy", None, 0.7)]
    table, summary = transfer.accuracy_table(recs)
    assert table.to_dict() == {"scratch": {0: 0.6, 1: 0.8}, "frozen": {0: 0.7, 1: 0.7}}
    assert summary.loc["mean"].tolist() == pytest.approx([0.7, 0.7])
    assert summary.loc["std"].tolist() == pytest.approx([math.sqrt(0.02), 0.0])  # ((0.1² + 0.1²) / (2 - 1))^½
