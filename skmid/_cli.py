"""The ``skmid`` command line: parsing, dispatch and work kept apart.

``get_parser`` builds the argument parser; ``main`` parses ``argv``, dispatches to
the subcommand's function and returns the exit status, so tests can call
``main([...])`` in-process.
"""

import argparse
import math
import os
import sys
from pathlib import Path

from ._version import __version__

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
#: NumPy's seeds are 32-bit.
MAX_SEED = 2**32 - 1
#: Bounds that keep a typo (an extra zero or two) from a run of days or an
#: out-of-memory list of splits; raise them deliberately if ever needed.
MAX_REPEATS = 1000
MAX_EPOCHS = 100_000


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``PROG: error: MESSAGE``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(low, high=None):
    """An argparse ``type``: an int in [low, high]."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer; got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}; got {value}")
        return value

    return parse


def _n_jobs(text):
    # More workers than cores only costs memory (loky starts them all).
    cores = os.cpu_count() or 1
    value = _integer(-(2**31))(text)
    if value == 0 or value > cores:
        raise argparse.ArgumentTypeError(
            f"must be a non-zero integer up to the {cores} cores here (-1: every "
            f"core); got {value}"
        )
    return value


#: The bundled audits.
AUDITS = ["warfarin", "steak", "digits", "faces"]
#: One default per flag, whatever the audit.
DEFAULTS = {"repeats": 2, "folds": 5, "max_epochs": 50, "max_leakage": 0.02}
#: Flag -> (attribute, the audits it applies to); "csv" is --csv.
APPLIES = {
    "--target": ("target", {"csv"}),
    "--sensitive": ("sensitive", {"csv"}),
    "--task": ("task", {"csv"}),
    "--bounds-x": ("bounds_x", {"csv"}),
    "--bounds-y": ("bounds_y", {"csv"}),
    "--folds": ("folds", {"warfarin", "steak", "csv"}),
    "--max-epochs": ("max_epochs", {"digits", "faces"}),
    "--data-home": ("data_home", {"steak", "faces"}),
    "--device": ("device", {"digits", "faces"}),
}


def _finite(text):
    """An argparse ``type``: a finite float."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
    return value


def get_parser():
    """Return the argument parser of the ``skmid`` command."""
    parser = _Parser(
        prog="skmid",
        description=(
            "skmid: defenses against model inversion attacks and the attacks "
            "that measure them, as scikit-learn estimators."
        ),
    )
    parser.add_argument("--version", action="version", version=f"skmid {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    versions = subparsers.add_parser(
        "show-versions",
        help="print the versions of skmid and its dependencies",
        description="Print the versions of skmid and its dependencies.",
    )
    versions.set_defaults(handler=_run_show_versions)

    audit = subparsers.add_parser(
        "audit",
        help="privacy-utility audit of defenses on a dataset, with a report",
        description=(
            "Run a privacy-utility audit: every defense over its grid, scored by "
            "cross-validated utility and attack success; writes report.md, "
            "report.html, plots, results.csv and settings.json."
        ),
    )
    audit.add_argument(
        "dataset",
        nargs="?",
        choices=list(AUDITS),
        help=(
            "a bundled audit (omit with --csv); digits and faces compare the "
            "output defenses against inversion and membership attacks"
        ),
    )
    audit.add_argument(
        "--list",
        action="store_true",
        help="print the defenses and attacks of each audit (or of DATASET) and stop",
    )
    audit.add_argument("--csv", metavar="PATH", help="audit a CSV file instead")
    audit.add_argument("--target", metavar="COL", help="target column of --csv")
    audit.add_argument("--sensitive", metavar="COL", help="sensitive column of --csv")
    audit.add_argument(
        "--task",
        choices=["auto", "regression", "classification"],
        help="for --csv: chosen from the target's type by default (auto)",
    )
    audit.add_argument(
        "--bounds-x",
        nargs=2,
        type=_finite,
        metavar=("LOW", "HIGH"),
        help=(
            "for a --csv regression: bounds of every numeric feature, known "
            "without the data (with --bounds-y, AdaSSP is differentially "
            "private; without, its row says 'not DP: bounds from the data')"
        ),
    )
    audit.add_argument(
        "--bounds-y",
        nargs=2,
        type=_finite,
        metavar=("LOW", "HIGH"),
        help="for a --csv regression: bounds of the target (with --bounds-x)",
    )
    audit.add_argument(
        "--defenses", nargs="+", metavar="NAME", help="run only these defenses"
    )
    audit.add_argument(
        "--out",
        metavar="DIR",
        help=(
            "report folder (default: audit-NAME); a folder holding other files "
            "is refused unless --overwrite"
        ),
    )
    audit.add_argument(
        "--overwrite",
        action="store_true",
        help=(
            "write into a --out folder that holds files skmid did not write "
            "(they are kept; the report's own files are replaced)"
        ),
    )
    audit.add_argument(
        "--n-jobs",
        type=_n_jobs,
        metavar="N",
        help="parallel fits (-1: every core)",
    )
    audit.add_argument(
        "--repeats",
        type=_integer(1, MAX_REPEATS),
        metavar="R",
        help=(
            f"repeats of the cross-validation split; for digits and faces, the "
            f"number of seeds (default {DEFAULTS['repeats']}; the papers and "
            "skmid's evidence use 3)"
        ),
    )
    audit.add_argument(
        "--max-epochs",
        type=_integer(1, MAX_EPOCHS),
        metavar="E",
        help=(
            "digits and faces: epochs of the purifiers (default "
            f"{DEFAULTS['max_epochs']})"
        ),
    )
    audit.add_argument(
        "--device",
        metavar="DEVICE",
        help=(
            "digits and faces: torch device of the networks the audit trains "
            "and attacks through, e.g. cuda (default cpu)"
        ),
    )
    audit.add_argument(
        "--folds",
        type=_integer(2),
        metavar="K",
        help=f"warfarin, steak, --csv: folds per repeat (default {DEFAULTS['folds']})",
    )
    audit.add_argument(
        "--seed",
        type=_integer(0, MAX_SEED),
        default=0,
        help="seed of splits and defenses",
    )
    audit.add_argument(
        "--max-leakage",
        type=_finite,
        metavar="L",
        help=(
            "budget of the recommended setting on the audit's budget attack, "
            "in its metric's units (an advantage for warfarin, steak and --csv: "
            "the largest acceptable value; an inversion error for digits and "
            "faces: the smallest acceptable value; default "
            f"{DEFAULTS['max_leakage']})"
        ),
    )
    audit.add_argument(
        "--backend", choices=["dask"], help="run the fits on a Dask cluster"
    )
    audit.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address")
    audit.add_argument(
        "--data-home",
        metavar="DIR",
        help="steak and faces: where the steak survey or the Olivetti faces are",
    )
    audit.add_argument("--quiet", action="store_true", help="no progress or summary")
    audit.set_defaults(handler=_run_audit)
    return parser


def _check_flags(args, audit):
    """A flag given for an audit it does not apply to is an error, not ignored."""
    name = "--csv" if audit == "csv" else audit
    for flag, (attribute, audits) in APPLIES.items():
        if getattr(args, attribute) is not None and audit not in audits:
            where = ", ".join("--csv" if a == "csv" else a for a in sorted(audits))
            raise _flag_error(
                f"{flag} does not apply to the {name} audit (only to {where})"
            )
    if args.scheduler and args.backend != "dask":
        raise _flag_error("--scheduler needs --backend dask")
    if audit == "csv" and (not args.target or not args.sensitive):
        raise _flag_error("--csv needs --target COL and --sensitive COL")
    if (args.bounds_x is None) != (args.bounds_y is None):
        raise _flag_error("--bounds-x and --bounds-y go together")


def _set_defaults(args):
    """Fill the flags left out with their defaults (one per flag)."""
    for key, value in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def _flag_error(message):
    from .audit import AuditInputError

    return AuditInputError(message)


def _run_audit(args):
    """``skmid audit``: every check first, then the audit, then the report."""
    from .audit import check_report_folder
    from .utils import import_optional_dependency

    if args.list:
        return _run_list(args)
    if (args.dataset is None) == (args.csv is None):
        raise _flag_error(
            "give a dataset (warfarin, steak, digits or faces) or --csv PATH"
        )
    audit = "csv" if args.csv is not None else args.dataset
    _check_flags(args, audit)
    _set_defaults(args)
    if audit in ("digits", "faces") and args.seed + args.repeats - 1 > MAX_SEED:
        raise _flag_error(
            f"--seed + --repeats - 1 must be at most {MAX_SEED} (one seed per repeat)"
        )
    # Before any work: a bad --out or a missing plotting library must not cost
    # the user a whole audit.
    default = f"audit-{args.dataset or Path(args.csv).stem}"
    out = check_report_folder(
        default if args.out is None else args.out,
        overwrite=args.overwrite,
        name="--out",
        flag="--overwrite",
    )
    import_optional_dependency("matplotlib", extra="plot", feature="reports")
    command = "skmid " + " ".join(args.argv)
    return _run_spec(args, audit, out, command)


def _spec(args, audit):
    """The audit's specification, from the command's arguments."""
    from .audit import csv_audit, image_audit, steak_audit, warfarin_audit

    if audit in ("digits", "faces"):
        return image_audit(
            audit,
            data_home=args.data_home,
            seeds=range(args.seed, args.seed + args.repeats),
            max_epochs=args.max_epochs,
            attack_epochs=2 * args.max_epochs,
            device=args.device or "cpu",
        )
    if audit == "csv":
        return csv_audit(
            args.csv,
            target=args.target,
            sensitive=args.sensitive,
            task=args.task or "auto",
            bounds_x=args.bounds_x,
            bounds_y=args.bounds_y,
            random_state=args.seed,
        )
    if audit == "warfarin":
        return warfarin_audit(random_state=args.seed)
    return steak_audit(data_home=args.data_home, random_state=args.seed)


def _run_list(args):
    """``skmid audit --list [DATASET]``: the defenses and attacks.

    No audit runs; building a specification fits the attacks' background
    knowledge (the image audits' inversion model and VAE prior: seconds).
    """
    if args.csv is not None:
        raise _flag_error("--list takes a bundled dataset or none, not --csv")
    if args.dataset is not None:
        _check_flags(args, args.dataset)
    _set_defaults(args)
    lines = []
    for audit in [args.dataset] if args.dataset else AUDITS:
        try:
            spec = _spec(args, audit)
        except (OSError, ValueError) as error:
            lines += [f"{audit}: not listed ({error})", ""]
            continue
        lines += [*spec.describe(), ""]
    if args.dataset is None:
        lines.append(
            "--csv: the warfarin defenses for a numeric target (MID's grid in "
            "units of its variance), the steak defenses for a categorical one"
        )
    print("\n".join(lines).rstrip())
    return 0


def _run_spec(args, audit, out, command):
    """Build the audit's specification, run it, write the report."""
    import warnings

    from .audit import format_summary, run_audit, write_report
    from .utils._validation import check_n_splits

    spec = _spec(args, audit)
    spec.select(args.defenses)
    spec.check_budget(args.max_leakage)
    if spec.splitter is None:
        check_n_splits(
            args.folds,
            spec.X,
            spec.y,
            stratified=spec.task == "classification",
            name="--folds",
        )
    with warnings.catch_warnings():
        # The faces' shadow copies see about two images per person, so
        # scikit-learn finds the labels regression-like and the CMI defense's
        # reference rows miss classes: expected here, not the user's to fix.
        for message in ("The number of unique classes", "Classes .* have no rows"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        # An image audit's seeds are its repeats; its splits are its own.
        splits = {} if spec.splitter is not None else {"cv": args.folds}
        result = run_audit(
            spec,
            **splits,
            repeats=None if spec.splitter is not None else args.repeats,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            progress=not args.quiet,
            random_state=args.seed,
        )
        paths = write_report(
            result,
            out,
            max_leakage=args.max_leakage,
            command=command,
            overwrite=args.overwrite,
        )
    if not args.quiet:
        print(format_summary(result, max_leakage=args.max_leakage))
        others = ", ".join(sorted(name for name in paths if name != "report.html"))
        print(f"report: {paths['report.html']} (and {others})")
    return 0


def _run_show_versions(args):
    from ._show_versions import show_versions

    show_versions()
    return 0


def main(argv=None):
    """Run the ``skmid`` command with ``argv`` (default ``sys.argv[1:]``).

    Never raises: bad input is one line ``skmid COMMAND: error: ...`` on
    stderr and status 2, Ctrl-C is ``skmid COMMAND: interrupted`` and status
    130 (any report folder keeps its previous, complete report).

    Returns
    -------
    status : int
        The process exit status.
    """
    parser = get_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version and parse errors
        return exit.code if isinstance(exit.code, int) else 2
    args.argv = argv
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    prog = f"skmid {args.command}"
    try:
        return handler(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except (ValueError, OSError, ImportError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
