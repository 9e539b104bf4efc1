"""The README's main job, examples/warfarin_tradeoff.py, at reduced size."""

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "warfarin_tradeoff.py"


@pytest.mark.slow
def test_warfarin_tradeoff_example(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    namespace = runpy.run_path(str(EXAMPLE))
    figure = tmp_path / "tradeoff.png"
    assert namespace["main"](["--repeats", "1", "--out", str(figure)]) == 0
    out = capsys.readouterr().out
    assert figure.stat().st_size > 10_000
    rows = {
        tuple(line.split()[:2]): float(line.split()[-1])
        for line in out.splitlines()
        if line.startswith(("MID ", "AdaSSP "))
    }
    # the strongest MID setting brings the attack down to about the prior
    assert rows[("MID", "lam=1000")] < rows[("MID", "lam=0")] - 0.1
