"""Small CSV files for the audit tests (imported by the test modules here)."""

import csv

import numpy as np

from skmid.datasets import make_sensitive_classification, make_sensitive_regression


def write_classification_csv(path, n=240):
    data = make_sensitive_classification(
        n_samples=n, sensitive_effect=3.0, random_state=0
    )
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["colour", "size", "height", "secret", "label"])
        for row, label in zip(data.data, data.target, strict=True):
            writer.writerow(
                [
                    ["red", "green", "blue", "grey"][int(row[0]) % 4],
                    int(row[1]),
                    round(float(rng.normal(170, 10)), 1),
                    ["no", "yes", "maybe"][int(row[-1]) % 3],
                    f"class_{label}",
                ]
            )


def write_regression_csv(path, n=200):
    data = make_sensitive_regression(n_samples=n, sensitive_effect=3.0, random_state=0)
    genotype = np.array(["A", "B", "C"])[data.sensitive]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x0", "x1", "genotype", "dose"])
        for row, g, target in zip(data.data, genotype, data.target, strict=True):
            writer.writerow([row[0], row[1], g, target])


def spoil_csv(source, path, edit):
    """Copy ``source`` to ``path`` with ``edit(lines) -> lines`` applied."""
    lines = source.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


def set_cell(row, column, value):
    """An ``edit`` for :func:`spoil_csv`: one cell (data row ``row``) replaced."""

    def edit(lines):
        cells = lines[row + 1].split(",")
        cells[column] = value
        return lines[: row + 1] + [",".join(cells)] + lines[row + 2 :]

    return edit


def set_column(column, value, rows=None):
    """An ``edit`` for :func:`spoil_csv`: a column set to ``value`` (first ``rows``)."""

    def edit(lines):
        edited = []
        for i, line in enumerate(lines[1:]):
            cells = line.split(",")
            if rows is None or i < rows:
                cells[column] = value
            edited.append(",".join(cells))
        return lines[:1] + edited

    return edit
