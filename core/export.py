"""Export a run as one standalone PyTorch script: `python -m core export EXPERIMENT [options] --out run.py`.

The script needs torch (and scikit-learn or torchvision for the data), never this project. It
builds the same data split, networks, initialisation, batch-norm placement, optimizers, schedules,
clipping and seed as the lab's run, trains them in the same order (one step of each network in
turn, as core.compare.interleave does), and writes the loss, accuracy and evaluation records in the
runner's CSV columns. For the same seed and torch version its losses equal the lab's records.

The networks of a run come from the experiments' own functions (activations.variant,
batchnorm.variants, optimizers.net_config, ...), so an export cannot drift from what the lab trains.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import format_value, specs
from .data import VAL_FRACTION
from .engine import TrainConfig, activation_params
from .nets import ACTIVATION_PARAMS, ACTIVATIONS
from .optim import OPTIMIZERS, optimizer_kwargs
from .records import BLOWN_UP, BLOWUP, BLOWUP_STEPS, COLUMNS, NON_FINITE


class NotExportable(ValueError):
    """This experiment (or this setting of it) has no script export; the message says why."""


@dataclass
class Plan:
    """What a script trains: the networks (engine configs by run name) and how they are ordered."""

    networks: dict[str, TrainConfig]
    build_first: bool = False  # the lab builds every model before the first step (batch norm's comparison)
    record_constant_lr: bool = False  # a constant rate still gets `lr` records (the optimizer network tab)
    fair_grid: tuple[float, ...] = ()  # fair mode: a sweep over these rates picks each network's rate first
    lr_range: tuple[float, float] | None = None  # the LR range test: ExponentialLR from lr_min to lr_max
    transfer: dict = field(default_factory=dict)  # transfer learning's task split and variants, by setting


def _vanishing(cfg) -> Plan:
    from .experiments import vanishing

    return Plan({vanishing.RUNS.build(activation=cfg.activation, init=cfg.init): cfg})


def _activations(cfg) -> Plan:
    from .experiments import activations

    return Plan({activations.RUNS.build(activation=a): activations.variant(cfg, a) for a in cfg.activations})


def _batchnorm(cfg) -> Plan:
    from .experiments import batchnorm

    return Plan(batchnorm.variants(cfg), build_first=True)


def _optimizers_net(cfg) -> Plan:
    from .experiments import optimizers as o

    nets = {o.NET_RUNS.build(name): o.net_config(cfg, name, cfg.lr, cfg.steps, cfg.eval_every)
            for name in cfg.optimizers}
    return Plan(nets, record_constant_lr=True, fair_grid=o.FAIR_GRID if cfg.fair else ())


def _lr_range(cfg) -> Plan:
    from .experiments import optimizers as o

    nets = {o.RANGE_RUNS.build(optimizer=name):
            dataclasses.replace(o.net_config(cfg, name, cfg.lr_min, cfg.steps, 10_000), schedule="constant")
            for name in cfg.optimizers}
    return Plan(nets, lr_range=(cfg.lr_min, cfg.lr_max))


def _transfer(cfg) -> Plan:
    from .data import present
    from .experiments import transfer as T

    if not present(cfg.dataset):
        raise NotExportable(f"transfer cannot be exported on {cfg.dataset} until it is downloaded: the task split "
                            "depends on the data a run falls back to")
    a = T.config_a(cfg)
    return Plan({T.MODEL_A: a}, transfer={
        "HELD_OUT": T.HELD_OUT[cfg.dataset], "B_VAL_MIN": T.B_VAL_MIN, "B_VAL_MAX": T.B_VAL_MAX,
        "VARIANTS": cfg.variants, "TARGET_SIZE": cfg.target_size, "REUSE_LAYERS": cfg.reuse_layers,
        "SEEDS": cfg.seeds, "EPOCHS": cfg.epochs, "UNFREEZE_EPOCHS": cfg.unfreeze_epochs,
        "UNFREEZE_LR_FACTOR": cfg.unfreeze_lr_factor, "BATCH_SIZE": cfg.batch_size, "LR": cfg.lr})


PLANS: dict[str, Callable] = {
    "vanishing": _vanishing,
    "activations": _activations,
    "batchnorm": _batchnorm,
    "optimizers-net": _optimizers_net,
    "lr-range": _lr_range,
    "transfer": _transfer,
}
NOT_YET = {"transfer-cnn": "the pretrained CNN backbone is not exported",
           "optimizers": "the 2-D surfaces are not networks; export the network tab (optimizers-net) instead"}


def exportable(name: str) -> bool:
    return name in PLANS


def plan(experiment_name: str, cfg) -> Plan:
    if experiment_name not in PLANS:
        why = NOT_YET.get(experiment_name, "it has no MLP to export")
        raise NotExportable(f"{experiment_name} cannot be exported as a script: {why} "
                            f"(exportable: {', '.join(PLANS)})")
    return PLANS[experiment_name](cfg)


# -- the script's pieces ------------------------------------------------------------------------------

_INIT_CODE = {
    "standard": "lambda w, g: nn.init.uniform_(w, -1 / math.sqrt(w.shape[1]), 1 / math.sqrt(w.shape[1]), generator=g)",
    "normal": "lambda w, g: nn.init.normal_(w, mean=0.0, std=1.0, generator=g)",
    "normal_small": "lambda w, g: nn.init.normal_(w, mean=0.0, std=0.01, generator=g)",
    "xavier_uniform": "lambda w, g: nn.init.xavier_uniform_(w, generator=g)",
    "xavier_normal": "lambda w, g: nn.init.xavier_normal_(w, generator=g)",
    "he_uniform": "lambda w, g: nn.init.kaiming_uniform_(w, nonlinearity=\"relu\", generator=g)",
    "he_normal": "lambda w, g: nn.init.kaiming_normal_(w, nonlinearity=\"relu\", generator=g)",
    "lecun_normal": "lambda w, g: nn.init.kaiming_normal_(w, nonlinearity=\"linear\", generator=g)",
    "orthogonal": "lambda w, g: nn.init.orthogonal_(w, generator=g)",
    "zeros": "lambda w, g: nn.init.zeros_(w)",
}
_INIT_COMMENT = {
    "standard": "U[-1/sqrt(fan_in), 1/sqrt(fan_in)]: Glorot & Bengio's baseline",
    "normal": "N(0, 1): the book's culprit",
    "normal_small": "N(0, 0.01²)",
    "xavier_uniform": "Glorot: Var = 2 / (fan_in + fan_out)",
    "xavier_normal": "Glorot: Var = 2 / (fan_in + fan_out)",
    "he_uniform": "He: Var = 2 / fan_in",
    "he_normal": "He: Var = 2 / fan_in",
    "lecun_normal": "LeCun: Var = 1 / fan_in",
    "orthogonal": "a random orthogonal matrix",
    "zeros": "all zeros: every unit alike (the symmetry problem)",
}

_SCHEDULE_CODE = {
    "constant": "lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)",
    "step": "lr_scheduler.StepLR(opt, step_size=max(1, steps // 3), gamma=0.1)",
    "exponential": "lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / max(1, steps)))",
    "power": "lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1.0 + t / max(1, steps // 10)))",
    "cosine": "lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))",
    "1cycle": "lr_scheduler.OneCycleLR(opt, max_lr=opt.param_groups[0][\"lr\"], total_steps=max(2, steps))",
    "reduce_on_plateau": "lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(1, steps // 20))",
    "range": "lr_scheduler.ExponentialLR(opt, gamma=(LR_MAX / LR_MIN) ** (1 / steps))",
}


def _activation_code(name: str, cfg: TrainConfig) -> str:
    params = activation_params(cfg)
    args = ", ".join(f"{arg}={params[key]!r}" for key, arg in ACTIVATION_PARAMS.get(name, {}).items())
    return f"nn.{ACTIVATIONS[name].__name__}({args})"


def _network(run: str, cfg: TrainConfig, schedule: str | None) -> dict:
    spec = OPTIMIZERS[cfg.optimizer]
    return {
        "run": run, "depth": cfg.depth, "width": cfg.width, "activation": cfg.activation, "init": cfg.init,
        "batch_norm": cfg.batch_norm, "bn_momentum": cfg.bn_momentum,
        "optimizer": spec.cls.__name__, "optimizer_args": optimizer_kwargs(cfg.optimizer, cfg), "lr": cfg.lr,
        "schedule": schedule, "batch_size": cfg.batch_size,
        "clip_norm": cfg.clip_norm, "clip_value": cfg.clip_value, "eval_every": cfg.eval_every,
    }


def _settings_line(experiment, cfg) -> str:
    """The non-default options of `cfg`, as the runner's command line takes them."""
    default = experiment.config()
    parts = [f"--{f.name.replace('_', '-')} {format_value(getattr(cfg, f.name))}"
             for f in specs(experiment.config) if getattr(cfg, f.name) != getattr(default, f.name)]
    return " ".join(parts)


def script(experiment, cfg, filename: str | None = None) -> str:
    """The standalone script of `experiment` run with `cfg` (raise NotExportable where there is none);
    `filename` is what its usage lines call it (default: <experiment>_run.py, the page's download name)."""
    filename = filename or f"{experiment.name}_run.py"
    p = plan(experiment.name, cfg)
    first = next(iter(p.networks.values()))
    schedule_of = "range" if p.lr_range else None
    nets = []
    for run, c in p.networks.items():
        sched = schedule_of or (c.schedule if c.schedule != "constant" else ("constant" if p.record_constant_lr
                                                                             else None))
        nets.append(_network(run, c, sched) | ({"steps": c.steps} if p.transfer else {}))
    sweep_schedule = None if first.schedule == "constant" else first.schedule
    schedules = sorted({n["schedule"] for n in nets if n["schedule"]} | ({sweep_schedule} if p.fair_grid and
                                                                          sweep_schedule else set()))
    inits = sorted({n["init"] for n in nets})
    acts = {n["activation"]: _activation_code(n["activation"], c)
            for n, c in zip(nets, p.networks.values(), strict=True)}
    uses_bn = any(n["batch_norm"] != "none" for n in nets)
    options = _settings_line(experiment, cfg)
    command = f"python -m core run {experiment.name}" + (f" {options}" if options else "")
    needs = "torch and scikit-learn" if first.dataset == "digits" else "torch and torchvision"
    usage = (f"python {filename} --out a.csv\n    {command} --out b.csv" if p.transfer else
             f"python {filename} --steps 30 --out a.csv\n    {command} --steps 30 --out b.csv")
    steps_line = "" if p.transfer else f"STEPS = {first.steps!r}  # training steps (mini-batches) of every network\n"
    out = [f'''#!/usr/bin/env python3
"""{experiment.title}: {len(nets)} network{"s" if len(nets) > 1 else ""}, exported from the Deep-Net Training Lab.

The same run as `{command}`:
{textwrap.fill(experiment.summary, 96)}

Standalone: it needs only {needs}. It writes one CSV row per measurement with the columns
{", ".join(COLUMNS)}, as the lab's runner does, so the two can be compared record by record:

    {usage}

With the same seed and torch version its losses equal the lab's records (the lab's tests hold them
within 1e-6 of each other).
"""

import argparse
import csv
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.optim import lr_scheduler

DATASET = {first.dataset!r}
SEED = {first.seed!r}  # seeds the split, the initial weights and the batch order
{steps_line}''']
    if p.lr_range:
        out.append(f"LR_MIN, LR_MAX = {p.lr_range[0]!r}, {p.lr_range[1]!r}  "
                   "# the range test's rate grows exponentially from LR_MIN to LR_MAX\n")
    if p.transfer:
        out.append("\n# Transfer learning: model A learns every class but HELD_OUT; task B tells the two HELD_OUT\n"
                   "# classes apart from TARGET_SIZE examples, reusing A's lower REUSE_LAYERS hidden layers.\n"
                   + "".join(f"{k} = {v!r}\n" for k, v in p.transfer.items()))
    if p.fair_grid:
        out.append(f"FAIR_GRID = {p.fair_grid!r}  # fair mode: every optimizer tries each rate, keeps its best\n"
                   f"SWEEP_SCHEDULE = {sweep_schedule!r}\n")
    out.append(_networks_code(nets))
    out.append("ACTIVATIONS = {  # a fresh torch.nn module per hidden layer\n"
               + "".join(f"    {name!r}: lambda: {code},\n" for name, code in acts.items()) + "}\n")
    out.append("INITS = {  # weight initialisation, from torch.nn.init (biases start at zero)\n"
               + "".join(f"    {name!r}: {_INIT_CODE[name]},  # {_INIT_COMMENT[name]}\n" for name in inits) + "}\n")
    if schedules:
        out.append("\n\ndef make_schedule(name, opt, steps):\n"
                   '    """A torch.optim.lr_scheduler scheduler, sized for a run of `steps` steps."""\n'
                   + "".join(f"    if name == {name!r}:\n        return {_SCHEDULE_CODE[name]}\n"
                             for name in schedules)
                   + '    raise ValueError(name)\n')
    out.append(_data_code(first.dataset))
    out.append(_model_code(uses_bn))
    out.append(_TRAIN_CODE.format(blowup=BLOWUP, blowup_steps=BLOWUP_STEPS, non_finite=NON_FINITE,
                                  blown_up=BLOWN_UP))
    out.append(_TRANSFER_CODE if p.transfer else
               _main_code(p, "build_first" if p.build_first else "lazy", bool(p.fair_grid)))
    return "".join(out)


def _networks_code(nets: list[dict]) -> str:
    """COMMON (the settings every network shares) and NETWORKS (what each one changes), readably."""
    keys = [k for k in nets[0] if k != "run"]
    common = {k: nets[0][k] for k in keys if all(n[k] == nets[0][k] for n in nets)}
    own = [{k: v for k, v in n.items() if k not in common} for n in nets]

    def block(value: dict, indent: str) -> str:
        """A dict literal, whole items several to a line, wrapped under its opening brace."""
        items = [f"{k!r}: {v!r}" for k, v in value.items()]
        rows, row = [], "{"
        for i, item in enumerate(items):
            piece = item + ("}" if i == len(items) - 1 else ",")
            if len(row) > 1 and len(indent) + len(row) + 1 + len(piece) > 100:
                rows.append(row)
                row = indent + " " + piece
            else:
                row += ("" if row.endswith("{") else " ") + piece
        return "\n".join([*rows, row]) if items else "{}"

    lines = ["\n# The settings every network shares.\n", f"COMMON = {block(common, ' ' * 9)}\n",
             "# One entry per network (what it changes), trained side by side: one step of each in turn.\n",
             "NETWORKS = [\n"]
    lines += [f"    {block(n, '    ')},\n" for n in own]
    return "".join(lines) + "]\n\n"


def _data_code(dataset: str) -> str:
    if dataset == "digits":
        source = '''    from sklearn.datasets import load_digits  # 8×8 handwritten digits, bundled with scikit-learn

    bunch = load_digits()
    x = torch.tensor(bunch.data, dtype=torch.float32)
    y = torch.tensor(bunch.target, dtype=torch.int64)
'''
    else:
        cls = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}[dataset]
        source = f'''    import os

    from torchvision import datasets  # downloads once into the folder below

    root = os.environ.get("DNLAB_DATA", os.path.expanduser("~/.cache/deepnet-lab/data"))
    ds = datasets.{cls}(root=root, train=True, download=True)
    x, y = ds.data.reshape(len(ds.data), -1).float(), ds.targets.long()
'''
    return f'''

def load_data():
    """Flat float inputs, shuffled with the seed; {VAL_FRACTION:.0%} held out for validation; both splits
    standardised with the training split's mean and standard deviation."""
{source}    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(SEED))
    n_val = int(round(len(x) * {VAL_FRACTION!r}))
    val, train = perm[:n_val], perm[n_val:]
    mean = x[train].mean(0)
    std = x[train].std(0).clamp_min(1e-3)  # constant pixels (image borders) stay at zero
    return (x[train] - mean) / std, y[train], (x[val] - mean) / std, y[val], int(y.max()) + 1
'''


def _model_code(uses_bn: bool) -> str:
    bn = '''        if net["batch_norm"] != "none":  # BatchNorm1d between the layer and its activation, or after it
            bn = nn.BatchNorm1d(net["width"], momentum=net["bn_momentum"])
            norms.append(bn)
            block.insert(1 if net["batch_norm"] == "before" else 2, bn)
''' if uses_bn else ""
    return f'''

def build(net, n_in, n_out):
    """The MLP: `depth` hidden layers of `width` units, then a linear output layer. Returns the model
    and its parameters (the linear layers' first, then batch norm's)."""
    seed = net.get("seed", SEED)
    torch.manual_seed(seed)  # nn.Linear draws its default weights from torch's global generator
    linears, norms, layers = [], [], []
    for i in range(net["depth"]):
        linear = nn.Linear(n_in if i == 0 else net["width"], net["width"])
        linears.append(linear)
        block = [linear, ACTIVATIONS[net["activation"]]()]
{bn}        layers += block
    head = nn.Linear(net["width"], n_out)
    linears.append(head)
    model = nn.Sequential(*layers, head)
    generator = torch.Generator().manual_seed(seed)  # the initial weights
    with torch.no_grad():
        for linear in linears:
            INITS[net["init"]](linear.weight, generator)
            nn.init.zeros_(linear.bias)
    return model, [p for m in linears + norms for p in m.parameters()]
'''


_TRAIN_CODE = '''

def batches(n, batch_size, generator):
    """Endless shuffled mini-batch indices, reshuffled every epoch."""
    batch_size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


@torch.no_grad()
def evaluate(model, x, y):
    """Loss and accuracy on a whole split, in eval mode (batch norm uses its running statistics)."""
    model.eval()
    logits = model(x)
    model.train()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def train(net, data, built=None):
    """Train one network, yielding CSV rows (run, step, metric, layer, value) as it goes.

    A non-finite loss or gradient, or a loss above {blowup}× chance for {blowup_steps} steps in a row, ends
    the run as diverged (diverged_reason {non_finite} = non-finite, {blown_up} = blown up)."""
    x, y, x_val, y_val, n_classes = data
    run, steps = net["run"], net.get("steps") or STEPS
    model, params = built or build(net, x.shape[1], n_classes)
    params = [p for p in params if p.requires_grad]  # a frozen layer is not trained
    model.train()
    opt = getattr(optim, net["optimizer"])(params, lr=net["lr"], **net["optimizer_args"])
    schedule = make_schedule(net["schedule"], opt, steps) if net["schedule"] else None
    order = batches(len(x), net["batch_size"], torch.Generator().manual_seed(net.get("seed", SEED)))
    limit, over = {blowup} * math.log(n_classes), 0
    for step in range(1, steps + 1):
        idx = next(order)
        logits = model(x[idx])
        loss = F.cross_entropy(logits, y[idx])
        over = over + 1 if loss.item() > limit else 0
        if not math.isfinite(loss.item()) or over >= {blowup_steps}:
            yield run, step, "diverged_reason", "", {non_finite} if not math.isfinite(loss.item()) else {blown_up}
            yield run, step, "diverged", "", float(step)
            return
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if net["clip_value"] > 0:
            torch.nn.utils.clip_grad_value_(params, net["clip_value"])
        if net["clip_norm"] > 0:
            finite = math.isfinite(torch.nn.utils.clip_grad_norm_(params, net["clip_norm"]).item())
        else:  # a non-finite value anywhere in backprop reaches the first or the last layer
            finite = all(math.isfinite(p.grad.sum().item()) for p in (params[0], params[-1]) if p.grad is not None)
        if not finite:
            yield run, step, "diverged_reason", "", {non_finite}
            yield run, step, "diverged", "", float(step)
            return
        if schedule is not None:
            yield run, step, "lr", "", opt.param_groups[0]["lr"]  # the rate this step used
        opt.step()
        if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
            schedule.step(loss.item())
        elif schedule is not None:
            schedule.step()
        yield run, step, "loss", "", loss.item()
        yield run, step, "accuracy", "", (logits.argmax(1) == y[idx]).float().mean().item()
        if step % net["eval_every"] == 0 or step == steps:
            val_loss, val_accuracy = evaluate(model, x_val, y_val)
            if not math.isfinite(val_loss):
                yield run, step, "diverged_reason", "", {non_finite}
                yield run, step, "diverged", "", float(step)
                return
            yield run, step, "val_loss", "", val_loss
            yield run, step, "val_accuracy", "", val_accuracy


def interleave(runs):
    """One training step of each network in turn, so their curves grow together. (A network's turn
    ends when its next step's first row arrives, so each runs one forward pass ahead, as in the lab.)"""
    pending, live = {{}}, dict(runs)
    while live:
        for name in list(live):
            first = pending.pop(name, None)
            if first is not None:
                yield first
            for row in live[name]:
                if first is not None and row[1] != first[1]:
                    pending[name] = row
                    break
                first = first or row
                yield row
            else:
                del live[name]
'''


_TRANSFER_CODE = '''

def split_tasks(data):
    """Task A: every class but HELD_OUT, relabelled 0..C-3. Task B: the HELD_OUT classes (0 and 1), their
    images from both splits pooled, a fixed validation set set aside, the rest the pool N is drawn from."""
    x, y, x_val, y_val, n_classes = data

    def subset(x, y, keep):
        mask = torch.isin(y, torch.tensor(keep))
        relabel = {c: i for i, c in enumerate(keep)}
        return x[mask], torch.tensor([relabel[int(v)] for v in y[mask]], dtype=torch.int64)

    others = [c for c in range(n_classes) if c not in HELD_OUT]
    a = (*subset(x, y, others), *subset(x_val, y_val, others), len(others))
    x_tr, y_tr = subset(x, y, list(HELD_OUT))
    x_va, y_va = subset(x_val, y_val, list(HELD_OUT))
    xb, yb = torch.cat([x_va, x_tr]), torch.cat([y_va, y_tr])
    n_val = min(B_VAL_MAX, max(B_VAL_MIN, len(xb) // 2))
    return a, (xb[n_val:], yb[n_val:], xb[:n_val], yb[:n_val], 2)


def sample(b, n, seed):
    """N of task B's training examples, chosen by the seed; the validation set stays whole."""
    idx = torch.randperm(len(b[0]), generator=torch.Generator().manual_seed(seed))[:n]
    return (b[0][idx], b[1][idx], *b[2:])


def b_network(seed, epochs, lr, n):
    """Task B's training: the model A settings, this seed, `epochs` passes over the N examples."""
    steps = max(1, math.ceil(n / min(BATCH_SIZE, n)) * epochs)
    return {**COMMON, **NETWORKS[0], "seed": seed, "steps": steps, "lr": lr, "batch_size": BATCH_SIZE,
            "eval_every": max(1, steps // 15)}


def build_b(variant, model_a, b, seed):
    """A fresh network for task B; all but `scratch` copy A's lower REUSE_LAYERS layers (frozen unless finetune)."""
    model, params = build(b_network(seed, EPOCHS, LR, len(b[0])), b[0].shape[1], 2)
    if variant != "scratch":
        _, params_a = model_a
        with torch.no_grad():
            for p, p_a in zip(params[:2 * REUSE_LAYERS], params_a[:2 * REUSE_LAYERS]):  # weight, bias per layer
                p.copy_(p_a)
                p.requires_grad_(variant == "finetune")
    return model, params


def train_b(variant, seed, built, b):
    """One variant on one seed; `unfreeze` trains frozen for UNFREEZE_EPOCHS, then every layer at a lower rate."""
    run, n = f"{variant}/s{seed}", len(b[0])
    if variant != "unfreeze" or UNFREEZE_EPOCHS == 0:
        yield from train(dict(b_network(seed, EPOCHS, LR, n), run=run), b, built)
        return
    first = dict(b_network(seed, UNFREEZE_EPOCHS, LR, n), run=run)
    yield from train(first, b, built)
    built[0].requires_grad_(True)  # thaw: a new optimizer over every layer
    if EPOCHS > UNFREEZE_EPOCHS:
        later = dict(b_network(seed, EPOCHS - UNFREEZE_EPOCHS, LR * UNFREEZE_LR_FACTOR, n), run=run)
        for row in train(later, b, built):
            yield (row[0], row[1] + first["steps"], *row[2:])  # its steps follow the frozen phase's


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\\n\\n")[0])
    parser.add_argument("--out", default="-", help="CSV file to write (default: standard output)")
    args = parser.parse_args()
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    writer = csv.writer(out, lineterminator="\\n")
    writer.writerow(("run", "step", "metric", "layer", "value"))

    def write(row):
        writer.writerow(row[:4] + (repr(float(row[4])),))

    a, b_all = split_tasks(load_data())
    net_a = {**COMMON, **NETWORKS[0]}
    model_a = build(net_a, a[0].shape[1], a[4])
    for row in train(net_a, a, model_a):  # model A, pretrained on task A
        write(row)
    copy = build(net_a, a[0].shape[1], a[4])  # a fresh copy of model A, as the lab makes one
    copy[0].load_state_dict(model_a[0].state_dict())
    runs = {}
    for seed in range(SEED, SEED + SEEDS):
        b = sample(b_all, TARGET_SIZE, seed)
        for variant in VARIANTS:
            runs[f"{variant}/s{seed}"] = train_b(variant, seed, build_b(variant, copy, b, seed), b)
    for row in interleave(runs):  # every variant and seed, one step of each in turn
        write(row)
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
'''


def _main_code(p: Plan, build: str, fair: bool) -> str:
    fair_code = '''    if FAIR_GRID:  # fair mode: each optimizer's rate is picked on a split of the training data
        n = len(x) - len(x) // 5
        pick = (x[:n], y[:n], x[n:], y[n:], n_classes)
        sweep = {}
        for net in networks:
            for lr in FAIR_GRID:
                trial = dict(net, run=f"{net['run']}@lr{lr:g}", lr=lr, schedule=SWEEP_SCHEDULE)
                sweep[trial["run"]] = train(trial, pick)
        final = {}
        for row in interleave(sweep):
            write(row)
            final[row[0], row[2]] = row[4]  # the last val_accuracy and val_loss of each sweep run

        def score(name, lr):
            run = f"{name}@lr{lr:g}"
            if (run, "val_accuracy") not in final:
                return (-1.0, -math.inf)
            return (final[run, "val_accuracy"], -final[run, "val_loss"])

        for net in networks:
            net["lr"] = max(FAIR_GRID, key=lambda lr, name=net["run"]: score(name, lr))
    for net in networks:
        write((net["run"], 0, "chosen_lr", "", net["lr"]))
''' if fair else ""
    if p.record_constant_lr and not fair:
        fair_code = '''    for net in networks:
        write((net["run"], 0, "chosen_lr", "", net["lr"]))
'''
    models = ('    # every model is built before the first step, as the lab does for this comparison\n'
              '    models = {net["run"]: build(net, x.shape[1], n_classes) for net in networks}\n'
              '    runs = {net["run"]: train(net, data, models[net["run"]]) for net in networks}\n') \
        if build == "build_first" else '    runs = {net["run"]: train(net, data) for net in networks}\n'
    return f'''

def main():
    global STEPS
    parser = argparse.ArgumentParser(description=__doc__.split("\\n\\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {{STEPS}})")
    parser.add_argument("--out", default="-", help="CSV file to write (default: standard output)")
    args = parser.parse_args()
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    STEPS = args.steps
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    writer = csv.writer(out, lineterminator="\\n")
    writer.writerow({tuple(COLUMNS)!r})

    def write(row):
        writer.writerow(row[:4] + (repr(float(row[4])),))

    data = load_data()
    x, y, _, _, n_classes = data
    networks = [{{**COMMON, **net}} for net in NETWORKS]
{fair_code}{models}    for row in interleave(runs):
        write(row)
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
'''
