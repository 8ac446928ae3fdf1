"""The headless runner: `python -m core run EXPERIMENT [--field value ...] --out F.csv`,
`python -m core list` for the experiments it knows (the registry, core.experiments.LESSONS),
`python -m core claims LESSON [--preset P] [--seeds 0,1,2,3,4] [--controls]`, which checks a lesson's claims
(and, with --controls, that each fails where it must), and
`python -m core export EXPERIMENT [--field value ...] --out run.py`, which writes the run as one
standalone PyTorch script (core.export; the options are the run command's).

Options come from the experiment's Config fields. A bad option prints one line naming it and
what it accepts, and exits with code 2; something the run needs from the internet and cannot
get is one line and exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

INTERRUPTED = 130


def interrupted_exit(message: str | None = "interrupted") -> None:
    """Leave with code 130 after Ctrl-C, always. CPython 3.11 remembers a KeyboardInterrupt that stopped
    an exec'd string (torch's lazy imports build dataclasses that way during the first steps) and then
    kills the process with SIGINT at exit, though the interrupt was handled: the code came out as -2 now
    and then. os._exit skips that; stdout and stderr are flushed first, and nothing else is left open."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if message:
        with contextlib.suppress(Exception):
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
    os._exit(INTERRUPTED)


try:  # importing torch takes seconds: Ctrl-C then is one line, not a traceback
    from .claims import SEEDS, check_seeds, tally
    from .config import ConfigError, allowed, apply_preset, format_value, from_strings, label, specs
    from .data import Unavailable
    from .experiment import Experiment
    from .experiments import LESSONS, experiments
    from .records import write_csv
except KeyboardInterrupt:
    if __name__ == "__main__":
        interrupted_exit()
    raise


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are a single line on stderr and exit code 2, an option's name must be
    spelt out (`--batch-size` is not taken for `--batch-sizes`), and no option may be given twice."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def add_argument(self, *args, **kwargs):
        if args and args[0].startswith("--") and kwargs.get("action") is None:
            kwargs["action"] = Once
        return super().add_argument(*args, **kwargs)

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


class Once(argparse._StoreAction):
    """Store an option's value, refusing a second one (argparse would keep the last silently)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = getattr(namespace, "_given", set())
        if self.dest in seen:
            parser.error(f"{option_string} was given more than once")
        namespace._given = seen | {self.dest}
        super().__call__(parser, namespace, values, option_string)


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser(experiment: Experiment) -> OneLineParser:
    """The option parser of one experiment, derived from its Config fields."""
    p = OneLineParser(prog=f"python -m core run {experiment.name}", description=experiment.summary)
    if experiment.presets:
        p.add_argument("--preset", choices=list(experiment.presets), help="start from a named preset")
    p.add_argument("--out", default="-", help="CSV file to write (default: standard output)")
    if experiment.seeded:
        p.add_argument("--seeds", help=f"comma-separated seeds, 1 to {MAX_SEEDS}: the run on each, its runs named "
                                       "<run>@seed<k> (replaces --seed)")
    for f in specs(experiment.config):
        flag = {"nargs": "?", "const": "true"} if isinstance(f.default, bool) else {}  # `--fair` alone means true
        text = f.metadata["help"]
        named = text if text.startswith(f"{label(f)}:") else f"{label(f)}: {text}"  # "β₁: β₁: …" once
        p.add_argument(option(f.name), dest=f.name, metavar=f.name.upper(), **flag,
                       help=f"{named} ({allowed(f)}; default {format_value(f.default)})")
    return p


MAX_SEEDS = 10


def parse_seeds(text: str | None, most: int = MAX_SEEDS) -> list[int] | None:
    """`--seeds 0,1,2`: distinct whole numbers in the seed's range; raise ConfigError otherwise."""
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError("seeds", f"must be whole numbers separated by commas (got {text[:80]!r})") from None
    if not 1 <= len(seeds) <= most or len(set(seeds)) != len(seeds) or any(not 0 <= s < 2**31 for s in seeds):
        raise ConfigError("seeds", f"takes 1 to {most} distinct seeds between 0 and 2147483647 "
                                   f"(got {text[:80]!r})")
    return seeds


def list_experiments(out=None) -> None:
    """One line per experiment: its name, its lesson and what it does."""
    out = out or sys.stdout
    for lesson in LESSONS:
        for e in lesson.experiments:
            out.write(f"{e.name:<16} {lesson.title}: {e.summary}\n")


def configure(experiment: Experiment, argv: list[str]):
    """The config the options describe, or raise ConfigError; also the --out value and the --seeds (or None)."""
    args = build_parser(experiment).parse_args(argv)
    seeds = parse_seeds(args.seeds) if experiment.seeded else None  # transfer's --seeds is its own field
    if seeds is not None and args.seed is not None:
        raise ConfigError("seeds", "replaces --seed: give one of them")
    given = {f.name: getattr(args, f.name) for f in specs(experiment.config) if getattr(args, f.name) is not None}
    preset = getattr(args, "preset", None)
    base = apply_preset(experiment.config, experiment.presets, preset) if preset else None
    cfg = from_strings(experiment.config, given, base)
    experiment.validate(cfg)  # checks that need the data
    return cfg, args.out, seeds


def claims_command(argv: list[str]) -> int:
    """Check a lesson's (or one experiment's) claims on several seeds, and with --controls on the settings
    where each is declared false; print a table; exit 1 when a claim fails on more seeds than it allows,
    or holds on a control on more than 30% of them."""
    registry = experiments()
    names = [lesson.name for lesson in LESSONS] + [n for n in registry if n not in {x.name for x in LESSONS}]
    p = OneLineParser(prog="python -m core claims", description=claims_command.__doc__)
    p.add_argument("lesson", choices=names)
    p.add_argument("--preset", help="check only the claims about this preset ('default' for the default)")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated seeds (default 0,1,2,3,4)")
    p.add_argument("--controls", action="store_true", help="also run each claim's controls, where it must fail")
    args = p.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds, most=50)
    except ConfigError as exc:
        p.error(f"--seeds {exc.message}")
    lesson = next((x for x in LESSONS if x.name == args.lesson), None)
    chosen = lesson.experiments if lesson else (registry[args.lesson],)
    ok, shown = True, 0
    sys.stdout.write("experiment\tclaim\tsetting\tseed\tholds\tevidence\n")
    for exp in chosen:
        claims = [c for c in exp.claims if args.preset is None or (c.preset or "default") == args.preset]
        checks = []
        for check in check_seeds(exp, claims, seeds, controls=args.controls):
            checks.append(check)
            c = check.claim
            setting = check.control.label(c) if check.control else (c.preset or "default")
            evidence = check.verdict.evidence if check.verdict else "the run does not record what this claim measures"
            sys.stdout.write(f"{exp.name}\t{c.id}\t{'control: ' if check.control else ''}{setting}\t{check.seed}\t"
                             f"{'yes' if check.holds else 'NO'}\t{evidence}\n")
            sys.stdout.flush()
            shown += 1
        for t in tally(checks):
            controls = "; ".join(f"control {c.label(t.claim)}: holds on {n}" for c, n in
                                 zip(t.claim.controls, t.control_held, strict=False))
            sys.stderr.write(f"{'ok  ' if t.ok else 'FAIL'} {exp.name}/{t.claim.id}: holds on {t.held} of {t.seeds} "
                             f"seeds ({t.claim.allowed_failures(t.seeds)} failures allowed)"
                             + (f"; {controls} (at most {t.claim.allowed_on_control(t.seeds)} allowed)"
                                if controls else "") + "\n")
            ok = ok and t.ok
    if not shown:
        sys.stderr.write(f"no claims to check for {args.lesson}" + (f" --preset {args.preset}" if args.preset else "")
                         + "\n")
        return 2
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    registry = experiments()
    if argv and argv[0] == "claims":
        return claims_command(argv[1:])
    top = OneLineParser(prog="python -m core",
                        description="list: the experiments; run: one of them, as CSV; claims: check a lesson's claims; "
                                    "export: a run as a standalone PyTorch script.")
    top.add_argument("command", choices=["list", "run", "claims", "export"])
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
        cfg, out, seeds = configure(experiment, argv[2:])
    except ConfigError as exc:
        sys.stderr.write(f"error: {option(exc.option)} {exc.message}\n")
        return 2
    if head.command == "export":
        return export_command(experiment, cfg, out, seeds)
    run = experiment.run(cfg) if seeds is None else experiment.over_seeds(cfg, seeds)
    records: list = []
    try:
        partial = None if out == "-" else Partial(out)  # a bad --out fails now, before any training
    except OSError as exc:
        sys.stderr.write(f"error: --out {out}: {exc.strerror or exc}\n")
        return 2
    try:
        if partial is None:
            n = write_csv(_kept(run, records), sys.stdout)
        else:
            with partial.file as fh:
                n = write_csv(_kept(run, records), fh)
            partial.commit()
    except Unavailable as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except ConfigError as exc:  # a check only the loaded data could make (after a fallback)
        sys.stderr.write(f"error: {option(exc.option)} {exc.message}\n")
        return 2
    except KeyboardInterrupt:
        kept = "standard output has the records so far" if partial is None else f"{out} is as it was"
        sys.stderr.write(f"interrupted: {kept}\n")
        return INTERRUPTED
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a late write error (disk full): the old file stays
        sys.stderr.write(f"error: could not write {out}: {exc.strerror or exc}\n")
        return 1
    finally:
        if partial is not None:
            partial.discard()
    for note in experiment.notes(records, cfg):
        sys.stderr.write(f"note: {note}\n")
    sys.stderr.write(f"{experiment.name}: wrote {n} records to {out}\n")
    return 0


def export_command(experiment: Experiment, cfg, out: str, seeds: list[int] | None = None) -> int:
    """Write the run as a standalone script (to standard output for `--out -`), atomically."""
    from .export import NotExportable, script

    try:
        text = script(experiment, cfg, None if out == "-" else Path(out).name, seeds)
    except NotExportable as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if out == "-":
        sys.stdout.write(text)
        return 0
    try:
        partial = Partial(out)
        with partial.file as fh:
            fh.write(text)
        partial.commit()
    except OSError as exc:
        sys.stderr.write(f"error: --out {out}: {exc.strerror or exc}\n")
        return 2
    finally:
        with contextlib.suppress(NameError):
            partial.discard()
    sys.stderr.write(f"{experiment.name}: wrote a PyTorch script to {out} (run it: python {out} --out run.csv)\n")
    return 0


class Partial:
    """A CSV being written next to its final name, moved over it only when complete, so an
    interrupted or failed run leaves the old file as it was and no half-written one."""

    def __init__(self, out: str):
        target = Path(out)
        if target.is_dir():
            raise IsADirectoryError(21, "is a folder, not a file")
        folder = target.parent
        if not folder.is_dir():
            raise FileNotFoundError(2, f"the folder {folder} does not exist")
        fd, self.tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
        self.file = os.fdopen(fd, "w", newline="")
        self.target, self.done = target, False

    def commit(self) -> None:
        os.replace(self.tmp, self.target)
        self.done = True

    def discard(self) -> None:
        if not self.done:
            self.file.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)


def _kept(records, into: list):
    """Pass records through, keeping only the note records (the CLI prints what they stand for)."""
    for r in records:
        if r.run == "":
            into.append(r)
        yield r


if __name__ == "__main__":
    try:
        code = main()
    except KeyboardInterrupt:  # outside a run: while parsing, listing, checking claims or exporting
        interrupted_exit()
    if code == INTERRUPTED:  # main has said what it kept
        interrupted_exit(None)
    raise SystemExit(code)
