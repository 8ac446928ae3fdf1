"""Export a run as one standalone PyTorch script: `python -m core export EXPERIMENT [options] --out run.py`.

The script is the source of core.recipe, the code the lab itself trains with, copied verbatim; then a
block of constants that says what this run trains (its networks, from the experiment's own `export`
plan) and a short main. It needs torch (and scikit-learn or torchvision for the data), never this
project, and writes the runner's CSV columns; for the same seed and torch version its records equal
the lab's (the tests hold them within 1e-6 of each other).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from . import recipe
from .config import format_value, specs
from .engine import TrainConfig, activation_params
from .optim import OPTIMIZERS, optimizer_kwargs
from .recipe import ACTIVATION_PARAMS


class NotExportable(ValueError):
    """This experiment (or this setting of it) has no script export; the message says why."""


@dataclass
class Plan:
    """What a script trains: the networks (engine configs by run name) and how recipe.side_by_side (or, with
    `transfer`, recipe.transfer) trains them."""

    networks: dict[str, TrainConfig]
    build_first: bool = False  # every model is built before the first step (batch norm's comparison)
    chosen_lr: bool = False  # each network's rate is recorded as `chosen_lr`, and a constant one as `lr` records
    fair_grid: tuple[float, ...] = ()  # fair mode: a sweep over these rates picks each network's rate first
    lr_range: tuple[float, float] | None = None  # the LR range test: ExponentialLR from lr_min to lr_max
    transfer: dict = field(default_factory=dict)  # recipe.transfer's arguments (the task split, the variants)
    points: Callable | None = None  # data made by this function of `data` (its source is copied), not loaded by name
    data: dict = field(default_factory=dict)


def exportable(experiment) -> bool:
    return experiment.export is not None


def plan(experiment, cfg) -> Plan:
    if experiment.export is None:
        raise NotExportable(f"{experiment.name} cannot be exported as a script: {experiment.export_why_not}")
    return experiment.export(cfg)


def network(run: str, cfg: TrainConfig, p: Plan) -> dict:
    """One network as recipe.build and recipe.train take it."""
    constant = "constant" if p.chosen_lr else None
    own = ACTIVATION_PARAMS.get(cfg.activation, {})
    return {
        "run": run, "seed": cfg.seed, "depth": cfg.depth, "width": cfg.width, "activation": cfg.activation,
        "act_params": {k: v for k, v in activation_params(cfg).items() if k in own}, "init": cfg.init,
        "batch_norm": cfg.batch_norm, "bn_momentum": cfg.bn_momentum,
        "optimizer": OPTIMIZERS[cfg.optimizer].cls.__name__, "optimizer_args": optimizer_kwargs(cfg.optimizer, cfg),
        "lr": cfg.lr,
        "schedule": None if p.lr_range else (cfg.schedule if cfg.schedule != "constant" else constant),
        "lr_range": p.lr_range, "batch_size": cfg.batch_size, "clip_norm": cfg.clip_norm,
        "clip_value": cfg.clip_value, "eval_every": cfg.eval_every,
    } | ({"steps": cfg.steps} if p.transfer else {})


def _seeds_line(seeds: list[int] | None) -> str:
    if not seeds:
        return ""
    return f"SEEDS = {list(seeds)!r}  # each network trains on every seed, the seeds together as one batched network\n"


def _settings_line(experiment, cfg) -> str:
    """The non-default options of `cfg`, as the runner's command line takes them."""
    default = experiment.config()
    parts = [f"--{f.name.replace('_', '-')} {format_value(getattr(cfg, f.name))}"
             for f in specs(experiment.config) if getattr(cfg, f.name) != getattr(default, f.name)]
    return " ".join(parts)


def _block(value: dict, indent: str) -> str:
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


def _constants(nets: list[dict], p: Plan, first: TrainConfig) -> str:
    """DATASET, COMMON (what every network shares), NETWORKS (what each changes), the run's length and
    the arguments of the function its main calls."""
    keys = [k for k in nets[0] if k != "run"]
    common = {k: nets[0][k] for k in keys if all(n[k] == nets[0][k] for n in nets)}
    lines = [f"DATASET = {None if p.points else first.dataset!r}\n", f"COMMON = {_block(common, ' ' * 9)}\n",
             "# One entry per network (what it changes), trained side by side: one step of each in turn.\n",
             "NETWORKS = [\n", *(f"    {_block({k: v for k, v in n.items() if k not in common}, '    ')},\n"
                                 for n in nets), "]\n"]
    if p.transfer:
        return "".join(lines) + f"TRANSFER = {_block(p.transfer, ' ' * 11)}\n"
    sweep = None if first.schedule == "constant" else first.schedule
    options = {"build_first": p.build_first, "chosen_lr": p.chosen_lr, "fair_grid": p.fair_grid,
               "sweep_schedule": sweep if p.fair_grid else None}
    return "".join(lines) + (f"STEPS = {first.steps!r}  # training steps (mini-batches) of every network\n"
                             f"OPTIONS = {_block(options, ' ' * 10)}\n")


_MAIN = '''

def main():
    steps, out = command_line(__doc__.split("\\n\\n")[0], STEPS)
    networks = [{**COMMON, **net, "steps": steps} for net in NETWORKS]
    with csv_rows(out) as write:
        side_by_side(networks, load_data(DATASET, COMMON["seed"]), write, **OPTIONS)
'''
_SEEDS_MAIN = '''

def main():
    steps, out = command_line(__doc__.split("\\n\\n")[0], STEPS)
    networks = [{**COMMON, **net, "steps": steps} for net in NETWORKS]
    with csv_rows(out) as write:
        seeds_side_by_side(networks, SEEDS, [load_data(DATASET, seed) for seed in SEEDS], write)
'''
_TRANSFER_MAIN = '''

def main():
    _, out = command_line(__doc__.split("\\n\\n")[0], None)
    with csv_rows(out) as write:
        transfer({**COMMON, **NETWORKS[0]}, load_data(DATASET, COMMON["seed"]), write, **TRANSFER)
'''


def _check_seeds(experiment, p: Plan) -> None:
    """Raise NotExportable where a script cannot train the run's seeds as the lab does: as one batched network."""
    from .ensemble import batchable

    if experiment.run_seeds is None or p.transfer or p.fair_grid or p.lr_range or p.build_first or p.chosen_lr:
        raise NotExportable(f"a script of {experiment.name} trains one seed: give --seed")
    for c in p.networks.values():
        if (why := batchable(c)) is not None:
            raise NotExportable(f"a script of several seeds trains them as one batched network, and {why}: "
                                "give --seed")


def script(experiment, cfg, filename: str | None = None, seeds: list[int] | None = None) -> str:
    """The standalone script of `experiment` run with `cfg` (raise NotExportable where there is none), on each of
    `seeds` if given; `filename` is what its usage lines call it (default: <experiment>_run.py, the page's
    download name)."""
    filename = filename or f"{experiment.name}_run.py"
    p = plan(experiment, cfg)
    if seeds:
        _check_seeds(experiment, p)
    first = next(iter(p.networks.values()))
    nets = [network(run, c, p) for run, c in p.networks.items()]
    options = _settings_line(experiment, cfg) + (f" --seeds {','.join(map(str, seeds))}" if seeds else "")
    options = options.strip()
    command = f"python -m core run {experiment.name}" + (f" {options}" if options else "")
    needs = "torch and scikit-learn" if first.dataset == "digits" else "torch and torchvision"
    usage = (f"python {filename} --out a.csv\n    {command} --out b.csv" if p.transfer else
             f"python {filename} --steps 30 --out a.csv\n    {command} --steps 30 --out b.csv")
    source = inspect.getsource(recipe)
    body = source[source.index('"""', 3) + 3:].lstrip("\n")  # the recipe without its own docstring
    if p.points:  # the lesson's own data, split as the lab splits every dataset
        body += (f"\n\n{inspect.getsource(p.points)}\n\nDATA = {p.data!r}\n\n\ndef load_data(_dataset, seed):\n"
                 f"    return (*split(*{p.points.__name__}(**DATA), seed), 2)\n")
    count = len(nets) * (len(seeds) if seeds else 1)
    return f'''#!/usr/bin/env python3
"""{experiment.title}: {count} network{"s" if count > 1 else ""}, exported from the Deep-Net Training Lab.

The same run as `{command}`:
{textwrap.fill(experiment.summary, 96)}

Standalone: it needs only {needs}. It writes one CSV row per measurement with the columns
run, step, metric, layer, value, as the lab's runner does, so the two can be compared record by record:

    {usage}

The code up to "This run" is the lab's own training recipe (core/recipe.py), copied verbatim; with
the same seed and torch version its records equal the lab's (its tests hold them within 1e-6).
"""

{body}

# -- This run ------------------------------------------------------------------------------------------

{_constants(nets, p, first)}{_seeds_line(seeds)}{_TRANSFER_MAIN if p.transfer else _SEEDS_MAIN if seeds else _MAIN}

if __name__ == "__main__":
    main()
'''
