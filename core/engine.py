"""The one training loop: a generator that turns a TrainConfig into long-form Records."""

from __future__ import annotations

import copy
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import probes
from .config import ConfigError, Validated, param, project
from .data import DATASETS, Dataset
from .device import DEVICES, available_cpus, release_memory, resolve, tune_allocator, use_configured_threads
from .i18n import N_, _
from .optim import OPTIMIZERS, make_optimizer
from .recipe import (
    ACTIVATION_PARAMS,
    ACTIVATIONS,
    BATCH_NORM,
    BLOWN_UP,
    INITS,
    MLP,
    NON_FINITE,
    SCHEDULES,
    BlowUp,
    batches,
    clip_and_check,
    make_schedule,
    step_schedule,
)
from .recipe import evaluate as evaluate_split
from .records import Record, divergence

# Module construction draws from torch's global RNG; sessions are threads of one process, so
# seeding and building happen under one lock to keep "same seed, same records" under load.
_build_lock = threading.Lock()
# Threads training now, each with how many runs (a lesson interleaves several in one thread): a run measures
# beside only where the CPUs outnumber the torch threads of every thread that trains.
_training: dict[int, int] = {}
_training_lock = threading.Lock()


@contextmanager
def counted() -> Iterator[None]:
    """Count this thread as training while inside (spare_cpu reads the count)."""
    me = threading.get_ident()
    with _training_lock:
        _training[me] = _training.get(me, 0) + 1
    try:
        yield
    finally:
        with _training_lock:
            _training[me] -= 1
            if not _training[me]:
                del _training[me]


def spare_cpu() -> bool:
    """Whether a CPU is left over from torch's threads in every thread that trains now (this one included)."""
    with _training_lock:
        threads = max(1, len(_training))
    return available_cpus() > torch.get_num_threads() * threads


@dataclass(frozen=True)
class TrainConfig(Validated):
    """One training run: data, network, optimizer and measurement schedule."""

    dataset: str = param("digits", N_("Training data. Digits are bundled; the MNIST family downloads once."),
                         choices=DATASETS)
    depth: int = param(10, N_("Number of hidden layers."), lo=1, hi=100)
    width: int = param(100, N_("Units in each hidden layer."), lo=4, hi=512)
    activation: str = param("sigmoid", N_("Activation function of every hidden layer."), choices=ACTIVATIONS)
    init: str = param("xavier_uniform", N_("Weight initialisation (biases start at zero)."), choices=INITS,
                      label=N_("Initialisation"))
    batch_norm: str = param("none", N_("Batch normalisation before or after each activation."),
                            choices=BATCH_NORM, label=N_("Batch norm"))
    optimizer: str = param("sgd", N_("torch.optim optimizer."), choices=OPTIMIZERS)
    schedule: str = param("constant", N_("Learning-rate schedule (torch.optim.lr_scheduler)."), choices=SCHEDULES)
    lr: float = param(0.1, N_("Learning rate."), lo=1e-5, hi=100.0, log=True, label=N_("Learning rate"))
    batch_size: int = param(64, N_("Examples per training step."), lo=2, hi=4096)
    steps: int = param(500, N_("Training steps (mini-batches)."), lo=1, hi=100_000)
    seed: int = param(0, N_("Seeds the split, the initial weights and the batch order."), lo=0, hi=2**31 - 1)
    clip_norm: float = param(0.0, N_("Clip the global gradient norm to this value (0 = off)."), lo=0.0, hi=1e6,
                             label=N_("Clip norm"))
    clip_value: float = param(0.0, N_("Clip every gradient component to ±this value (0 = off)."), lo=0.0, hi=1e6,
                              label=N_("Clip value"))
    probe_every: int = param(20, N_("Measure the layers every this many steps."), lo=1, hi=10_000, advanced=True)
    eval_every: int = param(50, N_("Evaluate on the validation split every this many steps."), lo=1, hi=10_000,
                            advanced=True)
    device: str = param("auto", N_("auto picks CUDA only for runs big enough to gain from it."), choices=DEVICES,
                        advanced=True)
    bn_momentum: float = param(0.1, N_("How fast batch norm's running mean and variance follow the batches "
                               "(torch's momentum: new = (1 − m)·old + m·batch)."), lo=0.001, hi=1.0,
                               label=N_("BN momentum"), advanced=True)
    leaky_alpha: float = param(0.01, N_("LeakyReLU's slope for negative inputs."), lo=0.0, hi=1.0,
                               label=N_("LeakyReLU α"),
                               advanced=True)
    elu_alpha: float = param(1.0, N_("ELU's saturation value for very negative inputs is −α."), lo=0.01, hi=5.0,
                             label=N_("ELU α"), advanced=True)
    rrelu_lower: float = param(1 / 8, N_("RReLU's smallest random negative slope."), lo=0.0, hi=1.0,
                               label=N_("RReLU lower"),
                               advanced=True)
    rrelu_upper: float = param(1 / 3, N_("RReLU's largest random negative slope."), lo=0.0, hi=1.0,
                               label=N_("RReLU upper"),
                               advanced=True)
    # Optimizer hyperparameters: each optimizer takes the ones its registry entry accepts.
    momentum: float = param(0.9, N_("β: momentum's and Nesterov's decay of past gradients."), lo=0.0, hi=0.999,
                            advanced=True)
    beta1: float = param(0.9, N_("β₁: the Adam family's decay of the mean gradient."), lo=0.0, hi=0.999, label="β₁",
                         advanced=True)
    beta2: float = param(0.999, N_("β₂: the Adam family's decay of the squared gradient."), lo=0.0, hi=0.9999,
                         label="β₂", advanced=True)
    eps: float = param(1e-8, N_("ε: keeps the adaptive methods from dividing by zero."), lo=1e-12, hi=1.0, log=True,
                       label="ε", advanced=True)
    weight_decay: float = param(0.0, N_("L2 penalty (AdamW: decoupled weight decay)."), lo=0.0, hi=1.0, advanced=True)

    def __post_init__(self):
        super().__post_init__()
        if self.rrelu_lower > self.rrelu_upper:
            raise ConfigError("rrelu_lower", _('must not exceed rrelu_upper ({upper:g})')
                                             .format(upper=self.rrelu_upper), ("rrelu_upper",))
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device", _('cuda was asked for, but this machine has no CUDA device (use auto or cpu)'))


class LessonConfig(Validated):
    """Mixin for a lesson's config: besides its own fields' checks, the engine config it projects
    onto must be valid too (cross-field checks such as a CUDA device being present)."""

    def __post_init__(self):
        super().__post_init__()
        project(self, TrainConfig)


def activation_params(cfg) -> dict[str, float]:
    """The activation parameters (leaky_alpha, elu_alpha, ...) a config carries, if any."""
    names = {key for mapping in ACTIVATION_PARAMS.values() for key in mapping}
    return {n: getattr(cfg, n) for n in names if hasattr(cfg, n)}


@contextmanager
def seeded(seed: int):
    """Build modules from torch's global RNG, seeded, without another session's thread interleaving."""
    with _build_lock:
        torch.manual_seed(seed)
        yield


def build_model(cfg: TrainConfig, data: Dataset) -> MLP:
    """The MLP a config describes, initialised from the config's seed."""
    with seeded(cfg.seed):
        return MLP(data.n_features, data.n_classes, cfg.depth, cfg.width, cfg.activation, cfg.init,
                   cfg.batch_norm, generator=torch.Generator().manual_seed(cfg.seed),
                   bn_momentum=cfg.bn_momentum, **activation_params(cfg))


def evaluate(model: MLP, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Loss and accuracy in eval mode on a whole split (core.recipe.evaluate), by name."""
    loss, accuracy = evaluate_split(model, x, y)
    return {"loss": loss, "accuracy": accuracy}


@torch.no_grad()
def probe_activations(model: MLP, x_probe: torch.Tensor) -> dict[str, torch.Tensor]:
    """Activation statistics on the fixed probe set, in eval mode, under the current weights."""
    was_training = model.training
    model.eval()
    try:
        inputs, outputs = probes.forward_capturing(model, x_probe)
    finally:
        model.train(was_training)
    return probes.activation_stats(model, inputs, outputs)


def probe_records(run: str, step: int, values: dict[str, list[float]]) -> list[Record]:
    """Per-layer records for one probe step (layer 1 is nearest the input)."""
    return [Record(run, step, metric, i + 1, v) for metric, vs in values.items() for i, v in enumerate(vs)]


# Modules that draw from torch's global generator in training mode. A run measured beside trains a few steps
# ahead of the records it has yielded; where a lesson interleaves runs (core.recipe.interleave), a run that
# draws would then take its draws at other moments relative to the other runs' (and to their seeding when a
# network is built), so such a run measures in place, and its draws stay where an exported script has them.
STOCHASTIC = (torch.nn.RReLU, torch.nn.Dropout, torch.nn.Dropout1d, torch.nn.Dropout2d, torch.nn.Dropout3d,
              torch.nn.AlphaDropout, torch.nn.FeatureAlphaDropout)


def draws_while_training(model: torch.nn.Module) -> bool:
    return any(isinstance(m, STOCHASTIC) for m in model.modules())


def completed(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


class BackgroundMeasurer:
    """Measurements of the model as it is at one step, taken beside the training on a second CPU where there
    is one: probe statistics on the fixed probe set, and evaluations on the validation split.

    `submit` copies the model's parameters and buffers into a shadow model (copies made once) and a worker
    thread measures the shadow while training goes on; the training thread pays only the copy. The worker
    runs the same code at the same torch thread count on the same weights, so its numbers are the ones the
    training thread would have measured. Where torch's threads already use every CPU, or on CUDA (one stream
    orders the work anyway), the measurements are taken in place.
    """

    SHADOWS = 2  # a probe and an evaluation of the same step can be in flight together

    def __init__(self, model: torch.nn.Module, background: bool):
        self.model = model
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="measure") if background else None
        self.shadows: list[tuple[torch.nn.Module, list[torch.Tensor]]] = []
        self.busy: deque[tuple[Future, int]] = deque()  # measurements in flight, and the shadow each uses

    def submit(self, measure: Callable[[torch.nn.Module], object]) -> Future:
        """Start `measure(model)` on the model as it is now."""
        if self.pool is None:
            return completed(measure(self.model))
        in_use = {i for future, i in self.busy if not future.done()}
        free = [i for i in range(len(self.shadows)) if i not in in_use]
        if free:
            index = free[0]
        elif len(self.shadows) < self.SHADOWS:
            shadow = copy.deepcopy(self.model)
            self.shadows.append((shadow, self._tensors(shadow)))
            index = len(self.shadows) - 1
        else:
            future, index = self.busy[0]
            future.result()  # wait for the oldest measurement to free its shadow
        shadow, tensors = self.shadows[index]
        with torch.no_grad():
            torch._foreach_copy_(tensors, self._tensors(self.model))
        while self.busy and self.busy[0][0].done():
            self.busy.popleft()
        future = self.pool.submit(self._measure, measure, shadow, torch.get_num_threads())
        self.busy.append((future, index))
        return future

    @staticmethod
    def _tensors(model: torch.nn.Module) -> list[torch.Tensor]:
        return [t.detach() for t in (*model.parameters(), *model.buffers())]

    @staticmethod
    def _measure(measure: Callable, shadow: torch.nn.Module, threads: int):
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)  # OpenMP keeps the count per thread: the training thread's
        return measure(shadow)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class RecordQueue:
    """A run's records in the order the engine makes them, where some are still being measured: `put`
    adds records, `defer` a future and how to turn its result into records (and whether they end the
    run); `drain` yields what is ready from the front, or everything with `wait`."""

    def __init__(self):
        self.items: deque[tuple[Future, Callable]] = deque()

    def put(self, records: list[Record]) -> None:
        if records:
            self.items.append((completed(records), lambda rs: (rs, False)))

    def defer(self, future: Future, finish: Callable) -> None:
        self.items.append((future, finish))

    def drain(self, wait: bool = False):
        """Yield the ready records; returns True when a record yielded ends the run (a divergence)."""
        while self.items and (wait or self.items[0][0].done()):
            future, finish = self.items.popleft()
            records, ended = finish(future.result())
            yield from records
            if ended:
                self.items.clear()
                return True
        return False


class Measured:
    """How one run's probe statistics and evaluations become its records, in the order they were taken (the
    single run and an ensemble's members alike): a non-finite value ends the run as diverged."""

    def __init__(self, run: str, x: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor, bn: bool):
        self.run, self.x, self.x_val, self.y_val, self.bn = run, x, x_val, y_val, bn
        self.negative_before: list[torch.Tensor] = []  # the previous probe's per-unit mask (probes finish in order)

    def probe(self, norms: torch.Tensor, ratios: torch.Tensor, step: int) -> Callable:
        """finish(stats) -> (records, ended) for one probe step's activation statistics."""
        def finish(stats: dict[str, torch.Tensor]) -> tuple[list[Record], bool]:
            stats = dict(stats)
            if (negative := stats.pop(probes.NEGATIVE_UNITS, None)) is not None:
                if self.negative_before:
                    stats["revived_fraction"] = probes.revived(self.negative_before.pop(), negative)
                self.negative_before.append(negative)
            values = {"grad_norm": norms, "update_ratio": ratios, **stats}
            as_lists = {k: v.tolist() for k, v in values.items()}
            if not all(math.isfinite(v) for vs in as_lists.values() for v in vs):
                return divergence(self.run, step, NON_FINITE), True
            return probe_records(self.run, step, as_lists), False
        return finish

    def evaluation(self, model: MLP) -> tuple[dict[str, float], dict[str, list[float]]]:
        """The validation loss and accuracy, and with batch norm its running statistics' errors."""
        ev = evaluate(model, self.x_val, self.y_val)
        if not math.isfinite(ev["loss"]) or not self.bn:
            return ev, {}
        return ev, {k: v.tolist() for k, v in probes.running_stat_errors(model, self.x).items()}

    def evaluated(self, step: int) -> Callable:
        """finish(evaluation) -> (records, ended) for one evaluation step."""
        def finish(result) -> tuple[list[Record], bool]:
            ev, errors = result
            if not math.isfinite(ev["loss"]):
                return divergence(self.run, step, NON_FINITE), True
            return [Record(self.run, step, "val_loss", None, ev["loss"]),
                    Record(self.run, step, "val_accuracy", None, ev["accuracy"]),
                    *probe_records(self.run, step, errors)], False
        return finish


def train(cfg: TrainConfig, data: Dataset, run: str = "run", model: MLP | None = None,
          params: list[torch.nn.Parameter] | None = None, schedule_factory=None,
          measure_beside: bool | None = None) -> Iterator[Record]:
    """Train and yield Records; a non-finite loss or gradient, or a loss blown up far above chance for
    BLOWUP_STEPS steps, ends the run with `diverged_reason` and `diverged` (core.records.divergence).

    `model` and `params` let a lesson bring its own network (transfer) or train only a subset;
    the optimizer takes the hyperparameters of `cfg` that its registry entry accepts. A schedule
    other than `constant` (or a `schedule_factory(optimizer)`, as the LR range test uses) adds an
    `lr` record per step.
    The batch order depends on the seed alone, so runs with the same seed see the same batches.
    Probes and evaluations are measured beside the training (BackgroundMeasurer) where `measure_beside` is None and
    a CPU is spare (spare_cpu: none where two sessions train at once on two CPUs), or where it is True; the
    records and their order are those of measuring them in place, a few steps later.
    """
    tune_allocator()
    try:
        with counted():
            yield from _train(cfg, data, run, model, params, schedule_factory, measure_beside)
    finally:
        release_memory()


def _train(cfg: TrainConfig, data: Dataset, run: str, model: MLP | None, params, schedule_factory,
           measure_beside: bool | None) -> Iterator[Record]:
    use_configured_threads()
    model = model if model is not None else build_model(cfg, data)
    device = resolve(cfg.device, cfg.width, cfg.batch_size)
    model.to(device).train()
    is_mlp = isinstance(model, MLP)  # other models (a CNN backbone) train without layer probes
    params = params if params is not None else [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(cfg.optimizer, params, cfg.lr, cfg)
    schedule = make_schedule(cfg.schedule, opt, cfg.steps) if cfg.schedule != "constant" else None
    if schedule_factory is not None:
        schedule = schedule_factory(opt)
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    order = batches(len(x), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    blown_up = BlowUp(math.log(data.n_classes))  # chance level of cross-entropy
    if measure_beside is None:
        measure_beside = device.type == "cpu" and spare_cpu() and not draws_while_training(model)
    beside = BackgroundMeasurer(model, background=measure_beside)
    x_probe = x_val[:probes.PROBE_EXAMPLES]
    bn = is_mlp and len(model.norms) > 0
    out = RecordQueue()

    measured = Measured(run, x, x_val, y_val, bn)

    def end(step: int, reason: float) -> Iterator[Record]:
        out.put(divergence(run, step, reason))
        yield from out.drain(wait=True)

    try:
        for step in range(1, cfg.steps + 1):
            idx = next(order).to(device)
            xb, yb = x[idx], y[idx]
            probing = is_mlp and (step == 1 or step % cfg.probe_every == 0 or step == cfg.steps)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                yield from end(step, NON_FINITE)
                return
            if blown_up(loss_value):
                yield from end(step, BLOWN_UP)
                return
            opt.zero_grad(set_to_none=True)
            loss.backward()
            clipping = probing and (cfg.clip_value > 0 or cfg.clip_norm > 0)
            raw = probes.gradients(params) if clipping else None
            if not clip_and_check(params, cfg.clip_value, cfg.clip_norm):
                yield from end(step, NON_FINITE)
                return
            if raw is not None and math.isfinite(turned := probes.cosine(raw, params)):
                out.put([Record(run, step, "clip_cosine", None, turned)])
            if probing:
                norms, before = probes.grad_norms(model), probes.weights(model)
                stats = beside.submit(lambda shadow: probe_activations(shadow, x_probe))
            if schedule is not None:
                out.put([Record(run, step, "lr", None, opt.param_groups[0]["lr"])])  # the rate this step used
            opt.step()
            if schedule is not None:
                step_schedule(schedule, loss_value)
            out.put([Record(run, step, "loss", None, loss_value),
                     Record(run, step, "accuracy", None, (logits.argmax(1) == yb).float().mean().item())])
            if probing:
                out.defer(stats, measured.probe(norms, probes.update_ratios(before, model), step))

            if step % cfg.eval_every == 0 or step == cfg.steps:
                out.defer(beside.submit(measured.evaluation), measured.evaluated(step))
            if (yield from out.drain()):
                return
        yield from out.drain(wait=True)
    finally:
        beside.close()


def warm_up() -> None:
    """Pay the one-off costs (lazy torch imports on the first optimizer step, the digits load)
    before the first visitor presses Train."""
    from .data import load

    list(train(TrainConfig(depth=2, width=8, steps=2, probe_every=1, eval_every=1), load("digits", 0)))
