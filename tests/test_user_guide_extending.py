"""The worked example of the user guide's "How skmid fits together" page runs."""

import re
import textwrap
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "user_guide" / "extending.rst"


def literal_blocks(text):
    """The ``::`` literal blocks of an rst page, dedented, in order."""
    blocks = []
    for match in re.finditer(r"::\n\n((?:(?:[ ]{4}.*)?\n)+)", text):
        blocks.append(textwrap.dedent(match.group(1)))
    return blocks


@pytest.mark.slow
def test_worked_example_adds_a_defense_and_an_attack(shared_data_home, capsys):
    pytest.importorskip("pandas")
    blocks = literal_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) == 2, "the page's two code blocks"
    code = "\n".join(blocks).replace('"../shared/data"', repr(str(shared_data_home)))
    namespace = {}
    exec(compile(code, str(PAGE), "exec"), namespace)
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if "confidence_auc (" in line)
    column = header.index("confidence_auc (")
    # Rows are indented by two characters ("> " marks the recommended one).
    mixed = [line for line in lines if line[2:].startswith("uniform mix ")]
    assert len(mixed) == 2
    aucs = [line[column:].split()[0] for line in mixed]
    for line, auc in zip(mixed, aucs, strict=True):
        # Not applicable to the white-box counts attack; measured otherwise.
        assert "not applicable" in line
        assert float(auc) > 0.5
    # The membership AUC is the same for both weights (a monotone map of the
    # confidences), as the page explains.
    assert aucs[0] == aucs[1]
    assert namespace["UniformMixPostProcessor"]().get_params() == {"weight": 0.5}
