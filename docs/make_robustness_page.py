"""Regenerate ``docs/robustness.rst`` from the catalogue of bad inputs.

Runs every case of ``tests/bad_inputs.py`` (the cases ``tests/test_bad_inputs.py``
runs in CI) and writes the counts of each outcome, per subpackage and in total::

    python docs/make_robustness_page.py

Takes a few minutes on 2 cores.
"""

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bad_inputs import (  # noqa: E402
    CASE_TIME_LIMIT,
    OUTCOMES,
    all_cases,
    public_objects,
    run_case,
)

PAGE = ROOT / "docs" / "robustness.rst"

HEADER = """\
.. This page is written by docs/make_robustness_page.py; do not edit by hand.

Robustness
==========

An audit that hangs, or that reports "no leakage" because one input was NaN, is
worse than no audit. Every public class and function of skmid is therefore run
against a catalogue of bad inputs (``tests/bad_inputs.py``, run in CI by
``tests/test_bad_inputs.py``): NaN, infinity and 1e300 in the data, empty
data, a single row, a single class, strings, sparse matrices, DataFrames with
object columns, the wrong number of features at predict, rows that are not
probability vectors, labels of the wrong shape, and every numeric
hyperparameter set to -1, 0, NaN, 1e300 and 1e-300 (an unknown option for
string ones, ``(0,)`` for layer sizes). The targets are discovered, not listed:
a new estimator or attack is probed as soon as it is public, and a new public
function must come with a valid call to spoil.

Each case must end in one of two ways:

- **clear error**: a ``ValueError`` or ``TypeError`` whose message names the
  argument (a ``FileNotFoundError`` naming the path for a missing file);
- **valid result**: everything returned is finite and probability rows are on
  the simplex, for an input where a result is acceptable.

A result counts as a **silent wrong result** when it holds NaN or infinity,
leaves the simplex, or answers an input that must be refused (NaN given to an
estimator that does not declare ``allow_nan``, mismatched lengths, a wrong
number of features, rows that are not probability vectors, a NaN
hyperparameter). Any other exception (``ZeroDivisionError``, ``OverflowError``,
``LinAlgError``, numpy's ``UFuncTypeError``, an error that does not say what
was wrong) is a **generic error**, and a case that runs past {limit:g} seconds is
a **hang**.

"""


def _table(rows, header):
    widths = [
        max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))
    ]
    rule = "  ".join("=" * w for w in widths)
    lines = [
        rule,
        "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)),
        rule,
    ]
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.append(rule)
    return "\n".join(line.rstrip() for line in lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PAGE)
    args = parser.parse_args(argv)

    subpackage_of = {name: sub for sub, name, _ in public_objects()}
    results = []
    for case in all_cases():
        results.append(run_case(case))
        print(f"{results[-1].outcome:20s} {case.id}", flush=True)

    by_subpackage = collections.defaultdict(collections.Counter)
    for result in results:
        by_subpackage[subpackage_of.get(result.case.target, "?")][result.outcome] += 1
    totals = collections.Counter(result.outcome for result in results)
    header = ["subpackage", "targets", "cases", *OUTCOMES]
    rows = []
    for sub in sorted(by_subpackage):
        counts = by_subpackage[sub]
        targets = {
            r.case.target for r in results if subpackage_of.get(r.case.target) == sub
        }
        rows.append(
            [sub, len(targets), sum(counts.values()), *(counts[o] for o in OUTCOMES)]
        )
    rows.append(
        [
            "**all**",
            len({r.case.target for r in results}),
            len(results),
            *(totals[o] for o in OUTCOMES),
        ]
    )
    failures = [r for r in results if r.outcome not in ("clear error", "valid result")]
    text = HEADER.format(limit=CASE_TIME_LIMIT)
    text += "Counts\n------\n\n" + _table(rows, header) + "\n\n"
    if failures:
        text += (
            "Cases that fail\n---------------\n\n"
            + "\n".join(
                f"- ``{r.case.id}``: {r.outcome} ({r.detail})" for r in failures
            )
            + "\n"
        )
    else:
        text += (
            f"All {len(results)} cases end in a clear error or a valid result: "
            "zero generic errors, zero silent wrong results, zero hangs.\n"
        )
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {dict(totals)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
