"""The examples, at reduced size."""

import runpy
from pathlib import Path

import pytest

CMI_EXAMPLE = (
    Path(__file__).resolve().parent.parent / "examples" / "cmi_defense_digits.py"
)


@pytest.mark.slow
def test_cmi_defense_digits_example(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    namespace = runpy.run_path(str(CMI_EXAMPLE))
    figure = tmp_path / "cmi.png"
    assert namespace["main"](["--out", str(figure)]) == 0
    out = capsys.readouterr().out
    assert figure.stat().st_size > 10_000
    rows = {
        line[:28].strip(): [float(value) for value in line[28:].split()]
        for line in out.splitlines()[1:]
        if line[:1].isalpha() and not line.startswith("wrote")
    }
    accuracy, cmi = rows["none"][:2]
    default = rows["CMI eps=1 T=0.05 (default)"]
    assert default[0] >= accuracy - 0.01 and default[1] < cmi
    # The label modifier keeps accuracy exactly.
    assert rows["Top label only"][0] == accuracy
    assert rows["Uniform noise 0.1 +label"][0] == accuracy
