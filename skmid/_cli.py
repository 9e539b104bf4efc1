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


def _advantage(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1]; got {text!r}")
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
        choices=["warfarin", "steak", "digits", "faces"],
        help=(
            "a bundled audit (omit with --csv); digits and faces compare the "
            "output defenses against inversion and membership attacks"
        ),
    )
    audit.add_argument("--csv", metavar="PATH", help="audit a CSV file instead")
    audit.add_argument("--target", metavar="COL", help="target column of --csv")
    audit.add_argument("--sensitive", metavar="COL", help="sensitive column of --csv")
    audit.add_argument(
        "--task",
        choices=["auto", "regression", "classification"],
        default="auto",
        help="for --csv: chosen from the target's type by default",
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
        default=None,
        metavar="N",
        help="parallel fits (-1: every core)",
    )
    audit.add_argument(
        "--repeats",
        type=_integer(1, MAX_REPEATS),
        default=None,
        metavar="R",
        help=(
            "repeats of the 5-fold split (default 2); for digits and faces, "
            "the number of seeds (default 3)"
        ),
    )
    audit.add_argument(
        "--max-epochs",
        type=_integer(1, MAX_EPOCHS),
        default=50,
        metavar="E",
        help="digits and faces: epochs of the purifiers (default 50)",
    )
    audit.add_argument(
        "--folds", type=_integer(2), default=5, metavar="K", help=argparse.SUPPRESS
    )
    audit.add_argument(
        "--seed",
        type=_integer(0, MAX_SEED),
        default=0,
        help="seed of splits and defenses",
    )
    audit.add_argument(
        "--max-advantage",
        type=_advantage,
        default=0.02,
        metavar="A",
        help="attack-advantage budget for the recommended setting (default 0.02)",
    )
    audit.add_argument("--backend", choices=["dask"], default=None)
    audit.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address")
    audit.add_argument(
        "--data-home",
        metavar="DIR",
        help="where the steak survey or the Olivetti faces are",
    )
    audit.add_argument("--quiet", action="store_true", help="no progress or summary")
    audit.set_defaults(handler=_run_audit)
    return parser


def _run_audit(args):
    """``skmid audit``: every check first, then the audit, then the report."""
    from .audit import AuditInputError
    from .audit._report import _check_out_dir
    from .utils import import_optional_dependency

    if (args.dataset is None) == (args.csv is None):
        raise AuditInputError(
            "give a dataset (warfarin, steak, digits or faces) or --csv PATH"
        )
    if args.csv is None and (args.target or args.sensitive):
        raise AuditInputError("--target and --sensitive apply to --csv only")
    if args.csv is not None and (not args.target or not args.sensitive):
        raise AuditInputError("--csv needs --target COL and --sensitive COL")
    comparison = args.dataset in ("digits", "faces")
    if comparison and (args.backend or args.scheduler):
        raise AuditInputError("--backend and --scheduler apply to tabular audits")
    if args.scheduler and args.backend != "dask":
        raise AuditInputError("--scheduler needs --backend dask")
    repeats = args.repeats or (3 if comparison else 2)
    if comparison and args.seed + repeats - 1 > MAX_SEED:
        raise AuditInputError(
            f"--seed + --repeats - 1 must be at most {MAX_SEED} (one seed per repeat)"
        )
    # Before any work: a bad --out or a missing plotting library must not cost
    # the user a whole audit.
    default = f"audit-{args.dataset or Path(args.csv).stem}"
    out = _check_out_dir(
        default if args.out is None else args.out,
        overwrite=args.overwrite,
        name="--out",
        flag="--overwrite",
    )
    import_optional_dependency("matplotlib", extra="plot", feature="reports")
    command = "skmid " + " ".join(args.argv)
    if comparison:
        return _run_comparison(args, out, repeats, command)
    return _run_tabular(args, out, repeats, command)


def _run_tabular(args, out, repeats, command):
    """``skmid audit warfarin|steak|--csv``."""
    from .audit import (
        csv_audit,
        format_summary,
        run_audit,
        steak_audit,
        warfarin_audit,
        write_report,
    )
    from .utils._validation import check_n_splits

    if args.csv is not None:
        spec = csv_audit(
            args.csv,
            target=args.target,
            sensitive=args.sensitive,
            task=args.task,
            random_state=args.seed,
        )
    elif args.dataset == "warfarin":
        spec = warfarin_audit(random_state=args.seed)
    else:
        spec = steak_audit(data_home=args.data_home, random_state=args.seed)
    spec.select(args.defenses)
    check_n_splits(
        args.folds,
        spec.X,
        spec.y,
        stratified=spec.task == "classification",
        name="--folds",
    )
    result = run_audit(
        spec,
        cv=args.folds,
        repeats=repeats,
        n_jobs=args.n_jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.quiet,
        random_state=args.seed,
    )
    paths = write_report(
        result,
        out,
        max_advantage=args.max_advantage,
        command=command,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        print(format_summary(result, max_advantage=args.max_advantage))
        others = "report.md, results.csv, settings.json"
        print(f"report: {paths['report.html']} (and {others})")
    return 0


def _run_comparison(args, out, repeats, command):
    """``skmid audit digits|faces``: the output defenses compared, with a report."""
    from .audit import (
        AuditInputError,
        compare_output_defenses,
        comparison_defenses,
        write_comparison_report,
    )

    defenses = comparison_defenses(args.dataset, max_epochs=args.max_epochs)
    if args.defenses:
        available = {name.lower(): name for name in defenses}
        wanted = [name.lower() for name in args.defenses]
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise AuditInputError(
                f"unknown defense(s) {unknown} for the {args.dataset} audit; "
                f"choose from {sorted(defenses)}"
            )
        defenses = {available[w]: defenses[available[w]] for w in dict.fromkeys(wanted)}
    comparison = compare_output_defenses(
        args.dataset,
        data_home=args.data_home,
        seeds=range(args.seed, args.seed + repeats),
        defenses=defenses,
        max_epochs=args.max_epochs,
        attack_epochs=2 * args.max_epochs,
        progress=not args.quiet,
    )
    paths = write_comparison_report(
        comparison, out, command=command, overwrite=args.overwrite
    )
    if not args.quiet:
        print("\n".join(" | ".join(row) for row in comparison.table()))
        print(f"report: {paths['report.html']} (and report.md, reconstructions.png)")
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
