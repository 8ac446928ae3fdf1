"""`python -m benchmarks.device`: the engine on CUDA against the CPU, side by side in one process.

Prints one JSON object: for each network size, engine steps/s (default probes and evaluation) on
the CPU and on CUDA, their ratio, and the device `auto` picks for that size. Imports only core
(torch, no Streamlit), so it runs on a GPU machine with nothing but torch, pandas and scikit-learn.
Where there is no CUDA device it reports the CPU alone.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import torch

from core.data import load
from core.device import configure_threads, resolve
from core.engine import TrainConfig, train, warm_up

SIZES = [  # (depth, width, batch): the lessons' default, a wide one, the largest a visitor can start
    (10, 100, 64),
    (20, 512, 1024),
    (100, 512, 4096),
]


def steps_per_s(cfg: TrainConfig, data, steps: int, budget_s: float = 8.0) -> float:
    """Steps per second over `steps` steps, or over as many as `budget_s` allows (big runs on a CPU)."""
    list(train(dataclasses.replace(cfg, steps=3), data))  # warm: kernels, allocator, lazy imports
    sync = torch.cuda.synchronize if cfg.device == "cuda" else (lambda: None)
    sync()
    start, done = time.perf_counter(), 0
    for record in train(dataclasses.replace(cfg, steps=steps), data):
        if record.step > done:
            done = record.step
            if time.perf_counter() - start > budget_s:
                break
    sync()
    return done / (time.perf_counter() - start)


def main(steps: int = 300) -> dict:
    threads = configure_threads(2)
    warm_up()
    data = load("digits", 0)
    cuda = torch.cuda.is_available()
    figures: dict = {"torch": torch.__version__, "cpu_threads": threads,
                     "cuda_device": torch.cuda.get_device_name(0) if cuda else None, "steps": steps, "sizes": []}
    for depth, width, batch in SIZES:
        base = TrainConfig(depth=depth, width=width, batch_size=batch, activation="relu", init="he_normal", lr=0.01)
        row = {"depth": depth, "width": width, "batch": batch,
               "auto_picks": resolve("auto", width, batch).type,
               "cpu_steps_per_s": round(steps_per_s(dataclasses.replace(base, device="cpu"), data, steps), 1)}
        if cuda:
            row["cuda_steps_per_s"] = round(steps_per_s(dataclasses.replace(base, device="cuda"), data, steps), 1)
            row["cuda_over_cpu"] = round(row["cuda_steps_per_s"] / row["cpu_steps_per_s"], 2)
        figures["sizes"].append(row)
    return figures


if __name__ == "__main__":
    json.dump(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300), sys.stdout)
    sys.stdout.write("\n")
