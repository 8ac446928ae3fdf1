"""Several seeds of one MLP trained as one batched network (core.recipe.EnsembleMLP): each layer of every
member in one `baddbmm`, which saves the per-operator dispatch of N separate runs, not their arithmetic
(`python -m benchmarks` measures the ratio as seeds5_ratio). What a member is stays the single run's:

- each member *is* the MLP `engine.build_model` makes for its seed, so its initial weights are the
  single run's bit for bit (torch.nn.init on its own generator), and its data split and batch order
  follow its seed;
- its parameters stay its own leaf tensors, stacked into `[N, out, in]` on every forward pass. One
  `torch.optim` optimizer holds every member's parameters (one parameter group per learning rate), so
  every optimizer and every schedule acts on a member exactly as on a single run: an optimizer step
  touches each tensor on its own, and a scheduler scales each group from its own initial rate. Stacked
  leaf parameters would share one tensor across members: exact for the elementwise optimizers, but a
  member's own learning rate (a sweep) could then only be imitated by scaling its gradient, which
  Adam's normalisation undoes;
- batch norm normalises the `N · width` features of a layer in one call; each member's running mean
  and variance are views into the stacked buffers that call updates, so the member's own module reads
  them in eval mode;
- the loss is the sum of the members' mean losses, so each member's gradient is its own; clipping and
  the divergence checks act per member, and a member that diverges stops (its `diverged` records) while
  the others go on;
- probes and evaluations run on the member's own module with the engine's code (`engine.Measured`), so
  a member's records mean what a single run's mean; an exported script trains the same ensemble
  (core.recipe.train_together).

What cannot be batched exactly trains one seed after another (`batchable` says why not): activations that
draw random numbers while training (RReLU: the draws would come in another order), and the schedules that
watch one loss or one peak rate (ReduceLROnPlateau; OneCycleLR with members at different rates).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence

import torch

from . import probes
from .data import Dataset, load_recorded
from .device import release_memory, resolve, tune_allocator, use_configured_threads
from .engine import (
    BackgroundMeasurer,
    Measured,
    RecordQueue,
    TrainConfig,
    build_model,
    counted,
    draws_while_training,
    probe_activations,
    spare_cpu,
    train,
)
from .optim import make_optimizer
from .recipe import (
    BLOWN_UP,
    NON_FINITE,
    BlowUp,
    EnsembleMLP,
    batches,
    clip_and_check,
    make_schedule,
    member_losses,
    rate_groups,
    seeded_run,
    step_schedule,
)
from .records import Record, divergence


def batchable(cfg: TrainConfig, lrs: Sequence[float] | None = None) -> str | None:
    """Why members of `cfg` cannot train as one batched network (None: they can)."""
    if cfg.activation == "rrelu":
        return "RReLU draws its slopes from torch's global generator while training"
    if cfg.schedule == "reduce_on_plateau":
        return "ReduceLROnPlateau watches one loss"
    if cfg.schedule == "1cycle" and lrs is not None and len(set(lrs)) > 1:
        return "OneCycleLR takes one peak rate"
    return None


def member_config(cfg: TrainConfig, seed: int, lr: float | None = None) -> TrainConfig:
    """The single run a member stands for."""
    return dataclasses.replace(cfg, seed=seed, **({} if lr is None else {"lr": lr}))


def load_seeds(dataset: str, seeds: Sequence[int]) -> tuple[list[Dataset], list[Record]]:
    """Each seed's split of `dataset`, and the first one's note records (a fallback is the same for all)."""
    loaded = [load_recorded(dataset, s) for s in seeds]
    return [data for data, _ in loaded], loaded[0][1]


def train_seeds(cfg: TrainConfig, datas: Sequence[Dataset], run: str, seeds: Sequence[int],
                measure_beside: bool | None = None) -> Iterator[Record]:
    """`run` on each seed, named seeded_run(run, seed): one batched network where that is exact, else the
    engine's single runs one after another."""
    runs = [seeded_run(run, s) for s in seeds]
    if batchable(cfg) is None:
        yield from train_ensemble(cfg, datas, runs, seeds, measure_beside=measure_beside)
        return
    for seed, data, name in zip(seeds, datas, runs, strict=True):
        yield from train(member_config(cfg, seed), data, name, measure_beside=measure_beside)


def train_ensemble(cfg: TrainConfig, datas: Sequence[Dataset], runs: Sequence[str], seeds: Sequence[int],
                   lrs: Sequence[float] | None = None, measure_beside: bool | None = None) -> Iterator[Record]:
    """Train member k (seed `seeds[k]`, data `datas[k]`, learning rate `lrs[k]` or cfg.lr) and yield its
    records as `runs[k]`: member k's records come in its single run's order. Probes and evaluations of every
    member are measured in one go, beside the training where a CPU is spare (engine.BackgroundMeasurer), as a
    single run measures them."""
    if (why := batchable(cfg, lrs)) is not None:
        raise ValueError(f"these members cannot train as one network: {why}")
    tune_allocator()
    try:
        with counted():
            yield from _train(cfg, datas, runs, seeds, lrs, measure_beside)
    finally:
        release_memory()


def _train(cfg, datas, runs, seeds, lrs, measure_beside) -> Iterator[Record]:
    use_configured_threads()
    n = len(seeds)
    lrs = list(lrs) if lrs is not None else [cfg.lr] * n
    configs = [member_config(cfg, s, lr) for s, lr in zip(seeds, lrs, strict=True)]
    device = resolve(cfg.device, cfg.width, cfg.batch_size * n)
    members = [build_model(c, d).to(device).train() for c, d in zip(configs, datas, strict=True)]
    assert not any(draws_while_training(m) for m in members)
    net = EnsembleMLP(members).train()
    params = [[p for p in m.parameters() if p.requires_grad] for m in members]
    groups, group_index = rate_groups(params, lrs)
    opt = make_optimizer(cfg.optimizer, groups, cfg.lr, cfg)
    group_of = [opt.param_groups[g] for g in group_index]
    schedule = make_schedule(cfg.schedule, opt, cfg.steps) if cfg.schedule != "constant" else None
    x = torch.stack([d.x_train for d in datas]).to(device)
    y = torch.stack([d.y_train for d in datas]).to(device)
    vals = [(d.x_val.to(device), d.y_val.to(device)) for d in datas]
    orders = [batches(x.shape[1], cfg.batch_size, torch.Generator().manual_seed(s)) for s in seeds]
    rows = torch.arange(n, device=device).unsqueeze(1)
    blown_up = [BlowUp(math.log(d.n_classes)) for d in datas]
    bn = len(members[0].norms) > 0
    measured = [Measured(run, x[k], *vals[k], bn) for k, run in enumerate(runs)]
    x_probe = [v[0][:probes.PROBE_EXAMPLES] for v in vals]
    if measure_beside is None:
        measure_beside = device.type == "cpu" and spare_cpu()
    beside = BackgroundMeasurer(net, background=measure_beside)  # one copy of every member per measurement
    queues = [RecordQueue() for _ in range(n)]
    alive, stopped = list(range(n)), set()

    def stop(k: int, step: int, reason: float) -> None:
        queues[k].put(divergence(runs[k], step, reason))
        stopped.add(k)

    try:
        for step in range(1, cfg.steps + 1):
            idx = torch.stack([next(o) for o in orders]).to(device)
            xb, yb = x[rows, idx], y[rows, idx]
            probing = step == 1 or step % cfg.probe_every == 0 or step == cfg.steps
            logits = net(xb)
            losses = member_losses(logits, yb)
            loss_values = losses.tolist()
            for k in alive:
                if not math.isfinite(loss_values[k]):
                    stop(k, step, NON_FINITE)
                elif blown_up[k](loss_values[k]):
                    stop(k, step, BLOWN_UP)
            going = [k for k in alive if k not in stopped]
            opt.zero_grad(set_to_none=True)
            if going:
                losses[going].sum().backward()
            clipping = probing and (cfg.clip_value > 0 or cfg.clip_norm > 0)
            norms, before = {}, {}
            for k in list(going):
                raw = probes.gradients(params[k]) if clipping else None
                if not clip_and_check(params[k], cfg.clip_value, cfg.clip_norm):
                    stop(k, step, NON_FINITE)
                    going.remove(k)
                    continue
                if raw is not None and math.isfinite(turned := probes.cosine(raw, params[k])):
                    queues[k].put([Record(runs[k], step, "clip_cosine", None, turned)])
                if probing:
                    norms[k], before[k] = probes.grad_norms(members[k]), probes.weights(members[k])
                if schedule is not None:
                    queues[k].put([Record(runs[k], step, "lr", None, group_of[k]["lr"])])  # the rate this step used
            if probing and going:
                stats = beside.submit(lambda shadow, ks=tuple(going): {
                    k: probe_activations(shadow.members[k], x_probe[k]) for k in ks})
            for k in stopped:
                for p in params[k]:
                    p.grad = None  # a stopped member's weights stay as they were
            opt.step()
            if schedule is not None:
                step_schedule(schedule, sum(loss_values[k] for k in going) / max(1, len(going)))
            evaluating = step % cfg.eval_every == 0 or step == cfg.steps
            if evaluating and going:
                evaluations = beside.submit(lambda shadow, ks=tuple(going): {
                    k: measured[k].evaluation(shadow.members[k]) for k in ks})
            hits = (logits[going].argmax(2) == yb[going]).float().mean(1).tolist() if going else []
            for j, k in enumerate(going):
                queues[k].put([Record(runs[k], step, "loss", None, loss_values[k]),
                               Record(runs[k], step, "accuracy", None, hits[j])])
                if probing:
                    ratios = probes.update_ratios(before[k], members[k])
                    queues[k].defer(stats, _member(k, measured[k].probe(norms[k], ratios, step)))
                if evaluating:
                    queues[k].defer(evaluations, _member(k, measured[k].evaluated(step)))
            for k in alive:
                if (yield from queues[k].drain()):
                    stopped.add(k)  # a measurement found it diverged: what it trained since is dropped
            alive = [k for k in alive if k not in stopped]
            if not alive:
                break
        for queue in queues:
            yield from queue.drain(wait=True)
    finally:
        beside.close()


def _member(k: int, finish: Callable) -> Callable:
    """A finish for member k's part of a measurement taken of every member at once."""
    return lambda results: finish(results[k])
