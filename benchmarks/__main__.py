"""`python -m benchmarks`: one JSON object of figures, ratios measured side by side in one run.

- probe_overhead: engine steps/s with default probes ÷ a bare PyTorch loop on the same model
  (depth 20, width 100), alternating in 100-step chunks; each side's fastest chunk counts.
  engine_unprobed_overhead: the same for the engine with probes and evaluations off (its own cost per
  step); probe_overhead_in_place: with the measurements taken in place, as on one CPU; probe_ms: one probe
  step's measurements, median milliseconds.
- redraw_bytes_100 / redraw_bytes_10000: bytes of one loss-chart redraw (spec JSON + the Arrow
  data Streamlit sends for it) after 100 and after 10,000 steps of one run.
- redraw_ms_built / redraw_ms_filled: one redraw of vanishing's six live charts at the end of its default run,
  built with altair (no kept template) and filled into kept templates (ui.vega.templated), median ms,
  alternating; redraw_fill_ratio is built ÷ filled.
- surface_animation_mb: the optimizer lesson's default animation, every frame's bytes summed (spec JSON
  and datasets in Arrow, as Streamlit sends them); surface_frame_kb: its largest frame. Target <= 1 MB.
- first_point_s: on a warm process, from Train (experiment.run) to the first drawn chart.
- default_s.<experiment>: every registered experiment's default config, start to finish (the
  registry in core.experiments; one that needs a download it cannot get reports null).
- history_mb: a session's run history holding 20 runs of each of the five lessons' defaults, stored as
  the page stores every run (tracemalloc: what the filled history holds); history_frames_mb is the stored
  frames' own size. Target <= 50 MB.
- seeds5_ratio.<experiment>: wall time of five seeds trained as one batched network (core.ensemble) ÷ one
  seed trained by the engine as a page trains it, for the vanishing and activations defaults (each activation's
  network of the activations default), alternating, best of two rounds each; seeds5_s and seeds1_s are those
  times. The issue's target is <= 2.0.
- browser_vs_headless: benchmarks.browser, each lesson's default run in Chromium on a loopback server
  (Train to "Finished") against the same run headless in this process, and Train to the first drawn
  point; `--no-browser` skips it.
- server_load: a real server on loopback, 10 Chromium sessions each training every lesson's default
  at once (benchmarks.load): runs completed, exceptions, queue places seen, and the server's RSS
  before (warm), at its peak and 30 s after the tabs closed. `--no-load` skips it (about 10 minutes here).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from core.data import Unavailable, load, load_or_fallback
from core.device import configure_threads
from core.engine import TrainConfig, batches, build_model, train, warm_up
from core.experiments import experiments, optimizers, transfer, vanishing
from ui import charts
from ui.admission import MAX_CONCURRENT_RUNS
from ui.buffers import LiveBuffers

from . import load as server_load


def bare_loop(cfg: TrainConfig):
    """A plain PyTorch loop (same model, data, optimizer, batch order; no records, no probes)
    as a generator, so it can run in chunks interleaved with the engine."""
    data = load(cfg.dataset, cfg.seed)
    model = build_model(cfg, data).train()
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    order = batches(len(data.x_train), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    while True:
        idx = next(order)
        loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        yield


def _chunk_seconds(advance, steps: int) -> float:
    start = time.perf_counter()
    advance(steps)
    return time.perf_counter() - start


def probe_overhead(chunks: int = 12, chunk: int = 100) -> dict:
    """Engine (default probes) vs bare loop at depth 20, width 100: the two alternate in chunks of
    `chunk` steps (a multiple of probe_every and eval_every, so each engine chunk carries its full
    share of probes), and each side's fastest chunk counts, which filters the shared machine's noise.
    The engine measures its probes and evaluations beside the training where there is a second CPU
    (core.engine.BackgroundMeasurer); a fourth side measures them in place, as on one CPU (`probe_overhead_in_place`).
    A third side, the engine with neither probes nor evaluations, alternates with them: its ratio
    (`engine_unprobed_overhead`) is the engine's own per-step cost, the rest is the probes' and
    evaluations' (`probe_ms`: one probe step's measurements, timed apart on a model of the same shape)."""
    cfg = TrainConfig(depth=20, width=100, steps=chunks * chunk + 1)
    unprobed = dataclasses.replace(cfg, probe_every=10_000, eval_every=10_000)  # past the last chunk
    data = load(cfg.dataset, cfg.seed)
    engines = {"probed": train(cfg, data), "unprobed": train(unprobed, data),
               "in_place": train(cfg, data, measure_beside=False)}
    bare = bare_loop(cfg)
    steps = {}
    for name, engine in engines.items():
        next(engine)  # step 1's first record; from here on, chunks end at step boundaries
        steps[name] = 1

    def advance(name: str, n: int) -> None:
        target = steps[name] + n
        for r in engines[name]:
            if r.step > target:
                steps[name] = target
                return

    def advance_bare(n: int) -> None:
        for _ in range(n):
            next(bare)

    times = {"bare": [], "probed": [], "unprobed": [], "in_place": []}
    for _ in range(chunks - 1):
        times["bare"].append(_chunk_seconds(advance_bare, chunk))
        for name in engines:
            times[name].append(_chunk_seconds(lambda n, name=name: advance(name, n), chunk))
    best = {k: min(v) for k, v in times.items()}
    return {"probe_overhead": round(best["bare"] / best["probed"], 3),
            "engine_steps_per_s": round(chunk / best["probed"], 1), "bare_steps_per_s": round(chunk / best["bare"], 1),
            "probe_overhead_median": round(statistics.median(times["bare"]) / statistics.median(times["probed"]), 3),
            "engine_unprobed_overhead": round(best["bare"] / best["unprobed"], 3),
            "probe_overhead_in_place": round(best["bare"] / best["in_place"], 3), "probe_ms": probe_ms(cfg, data)}


def probe_ms(cfg: TrainConfig, data, repeats: int = 50) -> float:
    """One probe step's measurements as the engine takes them (gradient norms, a copy of the weights, the
    activation statistics on the fixed probe set, the update ratios), median milliseconds."""
    from core import probes
    from core.engine import probe_activations

    model = build_model(cfg, data).train()
    x, y = data.x_train[:cfg.batch_size], data.y_train[:cfg.batch_size]
    F.cross_entropy(model(x), y).backward()
    x_probe = data.x_val[:probes.PROBE_EXAMPLES]
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        norms, before = probes.grad_norms(model), probes.weights(model)
        stats = probe_activations(model, x_probe)
        ratios = probes.update_ratios(before, model)
        [v.tolist() for v in (norms, ratios, *stats.values())]
        seconds.append(time.perf_counter() - start)
    return round(statistics.median(seconds) * 1e3, 2)


def chart_bytes(chart) -> int:
    """Bytes Streamlit sends for one altair_chart call, as the live redraws make it: the spec JSON, and every
    dataset in Arrow (Streamlit's own conversion)."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    spec = _convert_altair_to_vega_lite_spec(chart)
    datasets = spec.pop("datasets", {})
    return len(json.dumps(spec)) + sum(len(d) for d in datasets.values())


def redraw_sizes(steps: int = 10_000) -> dict:
    cfg = TrainConfig(depth=10, width=16, steps=steps)
    loss_chart = lambda df: charts.curves(df, ("loss", "val_loss"), "Loss", "cross-entropy")  # noqa: E731
    metrics = ("loss", "val_loss", "diverged")
    buffers, out = LiveBuffers(), {}

    def measure(step: int) -> None:
        out[f"redraw_bytes_{step}"] = chart_bytes(loss_chart(buffers.frame(metrics)))
        out[f"heatmap_redraw_bytes_{step}"] = chart_bytes(charts.heatmap(buffers.frame(["grad_norm"])))

    for r in train(cfg, load("digits", 0)):
        if r.step != buffers.step and buffers.step == 100:
            measure(100)
        buffers.add(r)
    measure(steps)
    out["redraw_bytes_ratio"] = round(out[f"redraw_bytes_{steps}"] / out["redraw_bytes_100"], 3)
    return out


def redraw_ms(repeats: int = 10) -> dict:
    from ui import vega
    from ui.results import fixed_renderer

    exp = vanishing.EXPERIMENT
    cfg = exp.config()
    buffers = LiveBuffers()
    for r in exp.run(cfg):
        buffers.add(r)
    builders = [(lambda df: charts.curves(df, ("loss", "val_loss"), "Loss", "cross-entropy"), ("loss", "val_loss")),
                (lambda df: charts.curves(df, ("accuracy", "val_accuracy"), "Accuracy", "accuracy"),
                 ("accuracy", "val_accuracy")),
                (charts.heatmap, ("grad_norm",)), (charts.profile, ("grad_norm",)),
                (charts.percentile_bands, ("preact_p15", "preact_p50", "preact_p85")),
                (charts.fractions, ("saturated_fraction", "dead_fraction", "inactive_fraction"))]

    def redraw() -> None:
        for build, metrics in builders:
            with charts.step_axis(cfg.steps), charts.display(True, 0.0), vega.filling():
                chart = build(exp.runs.annotate(buffers.frame(metrics)))
                if not isinstance(chart, dict):
                    vega.finish(vega.spec(fixed_renderer(chart)))

    times: dict[str, list[float]] = {"built": [], "filled": []}
    for _ in range(repeats):
        vega._KEPT.clear()
        for side in times:  # built first (nothing kept), then filled from what it kept
            start = time.perf_counter()
            redraw()
            times[side].append(time.perf_counter() - start)
    built, filled = (statistics.median(times[k]) * 1e3 for k in ("built", "filled"))
    return {"redraw_ms_built": round(built, 1), "redraw_ms_filled": round(filled, 1),
            "redraw_fill_ratio": round(built / filled, 2)}


def surface_animation_bytes() -> dict:
    """The optimizer lesson's default animation as the page sends it: FRAMES redraws of the map with
    the paths so far (ui.live's pacing), summed; and one frame's bytes."""
    from core.experiments.optimizers import paths
    from ui.live import FRAMES
    from ui.surface import surface_chart

    exp = optimizers.SURFACE_EXPERIMENT
    cfg = exp.config()
    every = -(-exp.work(cfg) // FRAMES)
    buffers, sizes, done = LiveBuffers(), [], 0

    def frame_bytes() -> int:
        frame = paths(exp.runs.annotate(buffers.frame(("x", "y", "loss"))))
        return chart_bytes(surface_chart(cfg.surface, frame, live=True))

    for r in exp.run(cfg):
        if r.step != buffers.step and buffers.series and done >= len(sizes) * every:
            sizes.append(frame_bytes())
        if r.metric == "loss":
            done += 1
        buffers.add(r)
    sizes.append(frame_bytes())
    return {"surface_animation_mb": round(sum(sizes) / 1e6, 3), "surface_frames": len(sizes),
            "surface_frame_kb": round(max(sizes) / 1e3, 1)}


def first_point_s() -> float:
    """Warm process: time from starting the default experiment to the first loss chart built."""
    exp = vanishing.EXPERIMENT
    start = time.perf_counter()
    buffers = LiveBuffers()
    for r in exp.run(exp.config()):
        if r.step != buffers.step and buffers.step:
            chart_bytes(charts.curves(buffers.frame(("loss", "val_loss")), ("loss",), "", ""))
            break
        buffers.add(r)
    return round(time.perf_counter() - start, 3)


def default_run_s(experiment) -> float | None:
    """Seconds for an experiment's default config, start to finish (data already cached);
    None when it needs a download this machine cannot make."""
    start = time.perf_counter()
    try:
        for _ in experiment.run(experiment.config()):
            pass
    except Unavailable:
        return None
    return round(time.perf_counter() - start, 2)


HISTORY_LESSONS = ("vanishing", "activations", "batchnorm", "transfer", "optimizers-net")


def history_mb(runs_per_lesson: int = 20) -> dict:
    """A session's run history full: `runs_per_lesson` runs of each of the five lessons' default (each
    trained once here, then stored the way the page stores every run: ui.history.stored_frame into a
    core.history.History). Reports the memory the history holds (tracemalloc: every allocation made
    while it filled and still alive, the frames' buffers included) and the frames' own size."""
    import tracemalloc

    from core.history import History
    from ui.history import stored_frame

    registry = experiments()
    finished = {name: list(registry[name].run(registry[name].config())) for name in HISTORY_LESSONS}
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    h = History()
    for name, records in finished.items():
        for _ in range(runs_per_lesson):
            h.add(name, name, registry[name].config(), stored_frame(records), "finished", records[-1].step, 1.0)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"history_runs": len(h.entries), "history_mb": round(held / 2**20, 1),
            "history_frames_mb": round(h.nbytes() / 2**20, 1)}


def surface_race_s() -> float:
    """All nine optimizers × 300 steps on the default surface (best of three)."""
    cfg = optimizers.Config(optimizers=tuple(optimizers.OPTIMIZERS), steps=300)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in optimizers.trajectories(cfg):
            pass
        times.append(time.perf_counter() - start)
    return round(min(times), 3)


def transfer_times() -> dict:
    """Model A's pretraining (target <= 10 s), then 4 variants × 5 seeds on task B (target <= 25 s),
    then a second visit, which replays the cached model A and starts B at once."""
    cfg = transfer.Config()
    data, _ = load_or_fallback(cfg.dataset, cfg.seed)
    a, _ = transfer.split_tasks(data, transfer.HELD_OUT[data.name])
    start = time.perf_counter()
    for _ in transfer.pretrained(cfg, a):
        pass
    pretrain = time.perf_counter() - start
    start = time.perf_counter()
    for _ in transfer.run(cfg):
        pass
    variants = time.perf_counter() - start
    start = time.perf_counter()
    first_b = None
    for r in transfer.run(cfg):
        if r.run != "model_a":
            first_b = time.perf_counter() - start
            break
    return {"transfer_pretrain_a_s": round(pretrain, 2), "transfer_4x5_s": round(variants, 2),
            "transfer_second_visit_first_b_record_s": round(first_b, 3)}


def seeds5_ratio(rounds: int = 2) -> dict:
    """Five seeds as one ensemble ÷ one seed, on the vanishing and activations defaults (side by side)."""
    from core.ensemble import train_ensemble
    from core.experiments import activations

    seeds = [0, 1, 2, 3, 4]
    defaults = {"vanishing": [vanishing.Config()],
                "activations": [activations.variant(activations.Config(), a) for a in activations.Config().activations]}
    out: dict = {"seeds5_ratio": {}, "seeds5_s": {}, "seeds1_s": {}}
    for name, configs in defaults.items():
        datas = [load(configs[0].dataset, s) for s in seeds]
        one, five = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            for cfg in configs:
                for _ in train(cfg, datas[0], "one"):
                    pass
            one.append(time.perf_counter() - start)
            start = time.perf_counter()
            for cfg in configs:
                for _ in train_ensemble(cfg, datas, [f"s{s}" for s in seeds], seeds):
                    pass
            five.append(time.perf_counter() - start)
        out["seeds5_s"][name], out["seeds1_s"][name] = round(min(five), 2), round(min(one), 2)
        out["seeds5_ratio"][name] = round(min(five) / min(one), 2)
    return out


def browser_figures() -> dict | None:
    """benchmarks.browser: each lesson's default in Chromium against the headless engine (None without Chromium)."""
    import os

    from . import browser

    return browser.run() if os.path.exists(server_load.CHROMIUM) else None


def main() -> int:
    threads = configure_threads(MAX_CONCURRENT_RUNS)
    warm_up()
    figures: dict = {"torch_threads": threads, "device": "cpu"}
    figures.update(probe_overhead())
    figures.update(redraw_sizes())
    figures.update(redraw_ms())
    figures["first_point_s"] = first_point_s()
    figures.update(transfer_times())  # before the registry loop, so model A is not yet cached
    figures["default_s"] = {name: default_run_s(exp) for name, exp in experiments().items()}
    figures.update(seeds5_ratio())  # target <= 2.0
    figures["surface_9x300_s"] = surface_race_s()  # target <= 1 s
    figures.update(surface_animation_bytes())  # target <= 1 MB per animation
    figures.update(history_mb())  # target <= 50 MB for 20 runs of each of the five lessons
    if "--no-browser" not in sys.argv:
        figures["browser_vs_headless"] = browser_figures()
    if "--no-load" not in sys.argv:
        figures["server_load"] = server_load.run(sessions=10, interrupts=0.0, settle=30)
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
