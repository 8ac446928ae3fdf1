"""The training recipe, in plain torch and the standard library: what the lab trains and how.

The lab's engine, networks, optimizers, data and comparisons import these pieces, and an exported
script (core.export) is this file's own source plus a block of constants and a short main, so a
script trains with the very code the lab runs. Nothing here imports the project.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.optim import lr_scheduler

# -- the networks ------------------------------------------------------------------------------------

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "rrelu": nn.RReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "mish": nn.Mish,
    "softplus": nn.Softplus,
}

# Constructor arguments each activation takes from the lesson-level parameters.
ACTIVATION_PARAMS = {
    "leaky_relu": {"leaky_alpha": "negative_slope"},
    "elu": {"elu_alpha": "alpha"},
    "rrelu": {"rrelu_lower": "lower", "rrelu_upper": "upper"},
}


def standard_uniform_(w: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Glorot & Bengio's "standard" baseline, U[−1/√fan_in, 1/√fan_in], through nn.init.uniform_."""
    bound = 1.0 / math.sqrt(w.shape[1])
    return nn.init.uniform_(w, -bound, bound, generator=generator)


INITS = {  # weight initialisation from torch.nn.init (biases start at zero)
    "standard": standard_uniform_,  # Var = 1 / (3 fan_in): the baseline of Glorot & Bengio (2010)
    "normal": functools.partial(nn.init.normal_, mean=0.0, std=1.0),  # the book's N(0, 1)
    "normal_small": functools.partial(nn.init.normal_, mean=0.0, std=0.01),
    "xavier_uniform": nn.init.xavier_uniform_,  # Glorot: Var = 2 / (fan_in + fan_out)
    "xavier_normal": nn.init.xavier_normal_,
    "he_uniform": functools.partial(nn.init.kaiming_uniform_, nonlinearity="relu"),  # Var = 2 / fan_in
    "he_normal": functools.partial(nn.init.kaiming_normal_, nonlinearity="relu"),
    "lecun_normal": functools.partial(nn.init.kaiming_normal_, nonlinearity="linear"),  # Var = 1 / fan_in
    "orthogonal": nn.init.orthogonal_,
    "zeros": lambda w, generator=None: nn.init.zeros_(w),  # every neuron identical: the symmetry problem
}

BATCH_NORM = ("none", "before", "after")


def make_activation(name: str, **params: float) -> nn.Module:
    """An activation module by registry name; lesson parameters map to its constructor."""
    mapping = ACTIVATION_PARAMS.get(name, {})
    kwargs = {arg: params[key] for key, arg in mapping.items() if key in params}
    return ACTIVATIONS[name](**kwargs)


class MLP(nn.Module):
    """Dense layers with one activation (and optional batch norm) per hidden layer, then a linear
    output layer. Its parameters come linear layers first, then batch norm's."""

    def __init__(self, n_in: int, n_out: int, depth: int, width: int, activation: str = "relu",
                 init: str = "he_normal", batch_norm: str = "none",
                 generator: torch.Generator | None = None, bn_momentum: float = 0.1, **act_params: float):
        super().__init__()
        self.activation = activation
        self.act_params = act_params
        self.linears, self.acts, self.norms = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        layers: list[nn.Module] = []
        for i in range(depth):
            lin = nn.Linear(n_in if i == 0 else width, width)
            act = make_activation(activation, **act_params)
            self.linears.append(lin)
            self.acts.append(act)
            block: list[nn.Module] = [lin, act]
            if batch_norm != "none":  # BatchNorm1d between the layer and its activation, or after it
                bn = nn.BatchNorm1d(width, momentum=bn_momentum)
                self.norms.append(bn)
                block.insert(1 if batch_norm == "before" else 2, bn)
            layers += block
        self.head = nn.Linear(width, n_out)
        self.linears.append(self.head)
        layers.append(self.head)
        self.body = nn.Sequential(*layers)
        self.reset(init, generator)

    @torch.no_grad()
    def reset(self, init: str, generator: torch.Generator | None = None) -> None:
        """Initialise every Linear weight with INITS[init] and every bias with zeros."""
        for lin in self.linears:
            INITS[init](lin.weight, generator=generator)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class EnsembleMLP(nn.Module):
    """N MLPs of one shape trained as one: each layer of every member in one batched matmul.

    The members stay whole MLPs with their own parameters (their initial weights are their own runs', bit for
    bit), stacked into [N, out, in] on every forward pass, so one optimizer with a parameter group per learning
    rate steps each member as it would step it alone. Batch norm normalises the N·width features of a layer in
    one call; each member's running statistics are views into the stacked buffers that call updates, so the
    member's own module reads them in eval mode."""

    def __init__(self, members: list[MLP]):
        super().__init__()
        self.members = nn.ModuleList(members)
        first = members[0]
        self.order = [("linear", _index(first.linears, m)) if isinstance(m, nn.Linear) else
                      ("norm", _index(first.norms, m)) if isinstance(m, nn.BatchNorm1d) else
                      ("act", _index(first.acts, m)) for m in first.body]
        # each member's running statistics become views into one [N, width] buffer per layer
        self.running: list[tuple[torch.Tensor, torch.Tensor]] = []
        for i in range(len(first.norms)):
            mean = torch.stack([m.norms[i].running_mean for m in members])
            var = torch.stack([m.norms[i].running_var for m in members])
            for k, m in enumerate(members):
                m.norms[i].running_mean = mean[k]
                m.norms[i].running_var = var[k]
            self.running.append((mean, var))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits `[N, batch, classes]` for inputs `[N, batch, features]` (member k's batch in row k)."""
        members = self.members
        for kind, i in self.order:
            if kind == "linear":
                weight = torch.stack([m.linears[i].weight for m in members])
                bias = torch.stack([m.linears[i].bias for m in members])
                x = torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
            elif kind == "act":
                x = members[0].acts[i](x)  # elementwise, the same function for every member
            else:
                x = self._norm(i, x)
        return x

    def _norm(self, i: int, x: torch.Tensor) -> torch.Tensor:
        n, batch, width = x.shape
        bn = self.members[0].norms[i]
        mean, var = self.running[i]
        flat = x.transpose(0, 1).reshape(batch, n * width)  # feature k·width + j is member k's feature j
        out = F.batch_norm(flat, mean.view(-1), var.view(-1),
                           torch.stack([m.norms[i].weight for m in self.members]).view(-1),
                           torch.stack([m.norms[i].bias for m in self.members]).view(-1),
                           training=self.training, momentum=bn.momentum, eps=bn.eps)
        if self.training:
            for m in self.members:
                m.norms[i].num_batches_tracked += 1
        return out.view(batch, n, width).transpose(0, 1)


def _index(modules: nn.ModuleList, module: nn.Module) -> int:
    return next(i for i, m in enumerate(modules) if m is module)


def member_losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's mean cross-entropy, [N], from logits [N, batch, classes] and labels [N, batch]: their sum's
    gradient is each member's own."""
    return F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(len(logits), -1).mean(1)


# -- schedules -----------------------------------------------------------------------------------------

def _power(optimizer: optim.Optimizer, steps: int) -> lr_scheduler.LRScheduler:
    # power scheduling, lr(t) = lr0 / (1 + t/s): torch's LambdaLR with s = a tenth of the run
    s = max(1, steps // 10)
    return lr_scheduler.LambdaLR(optimizer, lambda t: 1.0 / (1.0 + t / s))


# name -> factory(optimizer, total steps) building a torch.optim.lr_scheduler scheduler
SCHEDULES = {
    "constant": lambda opt, steps: lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0),
    "step": lambda opt, steps: lr_scheduler.StepLR(opt, step_size=max(1, steps // 3), gamma=0.1),
    "exponential": lambda opt, steps: lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / max(1, steps))),
    "power": _power,
    "cosine": lambda opt, steps: lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps)),
    "1cycle": lambda opt, steps: lr_scheduler.OneCycleLR(opt, max_lr=opt.param_groups[0]["lr"],
                                                         total_steps=max(2, steps)),
    "reduce_on_plateau": lambda opt, steps: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5,
                                                                           patience=max(1, steps // 20)),
}


def make_schedule(name: str, optimizer: optim.Optimizer, steps: int):
    """A torch lr scheduler by registry name, sized for a run of `steps` steps."""
    return SCHEDULES[name](optimizer, steps)


def range_schedule(optimizer: optim.Optimizer, lr_min: float, lr_max: float, steps: int):
    """The LR range test's schedule: ExponentialLR growing the rate from lr_min to lr_max over the steps."""
    return lr_scheduler.ExponentialLR(optimizer, gamma=(lr_max / lr_min) ** (1 / steps))


def step_schedule(schedule, loss: float) -> None:
    """Advance a scheduler one step (ReduceLROnPlateau watches the loss)."""
    if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
        schedule.step(loss)
    else:
        schedule.step()


# -- data --------------------------------------------------------------------------------------------

VAL_FRACTION = 0.2


def read_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8×8 handwritten digits, flat."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return torch.tensor(bunch.data, dtype=torch.float32), torch.tensor(bunch.target, dtype=torch.int64)


def read_torchvision(name: str, root: str, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST or Fashion-MNIST's training set from torchvision, flat."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}[name]
    ds = cls(root=str(root), train=True, download=download)
    return ds.data.reshape(len(ds.data), -1).float(), ds.targets.long()


def split(x: torch.Tensor, y: torch.Tensor, seed: int, val_fraction: float = VAL_FRACTION):
    """Shuffle with the seed, split off validation, standardise with the training statistics."""
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(len(x) * val_fraction))
    val, train = perm[:n_val], perm[n_val:]
    mean = x[train].mean(0)
    std = x[train].std(0).clamp_min(1e-3)  # constant pixels (image borders) stay at zero
    return (x[train] - mean) / std, y[train], (x[val] - mean) / std, y[val]


def batches(n: int, batch_size: int, generator: torch.Generator):
    """Endless shuffled mini-batch indices, reshuffled every epoch from the generator."""
    batch_size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


def selection_split(x, y):
    """Fair mode picks rates on the last fifth of the training data, held out from the sweep's training, so
    the validation split stays unseen until the final runs report on it: (x, y, x_pick, y_pick)."""
    n = len(x) - len(x) // 5
    return x[:n], y[:n], x[n:], y[n:]


def split_tasks(x, y, x_val, y_val, n_classes: int, held_out, b_val_min: int, b_val_max: int):
    """Transfer learning's tasks. A: every class but `held_out`, relabelled 0..C-3. B: the two held-out
    classes (0 and 1), their images from both splits pooled, then a fixed validation set set aside, large
    enough that one image is under half a point; the rest is the pool N is drawn from. Each task is
    (x, y, x_val, y_val, n_classes)."""
    def subset(x, y, keep):
        mask = torch.isin(y, torch.tensor(keep))
        relabel = {c: i for i, c in enumerate(keep)}
        return x[mask], torch.tensor([relabel[int(v)] for v in y[mask]], dtype=torch.int64)

    others = [c for c in range(n_classes) if c not in held_out]
    a = (*subset(x, y, others), *subset(x_val, y_val, others), len(others))
    x_tr, y_tr = subset(x, y, list(held_out))
    x_va, y_va = subset(x_val, y_val, list(held_out))
    xb, yb = torch.cat([x_va, x_tr]), torch.cat([y_va, y_tr])
    n_val = min(b_val_max, max(b_val_min, len(xb) // 2))
    return a, (xb[n_val:], yb[n_val:], xb[:n_val], yb[:n_val], 2)


def sample_index(count: int, n: int, seed: int) -> torch.Tensor:
    """Which `n` of `count` training examples a seed draws (task B's small training set)."""
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed))[:n]


# -- one training step's rules ------------------------------------------------------------------------

# A run diverges when its loss or a gradient is non-finite, or when its loss stays above BLOWUP times
# a reference (chance level, ln C, for a classifier; the start's loss for a 2-D surface) for
# BLOWUP_STEPS steps in a row: sigmoid at lr 100 sits at 1,000× chance with every number finite.
BLOWUP = 100.0
BLOWUP_STEPS = 20
NON_FINITE, BLOWN_UP = 1.0, 2.0  # the value of a `diverged_reason` record


class BlowUp:
    """Counts the steps in a row a loss has stayed above BLOWUP × `reference`; true once it is a blow-up."""

    def __init__(self, reference: float):
        self.limit = BLOWUP * max(reference, 1e-6)
        self.over = 0

    def __call__(self, loss: float) -> bool:
        self.over = self.over + 1 if loss > self.limit else 0
        return self.over >= BLOWUP_STEPS


def clip_and_check(params, clip_value: float, clip_norm: float) -> bool:
    """Clip gradients (each component to ±clip_value, then the global norm to clip_norm; 0 = off); return
    whether they are finite.

    Clipping by norm measures the global norm anyway. Otherwise the first and last parameters'
    gradients stand in for all: a non-finite value anywhere in backprop reaches them, and one that
    slips past (masked by a saturated unit) poisons the weights, so the next loss is non-finite.
    """
    if clip_value > 0:
        torch.nn.utils.clip_grad_value_(params, clip_value)
    if clip_norm > 0:
        return math.isfinite(torch.nn.utils.clip_grad_norm_(params, clip_norm).item())
    ends = [p.grad for p in (params[0], params[-1]) if p.grad is not None]
    return all(math.isfinite(g.sum().item()) for g in ends)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Loss and accuracy on a whole split, in eval mode (batch norm uses its running statistics)."""
    was_training = model.training
    model.eval()
    logits = model(x)
    model.train(was_training)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def interleave(runs, timings: dict[str, float] | None = None):
    """Yield every row of every run, one training step of each run in turn (a row's second field is its
    step; a run's turn ends when its next step's first row arrives, so each runs one forward pass ahead).

    `timings`, when given, collects each run's own compute time in seconds (time spent inside its
    generator), so a comparison can report wall time per run.
    """
    pending: dict = {}
    live = dict(runs)
    clock = timings if timings is not None else {}
    for name in live:
        clock.setdefault(name, 0.0)
    while live:
        for name in list(live):
            gen, first = live[name], pending.pop(name, None)
            if first is not None:
                yield first
            while True:
                start = time.perf_counter()
                row = next(gen, None)
                clock[name] += time.perf_counter() - start
                if row is None:
                    del live[name]
                    break
                if first is not None and row[1] != first[1]:
                    pending[name] = row  # the start of this run's next step
                    break
                first = first or row
                yield row


# -- a script's run: networks described as dicts, rows (run, step, metric, layer, value) --------------

def build(net: dict, n_in: int, n_out: int) -> MLP:
    """The MLP a network dict describes, seeded as the lab seeds it: modules from torch's global
    generator, the initial weights from a generator of the same seed."""
    torch.manual_seed(net["seed"])
    return MLP(n_in, n_out, net["depth"], net["width"], net["activation"], net["init"], net["batch_norm"],
               generator=torch.Generator().manual_seed(net["seed"]), bn_momentum=net["bn_momentum"],
               **net["act_params"])


def train(net: dict, data, model: MLP | None = None, params=None):
    """Train one network for net["steps"] steps, yielding rows as it goes; a non-finite loss or gradient,
    or a loss blown up far above chance (BlowUp), ends it with `diverged_reason` and `diverged`."""
    x, y, x_val, y_val, n_classes = data
    run, steps = net["run"], net["steps"]
    model = model if model is not None else build(net, x.shape[1], n_classes)
    model.train()
    params = params if params is not None else [p for p in model.parameters() if p.requires_grad]
    opt = getattr(optim, net["optimizer"])(params, lr=net["lr"], **net["optimizer_args"])
    schedule = None
    if net.get("lr_range"):
        schedule = range_schedule(opt, *net["lr_range"], steps)
    elif net["schedule"]:
        schedule = make_schedule(net["schedule"], opt, steps)
    order = batches(len(x), net["batch_size"], torch.Generator().manual_seed(net["seed"]))
    blown_up = BlowUp(math.log(n_classes))  # chance level of cross-entropy

    def end(step, reason):
        return [(run, step, "diverged_reason", "", reason), (run, step, "diverged", "", float(step))]

    for step in range(1, steps + 1):
        idx = next(order)
        logits = model(x[idx])
        loss = F.cross_entropy(logits, y[idx])
        if not math.isfinite(loss.item()) or blown_up(loss.item()):
            yield from end(step, NON_FINITE if not math.isfinite(loss.item()) else BLOWN_UP)
            return
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if not clip_and_check(params, net["clip_value"], net["clip_norm"]):
            yield from end(step, NON_FINITE)
            return
        if schedule is not None:
            yield run, step, "lr", "", opt.param_groups[0]["lr"]  # the rate this step used
        opt.step()
        if schedule is not None:
            step_schedule(schedule, loss.item())
        yield run, step, "loss", "", loss.item()
        yield run, step, "accuracy", "", (logits.argmax(1) == y[idx]).float().mean().item()
        if step % net["eval_every"] == 0 or step == steps:
            val_loss, val_accuracy = evaluate(model, x_val, y_val)
            if not math.isfinite(val_loss):
                yield from end(step, NON_FINITE)
                return
            yield run, step, "val_loss", "", val_loss
            yield run, step, "val_accuracy", "", val_accuracy


def rate_groups(params: list[list], lrs: list[float]) -> tuple[list[dict], list[int]]:
    """torch.optim parameter groups for members' parameter lists, one group per learning rate, and the index of
    each member's group (a scheduler then scales each group from its own initial rate)."""
    rates = list(dict.fromkeys(lrs))
    groups = [{"params": [p for ps, lr in zip(params, lrs, strict=True) if lr == rate for p in ps], "lr": rate}
              for rate in rates]
    return groups, [rates.index(lr) for lr in lrs]


def train_together(nets: list[dict], datas: list, steps: int):
    """Train networks of one shape (a network dict each, with its own seed, data and rate) as one EnsembleMLP for
    `steps` steps, yielding each one's rows as `train` does; a network that diverges stops, the others go on."""
    members = [build(net, data[0].shape[1], data[4]) for net, data in zip(nets, datas, strict=True)]
    for m in members:
        m.train()
    model = EnsembleMLP(members).train()
    params = [[p for p in m.parameters() if p.requires_grad] for m in members]
    first = nets[0]
    groups, group_index = rate_groups(params, [net["lr"] for net in nets])
    opt = getattr(optim, first["optimizer"])(groups, lr=first["lr"], **first["optimizer_args"])
    group_of = [opt.param_groups[g] for g in group_index]
    schedule = make_schedule(first["schedule"], opt, steps) if first["schedule"] else None
    x, y = torch.stack([d[0] for d in datas]), torch.stack([d[1] for d in datas])
    orders = [batches(x.shape[1], net["batch_size"], torch.Generator().manual_seed(net["seed"])) for net in nets]
    rows = torch.arange(len(nets)).unsqueeze(1)
    blown_up = [BlowUp(math.log(d[4])) for d in datas]
    alive = list(range(len(nets)))

    def end(k, step, reason):
        alive.remove(k)
        run = nets[k]["run"]
        return [(run, step, "diverged_reason", "", reason), (run, step, "diverged", "", float(step))]

    for step in range(1, steps + 1):
        idx = torch.stack([next(o) for o in orders])
        xb, yb = x[rows, idx], y[rows, idx]
        logits = model(xb)
        losses = member_losses(logits, yb)
        values = losses.tolist()
        for k in list(alive):
            if not math.isfinite(values[k]) or blown_up[k](values[k]):
                yield from end(k, step, NON_FINITE if not math.isfinite(values[k]) else BLOWN_UP)
        opt.zero_grad(set_to_none=True)
        if alive:
            losses[alive].sum().backward()
        for k in list(alive):
            if not clip_and_check(params[k], first["clip_value"], first["clip_norm"]):
                yield from end(k, step, NON_FINITE)
            elif schedule is not None:
                yield nets[k]["run"], step, "lr", "", group_of[k]["lr"]  # the rate this step used
        if not alive:
            return
        for k in set(range(len(nets))) - set(alive):
            for p in params[k]:
                p.grad = None  # a stopped network's weights stay as they were
        opt.step()
        if schedule is not None:
            step_schedule(schedule, sum(values[k] for k in alive) / len(alive))
        hits = (logits[alive].argmax(2) == yb[alive]).float().mean(1).tolist()
        for j, k in enumerate(list(alive)):
            run = nets[k]["run"]
            yield run, step, "loss", "", values[k]
            yield run, step, "accuracy", "", hits[j]
            if step % nets[k]["eval_every"] == 0 or step == steps:
                val_loss, val_accuracy = evaluate(members[k], *datas[k][2:4])
                if not math.isfinite(val_loss):
                    yield from end(k, step, NON_FINITE)
                    continue
                yield run, step, "val_loss", "", val_loss
                yield run, step, "val_accuracy", "", val_accuracy


SEED_MARK = "@seed"  # a run trained on several seeds is named <run>@seed<k> for seed k


def seeded_run(run: str, seed: int) -> str:
    """The name of `run` trained with `seed` (experiment-wide notes, run "", keep theirs)."""
    return f"{run}{SEED_MARK}{seed}" if run else run


def split_seed(run: str) -> tuple[str, int | None]:
    """(the run's name without its seed, the seed), or (run, None) for a run named without one."""
    base, mark, seed = run.rpartition(SEED_MARK)
    return (base, int(seed)) if mark and seed.isdigit() else (run, None)


def seeds_side_by_side(networks: list[dict], seeds: list[int], datas: list, write) -> None:
    """Each network on every seed (runs <run>@seed<k>), the seeds of one network trained together as one
    EnsembleMLP, the networks a step of each in turn."""
    runs = {n["run"]: train_together([dict(n, run=seeded_run(n["run"], s), seed=s) for s in seeds], datas,
                                     n["steps"]) for n in networks}
    for row in interleave(runs):
        write(row)


def load_data(dataset: str, seed: int):
    """The lab's split of `dataset`: (x_train, y_train, x_val, y_val, n_classes). The MNIST family
    downloads once into $DNLAB_DATA (default ~/.cache/deepnet-lab/data)."""
    if dataset == "digits":
        x, y = read_digits()
    else:
        root = os.environ.get("DNLAB_DATA", os.path.expanduser("~/.cache/deepnet-lab/data"))
        x, y = read_torchvision(dataset, root, download=True)
    return (*split(x, y, seed), int(y.max()) + 1)


def side_by_side(networks: list[dict], data, write, build_first: bool = False, fair_grid=(),
                 sweep_schedule: str | None = None, chosen_lr: bool = False) -> None:
    """Train the networks a step of each in turn, writing every row. With `fair_grid`, each first gets
    its best rate from a sweep scored on a selection split (each sweep run `name@lrX`); with `chosen_lr`
    (or a sweep) each network's rate is written first as `chosen_lr`. With `build_first` every network is
    built before the first step."""
    x, y, x_val, y_val, n_classes = data
    if fair_grid:
        pick = (*selection_split(x, y), n_classes)
        final: dict = {}
        sweep = {f"{n['run']}@lr{lr:g}": train(dict(n, run=f"{n['run']}@lr{lr:g}", lr=lr, schedule=sweep_schedule),
                                               pick)
                 for n in networks for lr in fair_grid}
        for row in interleave(sweep):
            write(row)
            final[row[0], row[2]] = row[4]  # the last val_accuracy and val_loss of each sweep run

        def score(run):
            if (run, "val_accuracy") not in final:
                return (-1.0, -math.inf)
            return (final[run, "val_accuracy"], -final[run, "val_loss"])

        for n in networks:
            n["lr"] = max(fair_grid, key=lambda lr, name=n["run"]: score(f"{name}@lr{lr:g}"))
    if fair_grid or chosen_lr:
        for n in networks:
            write((n["run"], 0, "chosen_lr", "", n["lr"]))
    models = {n["run"]: build(n, x.shape[1], n_classes) for n in networks} if build_first else {}
    for row in interleave({n["run"]: train(n, data, models.get(n["run"])) for n in networks}):
        write(row)


def transfer(net_a: dict, data, write, held_out, b_val_min: int, b_val_max: int, variants, target_size: int,
             reuse_layers: int, seeds: int, epochs: int, unfreeze_epochs: int, unfreeze_lr_factor: float,
             batch_size: int, lr: float) -> None:
    """Transfer learning: model A learns every class but `held_out`; then task B (those two classes, from
    `target_size` examples) is learned by each variant on each seed, a step of each in turn. `scratch`
    starts fresh; the others copy A's lower `reuse_layers` layers, frozen (`frozen`), trainable
    (`finetune`), or frozen for `unfreeze_epochs` epochs and then trained at lr × `unfreeze_lr_factor`."""
    a, b_all = split_tasks(*data, held_out, b_val_min, b_val_max)
    model_a = build(net_a, a[0].shape[1], a[4])
    for row in train(net_a, a, model_a):
        write(row)
    copy = build(net_a, a[0].shape[1], a[4])  # a fresh copy of model A, as the lab makes one
    copy.load_state_dict(model_a.state_dict())

    def b_net(seed, epochs, rate, n, run):
        steps = max(1, math.ceil(n / min(batch_size, n)) * epochs)
        return dict(net_a, run=run, seed=seed, steps=steps, lr=rate, batch_size=batch_size,
                    eval_every=max(1, steps // 15))

    def network_b(variant, seed, b):
        """A fresh network for task B; all but `scratch` copy A's lower layers (frozen unless finetune). Every
        one is built before the first step, as the lab builds them (building seeds torch's generator)."""
        model = build(b_net(seed, epochs, lr, len(b[0]), ""), b[0].shape[1], 2)
        if variant != "scratch":
            for lin_b, lin_a in zip(model.linears[:reuse_layers], copy.linears[:reuse_layers], strict=True):
                lin_b.load_state_dict(lin_a.state_dict())
                lin_b.requires_grad_(variant == "finetune")
        return model

    def one(variant, seed, b, model):
        run, n = f"{variant}/s{seed}", len(b[0])
        if variant != "unfreeze" or unfreeze_epochs == 0:
            yield from train(b_net(seed, epochs, lr, n, run), b, model)
            return
        first = b_net(seed, unfreeze_epochs, lr, n, run)
        yield from train(first, b, model)
        model.requires_grad_(True)  # thaw: a new optimizer over every layer
        if epochs > unfreeze_epochs:
            for row in train(b_net(seed, epochs - unfreeze_epochs, lr * unfreeze_lr_factor, n, run), b, model):
                yield (row[0], row[1] + first["steps"], *row[2:])  # its steps follow the frozen phase's

    runs = {}
    for seed in range(net_a["seed"], net_a["seed"] + seeds):
        idx = sample_index(len(b_all[0]), target_size, seed)
        b = (b_all[0][idx], b_all[1][idx], *b_all[2:])
        for variant in variants:
            runs[f"{variant}/s{seed}"] = one(variant, seed, b, network_b(variant, seed, b))
    for row in interleave(runs):
        write(row)


def command_line(description: str, steps: int | None) -> tuple[int | None, str]:
    """Parse a script's options: --steps (where the run has a length of its own) and --out."""
    parser = argparse.ArgumentParser(description=description)
    if steps is not None:
        parser.add_argument("--steps", type=int, default=steps, help=f"training steps (default {steps})")
    parser.add_argument("--out", default="-", help="CSV file to write (default: standard output)")
    args = parser.parse_args()
    if steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    return getattr(args, "steps", None), args.out


@contextlib.contextmanager
def csv_rows(path: str):
    """A function writing one row (run, step, metric, layer, value) to the CSV file `path` ("-": standard
    output), with the lab's header."""
    with contextlib.ExitStack() as stack:
        out = sys.stdout if path == "-" else stack.enter_context(open(path, "w", newline=""))
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("run", "step", "metric", "layer", "value"))
        yield lambda row: writer.writerow((*row[:3], "" if row[3] is None else row[3], repr(float(row[4]))))
