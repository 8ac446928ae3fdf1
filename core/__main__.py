"""The headless runner: `python -m core run EXPERIMENT [--field value ...] --out F.csv`.

Options come from the experiment's Config fields. A bad option prints one line naming it and
what it accepts, and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, allowed, apply_preset, format_value, from_strings, label, specs
from .experiments import EXPERIMENTS
from .records import write_csv


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are a single line on stderr and exit code 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser(experiment) -> OneLineParser:
    """The option parser of one experiment, derived from its Config fields."""
    p = OneLineParser(prog=f"python -m core run {experiment.NAME}",
                      description=(experiment.__doc__ or "").strip().splitlines()[0])
    p.add_argument("--preset", choices=list(experiment.PRESETS), help="start from a named preset")
    p.add_argument("--out", default="-", help="CSV file to write (default: standard output)")
    for f in specs(experiment.Config):
        flag = {"nargs": "?", "const": "true"} if isinstance(f.default, bool) else {}  # `--net` alone means true
        p.add_argument(option(f.name), dest=f.name, metavar=f.name.upper(), **flag,
                       help=f"{label(f)}: {f.metadata['help']} ({allowed(f)}; default {format_value(f.default)})")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top = OneLineParser(prog="python -m core")
    top.add_argument("command", choices=["run"])
    top.add_argument("experiment", choices=list(EXPERIMENTS))
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return 0 if argv else 2
    head = top.parse_args(argv[:2])
    experiment = EXPERIMENTS[head.experiment]
    args = build_parser(experiment).parse_args(argv[2:])
    given = {f.name: getattr(args, f.name) for f in specs(experiment.Config) if getattr(args, f.name) is not None}
    try:
        base = apply_preset(experiment.Config, experiment.PRESETS, args.preset) if args.preset else None
        cfg = from_strings(experiment.Config, given, base)
        if hasattr(experiment, "check"):
            experiment.check(cfg)  # checks that need the data
    except ConfigError as exc:
        sys.stderr.write(f"error: {option(exc.option)} {exc.message}\n")
        return 2
    notes: list[str] = []
    records = experiment.run(cfg, notes)
    if args.out == "-":
        n = write_csv(records, sys.stdout)
    else:
        with open(args.out, "w", newline="") as fh:
            n = write_csv(records, fh)
    for note in notes:
        sys.stderr.write(f"note: {note}\n")
    sys.stderr.write(f"{experiment.NAME}: wrote {n} records to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
