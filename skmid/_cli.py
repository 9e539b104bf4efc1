"""The ``skmid`` command line: parsing, dispatch and work kept apart.

``get_parser`` builds the argument parser; ``main`` parses ``argv``, dispatches to
the subcommand's function and returns the exit status, so tests can call
``main([...])`` in-process.
"""

import argparse
import sys

from ._version import __version__


def get_parser():
    """Return the argument parser of the ``skmid`` command."""
    parser = argparse.ArgumentParser(
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
        "--out", metavar="DIR", help="report folder (default: audit-NAME)"
    )
    audit.add_argument("--n-jobs", type=int, default=None, metavar="N")
    audit.add_argument(
        "--repeats",
        type=int,
        default=None,
        metavar="R",
        help=(
            "repeats of the 5-fold split (default 2); for digits and faces, "
            "the number of seeds (default 3)"
        ),
    )
    audit.add_argument(
        "--max-epochs",
        type=int,
        default=50,
        metavar="E",
        help="digits and faces: epochs of the purifiers (default 50)",
    )
    audit.add_argument(
        "--folds", type=int, default=5, metavar="K", help=argparse.SUPPRESS
    )
    audit.add_argument(
        "--seed", type=int, default=0, help="seed of splits and defenses"
    )
    audit.add_argument(
        "--max-advantage",
        type=float,
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
    from .audit import (
        AuditInputError,
        csv_audit,
        format_summary,
        run_audit,
        steak_audit,
        warfarin_audit,
        write_report,
    )

    try:
        if (args.dataset is None) == (args.csv is None):
            raise AuditInputError(
                "give a dataset (warfarin, steak, digits or faces) or --csv PATH"
            )
        if args.repeats is not None and args.repeats < 1:
            raise AuditInputError("--repeats must be at least 1")
        if args.dataset in ("digits", "faces"):
            return _run_comparison(args)
        if args.csv is not None:
            if not args.target or not args.sensitive:
                raise AuditInputError("--csv needs --target COL and --sensitive COL")
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
        if args.scheduler and args.backend != "dask":
            raise AuditInputError("--scheduler needs --backend dask")
        spec.select(args.defenses)
        result = run_audit(
            spec,
            cv=args.folds,
            repeats=2 if args.repeats is None else args.repeats,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            progress=not args.quiet,
            random_state=args.seed,
        )
        out = args.out or f"audit-{spec.name}"
        paths = write_report(
            result,
            out,
            max_advantage=args.max_advantage,
            command="skmid " + " ".join(args.argv),
        )
    except (AuditInputError, FileNotFoundError, ImportError) as error:
        print(f"skmid audit: error: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(format_summary(result, max_advantage=args.max_advantage))
        others = "report.md, results.csv, settings.json"
        print(f"report: {paths['report.html']} (and {others})")
    return 0


def _run_comparison(args):
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
    repeats = 3 if args.repeats is None else args.repeats
    comparison = compare_output_defenses(
        args.dataset,
        data_home=args.data_home,
        seeds=range(args.seed, args.seed + repeats),
        defenses=defenses,
        max_epochs=args.max_epochs,
        attack_epochs=2 * args.max_epochs,
        progress=not args.quiet,
    )
    out = args.out or f"audit-{args.dataset}"
    paths = write_comparison_report(
        comparison, out, command="skmid " + " ".join(args.argv)
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

    Returns
    -------
    status : int
        The process exit status.
    """
    parser = get_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    return handler(args)
