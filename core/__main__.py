"""The headless runner: `python -m core run EXPERIMENT [--field value ...] --out F.csv`, and
`python -m core list` for the experiments it knows (the registry, core.experiments.LESSONS).

Options come from the experiment's Config fields. A bad option prints one line naming it and
what it accepts, and exits with code 2; something the run needs from the internet and cannot
get is one line and exit code 1.
"""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, allowed, apply_preset, format_value, from_strings, label, specs
from .data import Unavailable
from .experiment import Experiment
from .experiments import LESSONS, experiments
from .records import write_csv


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are a single line on stderr and exit code 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser(experiment: Experiment) -> OneLineParser:
    """The option parser of one experiment, derived from its Config fields."""
    p = OneLineParser(prog=f"python -m core run {experiment.name}", description=experiment.summary)
    if experiment.presets:
        p.add_argument("--preset", choices=list(experiment.presets), help="start from a named preset")
    p.add_argument("--out", default="-", help="CSV file to write (default: standard output)")
    for f in specs(experiment.config):
        flag = {"nargs": "?", "const": "true"} if isinstance(f.default, bool) else {}  # `--fair` alone means true
        p.add_argument(option(f.name), dest=f.name, metavar=f.name.upper(), **flag,
                       help=f"{label(f)}: {f.metadata['help']} ({allowed(f)}; default {format_value(f.default)})")
    return p


def list_experiments(out=None) -> None:
    """One line per experiment: its name, its lesson and what it does."""
    out = out or sys.stdout
    for lesson in LESSONS:
        for e in lesson.experiments:
            out.write(f"{e.name:<16} {lesson.title}: {e.summary}\n")


def configure(experiment: Experiment, argv: list[str]):
    """The config the options describe, or raise ConfigError; also the --out value."""
    args = build_parser(experiment).parse_args(argv)
    given = {f.name: getattr(args, f.name) for f in specs(experiment.config) if getattr(args, f.name) is not None}
    preset = getattr(args, "preset", None)
    base = apply_preset(experiment.config, experiment.presets, preset) if preset else None
    cfg = from_strings(experiment.config, given, base)
    experiment.validate(cfg)  # checks that need the data
    return cfg, args.out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    registry = experiments()
    top = OneLineParser(prog="python -m core", description="list: the experiments; run: one of them, as CSV.")
    top.add_argument("command", choices=["list", "run"])
    top.add_argument("experiment", nargs="?", choices=list(registry))
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return 0 if argv else 2
    if argv[0] == "list":
        top.parse_args(argv[:1])
        list_experiments()
        return 0
    head = top.parse_args(argv[:2])
    if head.experiment is None:
        top.error("run needs an experiment: " + ", ".join(registry))
    experiment = registry[head.experiment]
    try:
        cfg, out = configure(experiment, argv[2:])
    except ConfigError as exc:
        sys.stderr.write(f"error: {option(exc.option)} {exc.message}\n")
        return 2
    records: list = []
    try:
        if out == "-":
            n = write_csv(_kept(experiment.run(cfg), records), sys.stdout)
        else:
            with open(out, "w", newline="") as fh:
                n = write_csv(_kept(experiment.run(cfg), records), fh)
    except Unavailable as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    for note in experiment.notes(records, cfg):
        sys.stderr.write(f"note: {note}\n")
    sys.stderr.write(f"{experiment.name}: wrote {n} records to {out}\n")
    return 0


def _kept(records, into: list):
    """Pass records through, keeping only the note records (the CLI prints what they stand for)."""
    for r in records:
        if r.run == "":
            into.append(r)
        yield r


if __name__ == "__main__":
    raise SystemExit(main())
