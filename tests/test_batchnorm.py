"""Batch-norm lesson: BN against its definition, running statistics, presets' claims, runner."""

import pytest
import torch

from core import probes
from core.config import ConfigError
from core.data import load
from core.experiments import batchnorm as B
from core.nets import MLP
from core.records import to_frame


def test_bn_output_is_standardised_per_feature_in_train_mode():
    torch.manual_seed(0)
    m = MLP(10, 3, depth=2, width=32, activation="relu", init="normal", batch_norm="before").train()
    captured = []
    m.norms[0].register_forward_hook(lambda _m, _a, out: captured.append(out))
    m(torch.randn(256, 10) * 5 + 3)
    out = captured[0]
    assert torch.allclose(out.mean(0), torch.zeros(32), atol=1e-5)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(32), atol=1e-3)


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_running_stats_follow_torchs_documented_momentum_update(momentum):
    torch.manual_seed(0)
    m = MLP(10, 3, depth=1, width=8, activation="relu", init="he_normal", batch_norm="before",
            bn_momentum=momentum).train()
    bn, lin = m.norms[0], m.linears[0]
    mean, var = bn.running_mean.clone(), bn.running_var.clone()
    for _ in range(3):
        x = torch.randn(32, 10)
        z = lin(x).detach()
        mean = (1 - momentum) * mean + momentum * z.mean(0)
        var = (1 - momentum) * var + momentum * z.var(0, unbiased=True)
        m(x)
    assert torch.allclose(bn.running_mean, mean, atol=1e-6) and torch.allclose(bn.running_var, var, atol=1e-5)


def test_running_stat_errors_equal_direct_computation():
    torch.manual_seed(0)
    m = MLP(10, 3, depth=2, width=8, activation="tanh", init="xavier_uniform", batch_norm="before")
    x = torch.randn(500, 10)
    m(x[:32])  # one training batch moves the running stats a little
    errs = probes.running_stat_errors(m, x)
    z = m.linears[0](x).detach()
    bn = m.norms[0]
    expected_mean = ((bn.running_mean - z.mean(0)).abs() / z.var(0).sqrt()).mean()
    expected_var = ((bn.running_var - z.var(0)).abs() / z.var(0)).mean()
    assert errs["running_mean_err"][0].item() == pytest.approx(expected_mean.item(), rel=1e-5)
    assert errs["running_var_err"][0].item() == pytest.approx(expected_var.item(), rel=1e-5)
    assert m.training  # restored


def test_run_names_and_shared_seed():
    cfg = B.Config(variants=("no_bn", "bn_before"), lr_multipliers=(1.0, 30.0), steps=2)
    assert set(B.variants(cfg)) == {"no_bn@x1", "no_bn@x30", "bn_before@x1", "bn_before@x30"}
    assert B.variants(cfg)["bn_before@x30"].lr == pytest.approx(cfg.lr * 30)
    assert set(B.variants(B.Config())) == {"no_bn", "bn_before"}
    assert set(B.variants(B.Config(batch_sizes=(2, 64)))) == {"no_bn@b2", "no_bn@b64", "bn_before@b2",
                                                              "bn_before@b64"}
    assert {c.seed for c in B.variants(cfg).values()} == {cfg.seed}
    with pytest.raises(ConfigError, match="lr_multipliers"):
        B.Config(lr_multipliers=(3.0,))


def test_running_error_records_only_for_bn_runs():
    recs = list(B.run(B.Config(steps=60, eval_every=30)))
    errs = [r for r in recs if r.metric == "running_mean_err"]
    assert errs and {r.run for r in errs} == {"bn_before"} and {r.layer for r in errs} == {1, 2, 3}


def _last_val(recs, run):
    vals = [r.value for r in recs if r.run == run and r.metric == "val_accuracy"]
    return vals[-1] if vals else None


def test_bad_init_no_bn_diverges_bn_trains():
    # quick version of the lesson's claims (tests/test_claims.py checks the presets on five seeds)
    recs = list(B.run(B.EXPERIMENT.configure("bn-bad-init", steps=100)))
    assert any(r.run == "no_bn" and r.metric == "diverged" for r in recs)
    assert _last_val(recs, "bn_before") > 0.5


def test_mode_gap_tiny_eval_batches_hurt():
    recs = list(B.run(B.Config(steps=300)))
    gap = {r.metric: r.value for r in recs if r.run == "bn_before" and r.metric in B.MODE_METRICS}
    assert set(gap) == set(B.MODE_METRICS)  # the figures are records, so the CSV holds them too
    assert not any(r.metric in B.MODE_METRICS for r in recs if r.run == "no_bn")
    assert gap["train_mode_accuracy_b2"] < gap["eval_mode_accuracy"] - 0.2
    rows = B.mode_rows(to_frame(recs))
    eval_rows = rows[rows["mode"] == "eval (running stats)"]
    assert set(eval_rows["batch_size"]) == set(B.EVAL_BATCHES) and eval_rows["accuracy"].nunique() == 1


def test_mode_gap_equals_a_direct_evaluation():
    data = load("digits", 0)
    model = MLP(data.n_features, data.n_classes, 2, 16, "relu", "he_normal", "before")
    model.train()
    model(data.x_train[:256])  # move the running statistics off their start
    gap = B.mode_gap(model, data, batch_sizes=(16,))
    model.eval()
    expected_eval = (model(data.x_val).argmax(1) == data.y_val).float().mean().item()
    n = len(data.x_val) // 16 * 16
    copy = MLP(data.n_features, data.n_classes, 2, 16, "relu", "he_normal", "before")
    copy.load_state_dict(model.state_dict())
    copy.train()
    with torch.no_grad():
        logits = torch.cat([copy(data.x_val[i:i + 16]) for i in range(0, n, 16)])
    expected_train = (logits.argmax(1) == data.y_val[:n]).float().mean().item()
    assert gap == {"eval_mode_accuracy": expected_eval, "train_mode_accuracy_b16": expected_train}


def test_runner_batchnorm(tmp_path):
    from core.__main__ import main

    out = tmp_path / "bn.csv"
    assert main(["run", "batchnorm", "--variants", "no_bn,bn_after", "--lr-multipliers", "1,5", "--steps", "3",
                 "--out", str(out)]) == 0
    runs = {line.split(",")[0] for line in out.read_text().splitlines()[1:]}
    assert runs == {"no_bn@x1", "no_bn@x5", "bn_after@x1", "bn_after@x5"}
    assert main(["run", "batchnorm", "--variants", "bn_middle"]) == 2
    assert main(["run", "batchnorm", "--batch-sizes", "3"]) == 2
