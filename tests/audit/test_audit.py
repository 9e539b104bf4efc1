import csv
import json

import numpy as np
import pytest

from skmid._cli import main
from skmid.audit import (
    csv_audit,
    plot_tradeoff,
    run_audit,
    steak_audit,
    warfarin_audit,
    write_report,
)
from skmid.datasets import make_sensitive_classification, make_sensitive_regression


def small_warfarin():
    spec = warfarin_audit().select(["OLS", "MID", "AdaSSP"])
    spec.defenses[1].param_grid = {"lam": [20.0, 1000.0]}
    spec.defenses[2].param_grid = {"epsilon": [1.0, 1000.0]}
    return spec


@pytest.fixture(scope="module")
def warfarin_result():
    return run_audit(small_warfarin(), cv=3, repeats=1)


def test_warfarin_audit_rows_and_trends(warfarin_result):
    rows = {(r["defense"], r["setting"]): r for r in warfarin_result.rows}
    assert list(rows) == [
        ("OLS", "-"),
        ("MID", "lam=20"),
        ("MID", "lam=1000"),
        ("AdaSSP", "epsilon=1"),
        ("AdaSSP", "epsilon=1000"),
    ]
    ols, strong = rows["OLS", "-"], rows["MID", "lam=1000"]
    assert 100 < ols["utility_mean"] < strong["utility_mean"]  # MSE, reported > 0
    assert ols["map_accuracy_test_mean"] > strong["map_accuracy_test_mean"] + 0.1
    assert strong["map_advantage_test_mean"] == pytest.approx(0.0, abs=0.01)
    best = warfarin_result.best_under_budget(0.02)
    assert (best["defense"], best["setting"]) == ("MID", "lam=1000")
    assert any(r["pareto"] for r in warfarin_result.rows)


def test_report_files_and_plot_series(warfarin_result, tmp_path):
    paths = write_report(warfarin_result, tmp_path, command="skmid audit warfarin")
    assert {p.name for p in tmp_path.iterdir()} == {
        "report.md",
        "report.html",
        "results.csv",
        "settings.json",
        "tradeoff_map_accuracy.png",
    }
    with open(paths["results.csv"]) as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 5 and json.loads(table[2]["params"]) == {"lam": 1000.0}
    assert {"map_accuracy_test_mean", "map_advantage_train_std", "pareto"} <= set(
        table[0]
    )
    settings = json.loads(paths["settings.json"].read_text())
    assert settings["random_state"] == 0 and settings["cv"] == 3
    assert settings["versions"]["scikit-learn"] and settings["command"]
    assert [d["name"] for d in settings["defenses"]] == ["OLS", "MID", "AdaSSP"]
    markdown = paths["report.md"].read_text()
    assert "![MAP accuracy on VKORC1](tradeoff_map_accuracy.png)" in markdown
    assert markdown.count("\n| MID |") == 2
    page = paths["report.html"].read_text()
    assert page.count("data:image/png;base64,") == 1 and page.count("<tr>") == 6
    assert "Most useful setting" in page
    figure = plot_tradeoff(warfarin_result, "map_accuracy")
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == ["OLS", "MID", "AdaSSP"]
    for container, n_points in zip(figure.axes[0].containers, [1, 2, 2], strict=True):
        assert len(container.lines[0].get_xdata()) == n_points


def test_reruns_are_identical():
    spec = warfarin_audit().select(["MID"])
    spec.defenses[0].param_grid = {"lam": [60.0]}
    first = run_audit(spec, cv=2, repeats=1).rows
    second = run_audit(spec, cv=2, repeats=1).rows
    assert first == second


def test_steak_audit_reduced(shared_data_home, tmp_path):
    spec = steak_audit(data_home=shared_data_home)
    grids = {
        "MID": {"lam": [0.1]},
        "Priority": {"priority_depth": [0]},
        "DP-ID3": {"epsilon": [1.0]},
        "CMI": {"defense__epsilon": [1.0]},
    }
    for defense in spec.defenses:
        defense.param_grid = grids.get(defense.name, defense.param_grid)
    result = run_audit(spec, cv=3, repeats=1)
    rows = {r["defense"]: r for r in result.rows}
    id3 = rows["ID3"]
    # Trees memorise: the attacks work on training rows, not on held-out rows.
    assert id3["counts_f1_train_mean"] > id3["counts_f1_test_mean"] + 0.2
    assert rows["MID"]["counts_f1_train_mean"] < id3["counts_f1_train_mean"] - 0.3
    assert np.isnan(rows["CMI"]["counts_f1_train_mean"])
    assert np.isfinite(rows["CMI"]["naive_f1_train_mean"])
    paths = write_report(result, tmp_path)
    figure = plot_tradeoff(result, "counts_f1")
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == ["ID3", "MID", "Priority", "DP-ID3"]  # CMI has no counts attack
    labels = plot_tradeoff(result, "naive_f1").axes[0].get_legend_handles_labels()[1]
    assert labels == ["ID3", "MID", "Priority", "DP-ID3", "CMI"]
    assert "training rows" in paths["report.md"].read_text()


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


def test_csv_classification_and_regression(tmp_path):
    classification = tmp_path / "survey.csv"
    write_classification_csv(classification)
    spec = csv_audit(classification, target="label", sensitive="secret")
    assert spec.task == "classification" and spec.attack_rows == "train"
    assert "4 features: 3 categorical, 1 numeric" in spec.description
    spec.select(["ID3", "DP-ID3"])
    spec.defenses[1].param_grid = {"dpid3classifier__epsilon": [10.0]}
    result = run_audit(spec, cv=3, repeats=1)
    assert [r["defense"] for r in result.rows] == ["ID3", "DP-ID3"]

    regression = tmp_path / "dose.csv"
    write_regression_csv(regression)
    spec = csv_audit(regression, target="dose", sensitive="genotype")
    assert spec.task == "regression"
    spec.select(["OLS", "MID"])
    spec.defenses[1].param_grid = {
        "midlinearregression__lam": [
            spec.defenses[1].param_grid["midlinearregression__lam"][-1]
        ]
    }
    rows = run_audit(spec, cv=3, repeats=1).rows
    assert rows[0]["map_accuracy_test_mean"] > rows[1]["map_accuracy_test_mean"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--csv", "missing.csv", "--target", "a", "--sensitive", "b"], "no such file"),
        (
            ["--csv", "{csv}", "--target", "nope", "--sensitive", "secret"],
            "target column 'nope' is not in",
        ),
        (
            [
                "--csv",
                "{csv}",
                "--target",
                "label",
                "--sensitive",
                "colour",
                "--task",
                "regression",
            ],
            "not numeric",
        ),
        (
            ["--csv", "{one_value}", "--target", "label", "--sensitive", "secret"],
            "single value",
        ),
        (
            ["--csv", "{short}", "--target", "label", "--sensitive", "secret"],
            "too few rows",
        ),
        (["--csv", "{csv}", "--target", "label"], "needs --target COL and --sensitive"),
        ([], "give a dataset"),
        (["warfarin", "--defenses", "ridge"], "unknown defense(s) ['ridge']"),
    ],
)
def test_cli_bad_input_is_one_clear_line(arguments, message, tmp_path, capsys):
    good = tmp_path / "good.csv"
    write_classification_csv(good)
    lines = good.read_text().splitlines()
    one_value = tmp_path / "one.csv"
    one_value.write_text(
        "\n".join(
            [lines[0]]
            + [
                ",".join(line.split(",")[:3] + ["no", line.split(",")[4]])
                for line in lines[1:]
            ]
        )
    )
    short = tmp_path / "short.csv"
    short.write_text("\n".join(lines[:20]))
    arguments = [
        a.format(csv=good, one_value=one_value, short=short) for a in arguments
    ]
    assert main(["audit", *arguments, "--quiet", "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("skmid audit: error: ") and message in captured.err


def test_cli_warfarin_writes_the_report(tmp_path, capsys):
    out = tmp_path / "report"
    status = main(
        ["audit", "warfarin", "--defenses", "OLS", "--repeats", "1", "--out", str(out)]
    )
    assert status == 0
    printed = capsys.readouterr()
    assert "skmid audit warfarin" in printed.out and "report:" in printed.out
    assert (out / "report.html").is_file() and (
        out / "tradeoff_map_accuracy.png"
    ).is_file()
    settings = json.loads((out / "settings.json").read_text())
    assert settings["command"].startswith("skmid audit warfarin --defenses OLS")
    quiet = tmp_path / "quiet"
    assert (
        main(
            [
                "audit",
                "warfarin",
                "--defenses",
                "OLS",
                "--repeats",
                "1",
                "--out",
                str(quiet),
                "--quiet",
            ]
        )
        == 0
    )
    assert capsys.readouterr() == ("", "")


@pytest.mark.slow
def test_dask_backend_matches_the_local_run():
    distributed = pytest.importorskip("distributed")
    spec = warfarin_audit().select(["OLS", "MID"])
    spec.defenses[1].param_grid = {"lam": [60.0, 1000.0]}
    local = run_audit(spec, cv=3, repeats=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=40
    ) as cluster:
        remote = run_audit(
            spec, cv=3, repeats=1, backend="dask", scheduler=cluster.scheduler_address
        )
    for a, b in zip(local.rows, remote.rows, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], float):
                np.testing.assert_allclose(a[key], b[key], rtol=1e-12, equal_nan=True)
            else:
                assert a[key] == b[key]
    assert remote.settings["backend"] == "dask"
    # Without an address, a LocalCluster with n_jobs workers is started.
    spec.defenses = spec.defenses[:1]
    started = run_audit(spec, cv=3, repeats=1, backend="dask", n_jobs=2)
    assert started.rows == local.rows[:1]
