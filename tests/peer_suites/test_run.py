"""The peer-suite runner: substitution, the list of exceptions, the verdict."""

import ast
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "peer_suites_run", Path(__file__).with_name("run.py")
)
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)

SOURCE = '''"""Doc."""

import numpy as np
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
)

TREES = {"DecisionTreeClassifier": DecisionTreeClassifier}


def test_a():
    assert DecisionTreeClassifier().lam == 0.0
'''


def test_substitution_rebinds_the_name_after_the_imports():
    substituted = run.substitute(
        SOURCE, "DecisionTreeClassifier", "skmid.tree", "MIDDecisionTreeClassifier"
    )
    ast.parse(substituted)
    namespace = {}
    exec(compile(substituted, "test_x.py", "exec"), namespace)
    made = namespace["TREES"]["DecisionTreeClassifier"](max_depth=2)
    assert type(made).__name__ == "MIDDecisionTreeClassifier"
    assert made.lam == 0.0 and made.max_depth == 2
    # the test may set lam; the other stock estimators stay stock
    assert namespace["DecisionTreeClassifier"](lam=1.0).lam == 1.0
    assert namespace["DecisionTreeRegressor"].__module__.startswith("sklearn")


def test_known_failures_need_a_reason(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("# comment\n\ntest_a.py::test_x  # why\n")
    assert run.read_known_failures(listed) == {"test_a.py::test_x": "why"}
    listed.write_text("test_a.py::test_x\n")
    with pytest.raises(ValueError, match="no reason"):
        run.read_known_failures(listed)


def test_checked_in_list_is_well_formed():
    known = run.read_known_failures()
    assert known and all(
        entry.split("::")[0] in {"test_tree.py", "test_base.py", "test_logistic.py"}
        for entry in known
    )


def test_verdict_flags_unlisted_failures_and_stale_entries():
    known = {"t.py::test_f": "why", "t.py::test_g[1]": "why", "t.py::test_h": "why"}
    results = {
        "t.py::test_f[a]": "failed",
        "t.py::test_f[b]": "passed",
        "t.py::test_g[1]": "passed",
        "t.py::test_k": "failed",
    }
    unexpected, stale = run.judge(results, known)
    assert unexpected == ["t.py::test_k"]
    # test_h did not run (another suite): not stale
    assert stale == ["t.py::test_g[1]"]


def test_logistic_suite_rebinds_only_logistic_regression(tmp_path):
    # LogisticRegressionCV stays stock: the factory rebinds the one name
    (path,) = run.prepare(tmp_path, ["logistic"])
    source = path.read_text()
    ast.parse(source)
    tree = ast.parse(run.substitute("import os\n", *run.SUITES["logistic"][1:]))
    namespace = {}
    exec(compile(tree, "test_x.py", "exec"), namespace)
    made = namespace["LogisticRegression"](C=2.0, solver="saga")
    assert type(made).__name__ == "MIDLogisticRegression"
    assert (made.lam, made.C, made.solver) == (0.0, 2.0, "saga")
    assert source.count("def LogisticRegression(**params)") == 1
    assert "def LogisticRegressionCV" not in source
