"""examples/vib_digits.py at reduced size: VIB over lam against DP-SGD."""

import runpy
from pathlib import Path

import pytest

pytest.importorskip("opacus")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vib_digits.py"


@pytest.mark.slow
def test_vib_against_dpsgd_on_digits(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    namespace = runpy.run_path(str(EXAMPLE))
    figure = tmp_path / "vib.png"
    assert namespace["main"](["--epochs", "15", "--out", str(figure)]) == 0
    out = capsys.readouterr().out
    print(out)
    assert figure.stat().st_size > 10_000
    rows = {
        tuple(line.split()[:2]): [float(v) for v in line.split()[2:]]
        for line in out.splitlines()
        if line.startswith(("VIB ", "DP-SGD "))
    }
    accuracy = {key: values[0] for key, values in rows.items()}
    cmi = {key: values[2] for key, values in rows.items()}
    # Rising lam lowers the output CMI, at little cost until lam is large.
    assert cmi[("VIB", "lam=0.3")] < cmi[("VIB", "lam=0")] - 0.03
    assert accuracy[("VIB", "lam=0.01")] > accuracy[("VIB", "lam=0")] - 0.03
    # DP-SGD at its best accuracy still leaves more output CMI than VIB at
    # a comparable or better accuracy.
    best_dp = max((k for k in rows if k[0] == "DP-SGD"), key=accuracy.get)
    comparable = [k for k in rows if k[0] == "VIB" and accuracy[k] >= accuracy[best_dp]]
    assert min(cmi[k] for k in comparable) < cmi[best_dp]
    # The budget is respected.
    assert all(
        rows[k][-1] <= float(k[1].split("=")[1]) + 1e-6
        for k in rows
        if k[0] == "DP-SGD"
    )
