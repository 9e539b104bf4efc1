"""Run scikit-learn's own test suites with skmid's MID estimators substituted.

    python tests/peer_suites/run.py [--suite tree|linear] [-- PYTEST_ARGS...]

The test files ship inside the installed scikit-learn wheel. Each is copied
into a temporary folder, and right after its top-level imports the name of
the stock estimator is rebound, for the whole module, to a factory of the MID
estimator at ``lam=0``::

    def DecisionTreeClassifier(**params):
        return MIDDecisionTreeClassifier(
            **{"lam": 0.0, "categorical_features": [], **params}
        )

Every other estimator of the file stays stock, and so do the tests'
references to the stock estimator made through another name (``tree.
DecisionTreeClassifier``, ``sklearn.tree._classes``). The copies then run
under pytest with scikit-learn's conftest as a plugin (its fixtures, such as
``global_random_seed``).

``known_failures.txt`` (next to this file) lists the tests that cannot apply,
each with its reason. The run fails on any other failure or error, and on a
listed test that now passes (the list must stay exact). An entry names a test
id (``test_tree.py::test_name[params]``) or a test function, which then
covers all of its parametrisations.
"""

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

HERE = Path(__file__).resolve().parent
KNOWN_FAILURES = HERE / "known_failures.txt"

#: suite name -> (test file inside the wheel, stock name, skmid import, skmid
#: name, defaults the factory sets unless the test does). The tree declares no
#: column categorical: scikit-learn's trees treat every column as numeric,
#: while the MID tree's default, the paper's ID3, treats every column as
#: categorical.
SUITES = {
    "tree": (
        "tree/tests/test_tree.py",
        "DecisionTreeClassifier",
        "skmid.tree",
        "MIDDecisionTreeClassifier",
        '"lam": 0.0, "categorical_features": []',
    ),
    "linear": (
        "linear_model/tests/test_base.py",
        "LinearRegression",
        "skmid.linear_model",
        "MIDLinearRegression",
        '"lam": 0.0',
    ),
    "logistic": (
        "linear_model/tests/test_logistic.py",
        "LogisticRegression",
        "skmid.linear_model",
        "MIDLogisticRegression",
        '"lam": 0.0',
    ),
}

SUBSTITUTION = '''

# --- skmid peer suite: the stock estimator replaced by the MID one at lam=0 ---
from {module} import {skmid_name} as _SkmidEstimator  # noqa: E402


def {stock_name}(**params):
    """``{skmid_name}`` with {defaults} unless the test sets them."""
    return _SkmidEstimator(**{{{defaults}, **params}})


'''


def substitute(source, stock_name, module, skmid_name, defaults='"lam": 0.0'):
    """``source`` with ``stock_name`` rebound after its leading imports.

    The factory goes after the last import of the module's first block of
    top-level statements that are imports (docstring and ``__future__``
    aside), so that module-level tables built from the name (``CLF_TREES``)
    hold the factory.
    """
    tree = ast.parse(source)
    end = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            end = node.end_lineno
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        else:
            break
    if end == 0:
        raise ValueError("no top-level import found to place the substitution after")
    lines = source.splitlines(keepends=True)
    block = SUBSTITUTION.format(
        stock_name=stock_name, module=module, skmid_name=skmid_name, defaults=defaults
    )
    return "".join(lines[:end]) + block + "".join(lines[end:])


def read_known_failures(path=KNOWN_FAILURES):
    """``{entry: reason}`` from the list: ``<test id or function>  # <reason>``."""
    known = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition("#")
        entry, reason = entry.strip(), reason.strip()
        if not reason:
            raise ValueError(f"{path.name}:{number}: {entry} has no reason")
        if entry in known:
            raise ValueError(f"{path.name}:{number}: {entry} is listed twice")
        known[entry] = reason
    return known


def matching_entry(test_id, known):
    """The entry of ``known`` that covers ``test_id``, or None."""
    if test_id in known:
        return test_id
    function = test_id.split("[", 1)[0]
    return function if function in known else None


def outcomes(junit_xml):
    """``{test id: "passed" | "failed" | "skipped"}`` from pytest's JUnit XML."""
    results = {}
    for case in ElementTree.parse(junit_xml).iter("testcase"):
        file = case.get("classname", "").split(".", 1)[0] + ".py"
        test_id = f"{file}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            results[test_id] = "failed"
        elif case.find("skipped") is not None:
            results.setdefault(test_id, "skipped")
        else:
            results.setdefault(test_id, "passed")
    return results


def judge(results, known):
    """Unexpected failures, and entries of ``known`` that no longer fail."""
    unexpected = sorted(
        test_id
        for test_id, outcome in results.items()
        if outcome == "failed" and matching_entry(test_id, known) is None
    )
    failing_entries = {
        matching_entry(test_id, known)
        for test_id, outcome in results.items()
        if outcome == "failed"
    }
    ran_entries = {matching_entry(test_id, known) for test_id in results}
    stale = sorted(entry for entry in known if entry in ran_entries - failing_entries)
    return unexpected, stale


def prepare(folder, suites):
    """Copy the chosen suites, substituted, into ``folder``; return the files."""
    import sklearn

    root = Path(sklearn.__file__).resolve().parent
    files = []
    for suite in suites:
        relative, stock_name, module, skmid_name, defaults = SUITES[suite]
        source = (root / relative).read_text()
        target = Path(folder) / Path(relative).name
        target.write_text(substitute(source, stock_name, module, skmid_name, defaults))
        files.append(target)
    (Path(folder) / "pytest.ini").write_text("[pytest]\n")
    return files


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--suite", choices=sorted(SUITES), action="append", help="default: all"
    )
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest")
    return parser


def main(argv=None):
    args = get_parser().parse_args(argv)
    suites = args.suite or sorted(SUITES)
    known = read_known_failures()
    with tempfile.TemporaryDirectory(prefix="skmid_peer_") as folder:
        files = prepare(folder, suites)
        junit = Path(folder) / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "sklearn.conftest",
            f"--rootdir={folder}",
            "-c",
            str(Path(folder) / "pytest.ini"),
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit1",
            "--tb=line",
            *map(str, files),
            *args.pytest_args,
        ]
        environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run(command, cwd=folder, env=environment, check=False)
        if not junit.exists():
            print("peer suites: pytest wrote no report", file=sys.stderr)
            return 2
        results = outcomes(junit)
    unexpected, stale = judge(results, known)
    n_failed = sum(outcome == "failed" for outcome in results.values())
    print(
        f"peer suites ({', '.join(suites)}): {len(results)} tests, {n_failed} "
        f"failed, {n_failed - len(unexpected)} of them listed as not applicable"
    )
    for test_id in unexpected:
        print(f"UNEXPECTED FAILURE {test_id}")
    for entry in stale:
        print(f"LISTED BUT PASSES {entry} (remove it from {KNOWN_FAILURES.name})")
    return 1 if unexpected or stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
