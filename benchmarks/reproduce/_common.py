"""Helpers shared by the reproduction scripts: arguments, splits, mean ± std tables.

Not a public module: each ``<paper>.py`` script in this folder imports it from
its own directory (Python puts a script's folder first on ``sys.path``).
"""

import argparse
import time

import numpy as np

#: Seeds of the full runs (at least 3, as the reproduction page requires).
SEEDS = (0, 1, 2)
#: Seeds of ``--quick`` runs (a smoke test of the script, not evidence).
QUICK_SEEDS = (0,)
#: Relative path of the shared data folder, from the repository root.
DATA_HOME = "../shared/data"


def parser(description):
    """An argument parser with the options every reproduction script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny settings, one seed: checks that the script runs, measures nothing",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help=f"seeds of the splits (default {' '.join(map(str, SEEDS))})",
    )
    parser.add_argument("--data-home", default=DATA_HOME)
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        help="run only these sections (default: all)",
    )
    return parser


def seeds_of(args):
    """The seeds a run uses: ``--seeds``, or one seed with ``--quick``, or SEEDS."""
    if args.seeds is not None:
        return tuple(args.seeds)
    return QUICK_SEEDS if args.quick else SEEDS


def wanted(args, section):
    """Whether ``section`` runs (``--only`` not given, or naming it)."""
    return args.only is None or section in args.only


def mean_std(values, digits=3):
    """``"m ± s"`` over seeds (population std, as GridSearchCV's ``std_*``)."""
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        return "n/a"
    if values.size == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def print_table(title, header, rows):
    """Print a plain-text table: a title, a header row and the rows."""
    print()
    print(f"== {title}")
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(header, *rows, strict=True)
    ]
    for line in [header, *rows]:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)
            )
        )


def audit_cell(result, row, key, digits=3):
    """``"mean ± std"`` of an audit row's statistic (None -> "n/a")."""
    mean, std = row.get(f"mean_{key}"), row.get(f"std_{key}")
    if mean is None:
        return "n/a"
    sign = result.spec.utility_sign if key == "test_utility" else 1.0
    return f"{sign * mean:.{digits}f} ± {std:.{digits}f}"


class Timer:
    """Prints how long a section took (on this machine, under its load)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        print(f"[{self.name}: {time.perf_counter() - self.start:.0f} s]")


#: Columns of the image comparison: (row key, header).
IMAGE_COLUMNS = (
    ("train_utility", "train acc."),
    ("test_utility", "held-out acc."),
    ("test_l1_distortion", "L1 dist."),
    ("test_l2_distortion", "L2 dist."),
    ("train_inversion_error", "inv. error"),
    ("test_shadow_accuracy", "ML-Leaks acc."),
    ("test_shadow_tpr", "ML-Leaks TPR@1%"),
    ("test_nsh_accuracy", "NSH acc."),
    ("test_label_accuracy", "label-only acc."),
)


def image_comparison(args, seeds, names, dataset="digits"):
    """Run the papers' image comparison (``skmid.audit.image_audit``) on ``names``.

    The same engine as ``skmid audit digits``, on every identity
    (``class_reconstruction=False``): a
    ``LogisticRegression(C=0.05)`` target behind each output defense, one
    per-class split per seed, the attacker's auxiliary data fixed. Every
    script that asks for a defense gets the same numbers for it (the runs are
    seeded). Prints the table and returns the :class:`AuditResult`.
    """
    from skmid.audit import comparison_defenses, image_audit, run_audit

    epochs = 2 if args.quick else 50
    available = comparison_defenses(dataset, max_epochs=epochs)
    spec = image_audit(
        dataset,
        data_home=args.data_home,
        seeds=seeds,
        defenses={name: available[name] for name in names},
        max_epochs=epochs,
        attack_epochs=2 if args.quick else 100,
        # The papers' Tables (purification II, Wen et al. I) train on every
        # class; the class-reconstruction attacks are measured by inversion.py.
        class_reconstruction=False,
    )
    result = run_audit(spec)
    rows = []
    for row in result.rows:
        line = [row["defense"]]
        for key, _ in IMAGE_COLUMNS:
            digits = 4 if "inversion" in key else 3
            line.append(audit_cell(result, row, key, digits=digits))
        rows.append(line)
    print_table(
        f"{dataset}: {spec.splits_label}; mean ± std over the {len(seeds)} seeds",
        ["defense", *(label for _, label in IMAGE_COLUMNS)],
        rows,
    )
    print(f"({spec.description})")
    return result
