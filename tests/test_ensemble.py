"""The batched ensemble (core.ensemble) against its reference: the single runs it stands for, trained by the
engine one after another, and separate torch.optim optimizers for members at their own learning rates."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import pytest
import torch

from core.data import load
from core.engine import TrainConfig, build_model, train
from core.ensemble import EnsembleMLP, batchable, train_ensemble
from core.records import Record

SEEDS = (0, 1, 2)


def by_run(records: list[Record]) -> dict[str, dict[tuple, float]]:
    out: dict[str, dict[tuple, float]] = defaultdict(dict)
    for r in records:
        out[r.run][(r.step, r.metric, r.layer)] = r.value
    return out


def ensemble_and_singles(cfg: TrainConfig, seeds=SEEDS, lrs=None, beside=None):
    datas = [load(cfg.dataset, s) for s in seeds]
    runs = [f"s{s}" for s in seeds]
    ens = by_run(list(train_ensemble(cfg, datas, runs, seeds, lrs, measure_beside=beside)))
    singles = {}
    for k, s in enumerate(seeds):
        c = dataclasses.replace(cfg, seed=s, **({} if lrs is None else {"lr": lrs[k]}))
        singles[runs[k]] = by_run(list(train(c, datas[k], runs[k], measure_beside=False)))[runs[k]]
    return ens, singles


def assert_same_records(ens, singles, rel=1e-4, abs_=1e-5):
    for run, single in singles.items():
        assert ens[run].keys() == single.keys(), run
        for key, value in single.items():
            assert ens[run][key] == pytest.approx(value, rel=rel, abs=abs_), (run, key)


SMALL = dict(depth=4, width=24, steps=20, probe_every=5, eval_every=10)


@pytest.mark.parametrize("changes", [
    {},  # sigmoid, Glorot, plain SGD: the vanishing lesson's default, small
    # Not Adam with batch norm *before* the activation: the bias in front of BN gets a gradient of float noise
    # (about 1e-8), which Adam scales up to steps of the learning rate's size, so even the single run's own losses
    # differ by up to 5e-3 within 20 steps between one torch thread and two; no reference is that exact there.
    {"activation": "relu", "init": "he_normal", "optimizer": "adam", "lr": 0.01, "batch_norm": "after"},
    {"activation": "elu", "optimizer": "nesterov", "lr": 0.05, "batch_norm": "before", "schedule": "cosine"},
    {"activation": "tanh", "init": "normal", "clip_norm": 1.0, "optimizer": "rmsprop", "lr": 0.001},
    {"activation": "leaky_relu", "optimizer": "adamw", "weight_decay": 0.01, "clip_value": 0.5, "lr": 0.003,
     "schedule": "1cycle"},
], ids=["sgd-sigmoid", "adam-bn-after", "nesterov-bn-before-cosine", "clip-norm-rmsprop", "adamw-clip-value-1cycle"])
@pytest.mark.parametrize("beside", [False, True], ids=["in-place", "beside"])
def test_each_member_trains_as_the_single_run_with_its_seed(changes, beside):
    """Every record of member k (losses, probes, evaluations, BN's running-statistic errors) equals the
    engine's single run with seed k, measured in place or beside the training; the first 20 losses within 1e-5."""
    ens, singles = ensemble_and_singles(TrainConfig(**SMALL, **changes), beside=beside)
    for run, single in singles.items():
        for step in range(1, 21):
            assert abs(ens[run][(step, "loss", None)] - single[(step, "loss", None)]) < 1e-5
    assert_same_records(ens, singles)


def test_each_members_initial_weights_are_the_single_runs_bit_for_bit():
    cfg = TrainConfig(depth=3, width=16, init="he_uniform", batch_norm="before")
    data = load("digits", 0)
    members = [build_model(dataclasses.replace(cfg, seed=s), data) for s in SEEDS]
    EnsembleMLP(members)
    for s, member in zip(SEEDS, members, strict=True):
        alone = build_model(dataclasses.replace(cfg, seed=s), data)
        for a, b in zip(member.state_dict().values(), alone.state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_batch_norm_keeps_each_members_running_statistics_in_its_own_module():
    """After training, each member's own BatchNorm1d buffers hold what its single run's hold."""
    cfg = TrainConfig(depth=3, width=16, batch_norm="before", steps=15)
    datas = [load("digits", s) for s in SEEDS]
    members = [build_model(dataclasses.replace(cfg, seed=s), d) for s, d in zip(SEEDS, datas, strict=True)]
    net = EnsembleMLP(members).train()
    x = torch.stack([d.x_train[:32] for d in datas])
    with torch.no_grad():
        net(x)
    for k, (s, d) in enumerate(zip(SEEDS, datas, strict=True)):
        alone = build_model(dataclasses.replace(cfg, seed=s), d).train()
        with torch.no_grad():
            alone(d.x_train[:32])
        for bn, ref in zip(members[k].norms, alone.norms, strict=True):
            assert torch.allclose(bn.running_mean, ref.running_mean, atol=1e-6)
            assert torch.allclose(bn.running_var, ref.running_var, atol=1e-6)
            assert int(bn.num_batches_tracked) == int(ref.num_batches_tracked) == 1


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "adagrad"])
def test_a_member_at_its_own_learning_rate_follows_a_separate_optimizer_at_that_rate(optimizer):
    lrs = [0.001, 0.01, 0.03]
    ens, singles = ensemble_and_singles(TrainConfig(**SMALL, optimizer=optimizer, activation="relu",
                                                    init="he_normal"), lrs=lrs)
    assert_same_records(ens, singles)
    losses = [ens[f"s{s}"][(20, "loss", None)] for s in SEEDS]
    assert len(set(losses)) == 3  # the rates did differ


@pytest.mark.parametrize("beside", [False, True], ids=["in-place", "beside"])
def test_a_member_that_diverges_stops_and_the_others_go_on(beside):
    cfg = TrainConfig(**SMALL, activation="relu", init="he_normal")
    ens, singles = ensemble_and_singles(cfg, lrs=[0.1, 50.0, 0.1], beside=beside)
    assert (20, "loss", None) not in ens["s1"] and any(m == "diverged" for _, m, _ in ens["s1"])
    assert ens["s1"].keys() == singles["s1"].keys()  # it stopped where its single run stops
    assert_same_records(ens, singles)  # the others trained on, unharmed


@pytest.mark.parametrize(("changes", "lrs"), [({"activation": "rrelu"}, None),
                                               ({"schedule": "reduce_on_plateau"}, None),
                                               ({"schedule": "1cycle"}, [0.1, 0.2])])
def test_what_cannot_be_batched_exactly_is_refused(changes, lrs):
    cfg = TrainConfig(**SMALL, **changes)
    assert batchable(cfg, lrs) is not None
    with pytest.raises(ValueError, match="cannot train as one network"):
        next(train_ensemble(cfg, [load("digits", 0)] * 2, ["a", "b"], [0, 1], lrs))
    assert batchable(TrainConfig(**SMALL, schedule="1cycle"), [0.1, 0.1]) is None


def _csv(path) -> dict[str, dict[tuple, float]]:
    import pandas as pd

    df = pd.read_csv(path, keep_default_na=False)
    out: dict[str, dict[tuple, float]] = defaultdict(dict)
    for r in df.itertuples():
        out[r.run][(r.step, r.metric, None if r.layer == "" else int(float(r.layer)))] = float(r.value)
    return out


@pytest.mark.parametrize("experiment", ["vanishing", "activations"])
def test_the_cli_runs_an_experiment_on_several_seeds_named_by_seed(tmp_path, experiment):
    """`--seeds 0,2`: each seed's runs, named <run>@seed<k>, hold what `--seed k` writes (vanishing trains them
    as one ensemble, activations one seed after another)."""
    from core.__main__ import main
    from core.recipe import split_seed

    small = ["--steps", "12", "--depth", "3", "--width", "16", "--probe-every", "4", "--eval-every", "6"]
    assert main(["run", experiment, *small, "--seeds", "0,2", "--out", str(tmp_path / "both.csv")]) == 0
    both = _csv(tmp_path / "both.csv")
    for seed in (0, 2):
        assert main(["run", experiment, *small, "--seed", str(seed), "--out", str(tmp_path / f"{seed}.csv")]) == 0
        alone = _csv(tmp_path / f"{seed}.csv")
        for run, records in alone.items():
            seeded = {n: rs for n, rs in both.items() if split_seed(n) == (run, seed)}
            assert len(seeded) == 1, (run, list(both))
            mine = next(iter(seeded.values()))
            assert mine.keys() == records.keys()
            for key, value in records.items():
                if key[1] != "wall_seconds":
                    assert mine[key] == pytest.approx(value, rel=1e-4, abs=1e-5), (run, key)


@pytest.mark.parametrize(("argv", "says"), [(["--seeds", "0,x"], "whole numbers"), (["--seeds", "1,1"], "distinct"),
                                             (["--seeds", ",".join(map(str, range(11)))], "1 to 10"),
                                             (["--seeds", "1", "--seed", "2"], "give one of them")])
def test_bad_seeds_are_one_line_and_exit_2(argv, says, capsys):
    from core.__main__ import main

    assert main(["run", "vanishing", "--steps", "100000", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --seeds") and says in err[0]


def test_a_run_name_keeps_its_fields_with_a_seed():
    from core.experiments import vanishing
    from core.recipe import seeded_run, split_seed

    name = seeded_run("relu-he_normal", 12)
    assert split_seed(name) == ("relu-he_normal", 12) and split_seed("relu-he_normal") == ("relu-he_normal", None)
    assert seeded_run("", 3) == ""
    import pandas as pd

    df = vanishing.RUNS.annotate(pd.DataFrame({"run": [name]}))
    assert (df["activation"][0], df["init"][0]) == ("relu", "he_normal")
