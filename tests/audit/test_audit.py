import csv
import json
import math

import numpy as np
import pytest
from audit_files import write_classification_csv, write_regression_csv

from skmid._cli import main
from skmid.attacks import AttackScorer, LearnedAttributeInference
from skmid.audit import (
    AttackSpec,
    AuditResult,
    DefenseSpec,
    comparison_defenses,
    csv_audit,
    format_summary,
    image_audit,
    plot_tradeoff,
    run_audit,
    steak_audit,
    trivial_defense,
    warfarin_audit,
    write_report,
)
from skmid.audit._report import definitions, findings, summary_rows
from skmid.audit._run import STATISTICS
from skmid.linear_model import MIDLogisticRegression


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
        ("trivial (constant mean)", "-"),
    ]
    ols, strong = rows["OLS", "-"], rows["MID", "lam=1000"]
    # The trivial baseline, measured on the same folds: the mean dose, which
    # no attacker can read anything from.
    trivial = rows["trivial (constant mean)", "-"]
    assert warfarin_result.row_of("trivial") is trivial
    assert warfarin_result.row_of("undefended") is ols
    assert warfarin_result.utility(trivial) > warfarin_result.utility(strong)
    assert trivial["mean_test_map_advantage"] == pytest.approx(0.0, abs=1e-9)
    assert not trivial["pareto"]
    # It is never recommended, even where it alone meets the budget.
    alone = AuditResult(warfarin_result.spec, [ols, trivial])
    assert alone.best_under_budget(0.02) is None
    # The utility scorer's value (negated MSE); the report shows the MSE.
    assert ols["mean_test_utility"] > strong["mean_test_utility"]
    assert 100 < warfarin_result.utility(ols) < warfarin_result.utility(strong)
    assert ols["mean_test_map_accuracy"] > strong["mean_test_map_accuracy"] + 0.1
    assert strong["mean_test_map_advantage"] == pytest.approx(0.0, abs=0.01)
    best = warfarin_result.best_under_budget(0.02)
    assert (best["defense"], best["setting"]) == ("MID", "lam=1000")
    assert any(r["pareto"] for r in warfarin_result.rows)


def test_report_files_and_plot_series(warfarin_result, tmp_path):
    paths = write_report(warfarin_result, tmp_path, command="skmid audit warfarin")
    assert {p.name for p in tmp_path.iterdir()} == {
        ".skmid-report",
        "report.md",
        "report.html",
        "results.csv",
        "settings.json",
        "tradeoff_map_accuracy.png",
        "tradeoff_map_advantage.png",
        "tradeoff_learned_accuracy.png",
    }
    with open(paths["results.csv"]) as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 6 and json.loads(table[2]["params"]) == {"lam": 1000.0}
    assert [line["role"] for line in table] == ["undefended"] + ["defense"] * 4 + [
        "trivial"
    ]
    assert {"mean_test_map_accuracy", "std_train_map_advantage", "pareto"} <= set(
        table[0]
    )
    assert "mean_test_utility" in table[0] and "utility_mean" not in table[0]
    settings = json.loads(paths["settings.json"].read_text())
    assert settings["random_state"] == 0 and settings["cv"] == 3
    assert settings["max_leakage"] == 0.02
    assert settings["attacks"]["map_accuracy"]["rows"] == "held-out rows"
    assert settings["versions"]["scikit-learn"] and settings["command"]
    assert [(d["name"], d["role"]) for d in settings["defenses"]] == [
        ("OLS", "undefended"),
        ("MID", "defense"),
        ("AdaSSP", "defense"),
        ("trivial (constant mean)", "trivial"),
    ]
    markdown = paths["report.md"].read_text()
    assert (
        "![MAP accuracy on VKORC1 (held-out rows)](tradeoff_map_accuracy.png)"
        in markdown
    )
    assert "| MAP advantage on VKORC1 (held-out rows) |" in markdown
    assert "epsilon is the differential-privacy budget" in markdown
    # The recommended row (MID lam=1000 at the default budget) is in bold.
    assert markdown.count("\n| MID |") == 1
    assert "| **→ MID** | **lam=1000** |" in markdown
    assert settings["recommended"] == {"defense": "MID", "setting": "lam=1000"}
    page = paths["report.html"].read_text()
    assert page.count("data:image/png;base64,") == 3 and page.count("<tr") == 7
    assert page.count('<tr class="recommended">') == 1
    assert "Most useful setting" in page
    figure = plot_tradeoff(warfarin_result, "map_accuracy")
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == ["OLS", "MID", "AdaSSP", "trivial (constant mean)"]
    for container, n_points in zip(
        figure.axes[0].containers, [1, 2, 2, 1], strict=True
    ):
        assert len(container.lines[0].get_xdata()) == n_points


def test_the_report_states_the_verdict_cost_and_gain_first(warfarin_result, tmp_path):
    result = warfarin_result
    rows = {(r["defense"], r["setting"]): r for r in result.rows}
    ols, trivial = rows["OLS", "-"], rows["trivial (constant mean)", "-"]
    best = result.best_under_budget(0.02)
    headline = dict(findings(result, max_leakage=0.02))
    assert list(headline) == ["Verdict", "Recommended", "What it costs", "What it buys"]
    assert headline["Verdict"].startswith("The undefended model (OLS) fails the budget")
    # The cost: the three utilities and the share of the gain kept, computed
    # here from the rows (the MSE of the mean is the largest).
    kept = (best["mean_test_utility"] - trivial["mean_test_utility"]) / (
        ols["mean_test_utility"] - trivial["mean_test_utility"]
    )
    assert 0 < kept < 0.5
    cost = headline["What it costs"]
    for value in (result.utility(best), result.utility(ols), result.utility(trivial)):
        assert f"{value:.3f}" in cost
    assert f"it keeps {kept:.0%} of the undefended model's gain" in cost
    assert "trivial model (constant mean)" in cost
    buys = headline["What it buys"]
    assert f"{best['mean_test_map_advantage']:.3f} for the recommended" in buys
    assert f"{ols['mean_test_map_advantage']:.3f} undefended" in buys
    assert "0.000 for the prior-only attacker" in buys
    # Every metric defined once, with its rows.
    terms = dict(definitions(result))
    assert set(terms) == {
        "MSE (mg/week)^2",
        "MAP accuracy on VKORC1, learned-attack accuracy on VKORC1",
        "MAP advantage on VKORC1, learned-attack advantage on VKORC1",
        "strongest attack",
    }
    advantage = terms["MAP advantage on VKORC1, learned-attack advantage on VKORC1"]
    assert all(
        "held-out rows" in sentence
        for term, sentence in terms.items()
        if term != "strongest attack"
    )
    assert "independent of everything it sees" in advantage
    assert "LearnedAttributeInference: attack classifier" in advantage
    # The same facts, in the same order, in Markdown and in the terminal.
    paths = write_report(result, tmp_path)
    markdown = paths["report.md"].read_text()
    summary = format_summary(result, max_leakage=0.02)
    for heading, sentence in headline.items():
        assert f"**{heading}.** {sentence}" in markdown
        assert f"{heading}: {sentence}" in summary
    assert markdown.index("**Verdict.**") < markdown.index("| defense |")
    assert summary.index("Verdict:") < summary.index("> MID")
    for term, sentence in terms.items():
        assert f"- **{term}**: {sentence}" in markdown
        assert f"{term}: {sentence}" in summary
    # The budget plot marks the budget, the recommended point and the trivial.
    figure = plot_tradeoff(result, "map_advantage", max_leakage=0.02)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert "budget (<= 0.02)" in labels
    assert f"recommended: MID {best['setting']}" in labels
    assert "trivial (constant mean)" in labels
    lines = {
        (line.get_linestyle(), tuple(line.get_ydata())) for line in figure.axes[0].lines
    }
    assert ("--", (0.02, 0.02)) in lines
    assert (":", (trivial["mean_test_map_advantage"],) * 2) in lines


def test_reruns_are_identical():
    spec = warfarin_audit().select(["MID"])
    spec.defenses[0].param_grid = {"lam": [60.0]}
    first = run_audit(spec, cv=2, repeats=1).rows
    second = run_audit(spec, cv=2, repeats=1).rows
    assert first == second


def test_n_jobs_gives_identical_rows(warfarin_result):
    # One job list over (defense, setting, fold); each fit on one thread.
    parallel = run_audit(small_warfarin(), cv=3, repeats=1, n_jobs=2)
    assert parallel.rows == warfarin_result.rows
    assert parallel.settings["n_jobs"] == 2


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_a_failing_fit_is_an_error_naming_the_cell(n_jobs):
    spec = warfarin_audit().select(["OLS", "MID"])
    spec.defenses[1].param_grid = {"lam": [20.0, -1.0]}
    with pytest.raises(
        ValueError, match=r"defense MID \(lam=-1\): The 'lam' parameter"
    ):
        run_audit(spec, cv=2, repeats=1, n_jobs=n_jobs)


def test_steak_audit_reduced(shared_data_home, tmp_path):
    spec = steak_audit(data_home=shared_data_home)
    grids = {
        "MID": {"lam": [0.1]},
        "Priority": {"priority_depth": [0]},
        "DP-ID3": {"epsilon": [1.0]},
        "CMI": {"defense__epsilon": [1.0]},
        "MID logistic": {"midlogisticregression__lam": [0.0, 8.0]},
    }
    for defense in spec.defenses:
        defense.param_grid = grids.get(defense.name, defense.param_grid)
    result = run_audit(spec, cv=3, repeats=1)
    rows = {r["defense"]: r for r in result.rows if r["defense"] != "MID logistic"}
    plain, flat = [r for r in result.rows if r["defense"] == "MID logistic"]
    id3, cmi, trivial = rows["ID3"], rows["CMI"], rows["trivial (majority class)"]
    # Trees memorise: the attacks work on training rows, not on held-out rows.
    assert id3["mean_train_counts_f1"] > id3["mean_test_counts_f1"] + 0.2
    assert rows["MID"]["mean_train_counts_f1"] < id3["mean_train_counts_f1"] - 0.3
    assert cmi["mean_train_counts_f1"] is None  # not run on CMI
    assert np.isfinite(cmi["mean_train_naive_f1"])
    # Regression test: CMI, the most useful tree, has no counts attack; it
    # used to drop out of the Pareto front. The most useful row (CMI or plain
    # logistic regression, neither with a counts attack) competes on the
    # attacks measured.
    assert cmi["mean_test_utility"] == max(
        r["mean_test_utility"] for r in rows.values()
    )
    top = max(result.rows, key=lambda r: r["mean_test_utility"])
    assert top in (cmi, plain) and top["mean_train_counts_f1"] is None
    assert top["pareto"]
    # MID logistic regression: plain logistic regression (lam=0) is as useful
    # as the tree and leaks nothing to naive MAP on its training rows; a
    # strong penalty gives the majority class's F1.
    assert plain["mean_test_utility"] > id3["mean_test_utility"] - 0.05
    assert plain["mean_train_naive_advantage"] < 0.02
    assert plain["mean_test_utility"] > flat["mean_test_utility"] + 0.05
    assert flat["mean_test_utility"] == pytest.approx(
        trivial["mean_test_utility"], abs=0.02
    )
    assert plain["mean_train_counts_f1"] is None
    # The learned attack ran on every row, and finds the tree's leak.
    for row in result.rows:
        assert math.isfinite(row["mean_train_learned_f1"])
    assert id3["mean_train_learned_advantage"] > 0.05
    assert id3["mean_train_learned_f1"] > id3["mean_test_learned_f1"] + 0.1
    paths = write_report(result, tmp_path)
    figure = plot_tradeoff(result, "counts_f1")
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == ["ID3", "MID", "Priority", "DP-ID3"]  # CMI has no counts attack
    assert "not applicable: CMI" in figure.axes[0].texts[0].get_text()
    assert figure.axes[0].get_ylabel() == "MAP-with-counts F1 (training rows)"
    labels = plot_tradeoff(result, "naive_f1").axes[0].get_legend_handles_labels()[1]
    assert labels == [
        "ID3",
        "MID",
        "Priority",
        "DP-ID3",
        "CMI",
        "MID logistic",
        "trivial (majority class)",
    ]
    markdown = paths["report.md"].read_text()
    cmi_line = next(line for line in markdown.splitlines() if line.startswith("| CMI"))
    assert cmi_line.count("not applicable") == 3 and "n/a" not in markdown
    assert "| naive MAP F1 (training rows) |" in markdown
    assert "epsilon is the L1 bound" in markdown
    # The worst case over the two MAPs and the learned attack, per row and
    # metric.
    header = summary_rows(result)[0]
    column = header.index("strongest attack: F1 (training rows)")
    id3_cells = summary_rows(result)[1]
    strongest = max(
        id3["mean_train_naive_f1"],
        id3["mean_train_counts_f1"],
        id3["mean_train_learned_f1"],
    )
    assert id3_cells[column].startswith(f"{strongest:.3f} (")
    # Regression test: the summary said "attacks on held-out rows" while it
    # printed training-row numbers.
    summary = format_summary(result, max_leakage=0.02)
    assert "held-out rows; attacks" not in summary
    assert "naive_f1 (training rows)" in summary
    assert "counts_f1: MAP-with-counts F1 (training rows)" in summary
    assert "CMI, MID logistic: not applicable, not a candidate" in summary
    with open(paths["results.csv"]) as handle:
        lines = {line["defense"]: line for line in csv.DictReader(handle)}
    assert lines["CMI"]["mean_train_counts_f1"] == "not applicable"
    assert float(lines["CMI"]["mean_train_naive_f1"]) == cmi["mean_train_naive_f1"]


def test_csv_classification_and_regression(tmp_path):
    classification = tmp_path / "survey.csv"
    write_classification_csv(classification)
    spec = csv_audit(classification, target="label", sensitive="secret")
    assert spec.task == "classification"
    assert {attack.rows for attack in spec.attacks.values()} == {"train"}
    assert "4 features: 3 categorical, 1 numeric" in spec.description
    spec.select(["ID3", "DP-ID3"])
    spec.defenses[1].param_grid = {"dpid3classifier__epsilon": [10.0]}
    result = run_audit(spec, cv=3, repeats=1)
    assert [r["defense"] for r in result.rows] == [
        "ID3",
        "DP-ID3",
        "trivial (majority class)",
    ]

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
    assert rows[0]["mean_test_map_accuracy"] > rows[1]["mean_test_map_accuracy"]


@pytest.fixture
def small_csv_regression(tmp_path):
    path = tmp_path / "dose.csv"
    write_regression_csv(path)
    spec = csv_audit(path, target="dose", sensitive="genotype")
    spec.select(["OLS", "MID"])
    grid = spec.defenses[1].param_grid
    spec.defenses[1].param_grid = {key: values[-1:] for key, values in grid.items()}
    return spec


def test_an_attack_not_run_is_na_not_a_number(small_csv_regression, tmp_path):
    spec = small_csv_regression
    # Declared by the spec: the budget attack does not apply to OLS here.
    spec.defenses[0].attacks = ("map_accuracy",)
    result = run_audit(spec, cv=3, repeats=1)
    ols, mid, _ = result.rows
    assert ols["mean_test_map_advantage"] is None
    assert ols["std_train_map_advantage"] is None
    assert np.isfinite(ols["mean_test_map_accuracy"])
    assert np.isfinite(mid["mean_test_map_advantage"])
    # OLS is not dropped from the front; MID, less useful, is not beaten on
    # the advantage that OLS was not measured on.
    assert ols["pareto"] and mid["pareto"]
    assert result.best_under_budget(1.0)["defense"] == "MID"
    header, *table = summary_rows(result)
    column = header.index(spec.attacks["map_advantage"].full_label)
    assert table[0][column] == "not applicable" and " ± " in table[1][column]
    paths = write_report(result, tmp_path / "report")
    with open(paths["results.csv"]) as handle:
        ols_line, mid_line, _ = csv.DictReader(handle)
    assert ols_line["mean_test_map_advantage"] == "not applicable"
    assert float(mid_line["mean_test_map_advantage"]) == pytest.approx(
        mid["mean_test_map_advantage"]
    )


class NaNForMID(AttackScorer):
    """An attack scorer that fails (NaN) on the MID pipeline only."""

    def __call__(self, estimator, X, y=None, **kwargs):
        if "midlinearregression" in estimator.get_params():
            return float("nan")
        return super().__call__(estimator, X, y, **kwargs)


def test_a_non_finite_attack_score_is_an_error_naming_the_cell(small_csv_regression):
    spec = small_csv_regression
    scorer = spec.attacks["map_advantage"].scorer
    spec.attacks["map_advantage"].scorer = NaNForMID(scorer.attack, scorer.metric)
    with pytest.raises(
        ValueError,
        match=r"defense MID \(lam=[^)]+\): the attack 'map_advantage' on the "
        r"held-out rows, for the setting .* produced NaN",
    ):
        run_audit(spec, cv=3, repeats=1)


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"cv": 1}, ValueError, "cv must be an integer >= 2; got 1"),
        ({"cv": math.nan}, ValueError, "cv must be an integer >= 2"),
        ({"cv": 1000}, ValueError, "cv=1000 folds need at least 1000 rows"),
        ({"repeats": 0}, ValueError, "repeats must be an integer >= 1"),
        ({"repeats": 1.5}, ValueError, "repeats must be an integer >= 1"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be None or a non-zero integer"),
        ({"backend": "spark"}, ValueError, "backend must be one of"),
        ({"scheduler": 8786}, TypeError, "scheduler must be an address"),
        ({"random_state": -1}, ValueError, "random_state must be None, an int in"),
        ({"spec": "warfarin"}, TypeError, "spec must be an AuditSpec"),
    ],
)
def test_run_audit_rejects_bad_arguments(
    small_csv_regression, arguments, error, message
):
    arguments = {"spec": small_csv_regression, "cv": 2, "repeats": 1, **arguments}
    with pytest.raises(error, match=message):
        run_audit(**arguments)


def test_reporting_functions_reject_bad_arguments(small_csv_regression, tmp_path):
    small_csv_regression.select(["OLS"])
    result = run_audit(small_csv_regression, cv=2, repeats=1)
    for budget in (math.nan, math.inf, "low"):
        with pytest.raises(ValueError, match="max_leakage must be a"):
            format_summary(result, max_leakage=budget)
        with pytest.raises(ValueError, match="max_leakage must be a"):
            write_report(result, tmp_path / "report", max_leakage=budget)
    assert not (tmp_path / "report").exists()
    with pytest.raises(ValueError, match="attack 'nope' is not one of"):
        plot_tradeoff(result, "nope")
    with pytest.raises(TypeError, match="result must be an AuditResult"):
        write_report(result.rows, tmp_path / "report")


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"seeds": []}, "seeds must hold at least one seed"),
        ({"seeds": 3}, "seeds must be a sequence of ints"),
        ({"seeds": [-1]}, r"seeds must be ints in \[0, 2\*\*32 - 1\]"),
        ({"seeds": [0.5]}, "seeds must be ints"),
        ({"seeds": [1, 1]}, "seeds must be distinct"),
        ({"defenses": {}}, "defenses must be a non-empty dict"),
        ({"max_epochs": 0}, "max_epochs must be an integer >= 1"),
        ({"attack_epochs": math.nan}, "attack_epochs must be an integer >= 1"),
        ({"n_victims": -1}, "n_victims must be an integer >= 1"),
    ],
)
def test_image_audit_rejects_bad_arguments_before_any_work(arguments, message):
    with pytest.raises(ValueError, match=message):
        image_audit(**arguments)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"max_epochs": 0}, "max_epochs must be an integer >= 1"),
        ({"n_iter": math.inf}, "n_iter must be an integer >= 1"),
    ],
)
def test_comparison_defenses_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        comparison_defenses(**arguments)


def test_csv_audit_rejects_bad_arguments(tmp_path):
    path = tmp_path / "dose.csv"
    write_regression_csv(path)
    with pytest.raises(ValueError, match="task must be one of"):
        csv_audit(path, target="dose", sensitive="genotype", task="ranking")
    with pytest.raises(TypeError, match="path must be a str or a path"):
        csv_audit(3, target="dose", sensitive="genotype")
    with pytest.raises(ValueError, match="the target and the sensitive column"):
        csv_audit(path, target="dose", sensitive="dose")
    lines = path.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",1e200"
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match="'dose' of .* holds values too large"):
        csv_audit(path, target="dose", sensitive="genotype")


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
    # The same job list, each fit on one thread: the same numbers.
    assert remote.rows == local.rows
    assert remote.settings["backend"] == "dask"
    # Without an address, a LocalCluster with n_jobs workers is started.
    spec.defenses = spec.defenses[:1]
    started = run_audit(spec, cv=3, repeats=1, backend="dask", n_jobs=2)
    assert started.rows == local.rows[:1]


def test_csv_adassp_without_bounds_is_labelled_not_dp_everywhere(tmp_path):
    # Regression test: AdaSSP took its bounds from the data and its row did
    # not say that it is then not differentially private.
    path = tmp_path / "dose.csv"
    write_regression_csv(path)
    spec = csv_audit(path, target="dose", sensitive="genotype").select(["AdaSSP"])
    spec.defenses[0].param_grid = {"adassplinearregression__epsilon": [1000.0]}
    adassp, trivial = spec.defenses  # the trivial baseline is always kept
    assert adassp.note == "not DP: bounds from the data" and trivial.role == "trivial"
    result = run_audit(spec, cv=2, repeats=1)
    assert result.rows[0]["note"] == "not DP: bounds from the data"
    label = "AdaSSP [not DP: bounds from the data]"
    assert label in format_summary(result, max_leakage=0.02)
    paths = write_report(result, tmp_path / "report")
    assert f"| {label} |" in paths["report.md"].read_text()
    assert label in paths["report.html"].read_text()
    with open(paths["results.csv"]) as handle:
        line, _ = csv.DictReader(handle)
    assert line["note"] == "not DP: bounds from the data"
    settings = json.loads(paths["settings.json"].read_text())
    assert settings["defenses"][0]["note"] == "not DP: bounds from the data"


def test_csv_adassp_with_user_bounds_is_dp_and_ignores_the_data_range(tmp_path):
    path = tmp_path / "dose.csv"
    write_regression_csv(path)
    spec = csv_audit(
        path,
        target="dose",
        sensitive="genotype",
        bounds_x=(-10.0, 10.0),
        bounds_y=(-50.0, 50.0),
    ).select(["AdaSSP"])
    adassp, _ = spec.defenses
    assert adassp.note is None
    model = adassp.estimator
    assert model[-1].bounds_y == (-50.0, 50.0)
    # Nothing fitted on the data scales the features: the bounds do.
    X = spec.X.iloc[:3].copy()
    encoded = model[0].fit(spec.X).transform(X)
    numeric = X[["x0", "x1"]].to_numpy()
    np.testing.assert_allclose(encoded[:, -2:], (np.clip(numeric, -10, 10) + 10) / 20)
    with pytest.raises(ValueError, match="bounds_x and bounds_y go together"):
        csv_audit(path, target="dose", sensitive="genotype", bounds_x=(0, 1))
    with pytest.raises(ValueError, match="bounds_y must be finite with low < high"):
        csv_audit(
            path, target="dose", sensitive="genotype", bounds_x=(0, 1), bounds_y=(1, 0)
        )
    classification = tmp_path / "survey.csv"
    write_classification_csv(classification)
    with pytest.raises(ValueError, match="apply to a regression audit"):
        csv_audit(
            classification,
            target="label",
            sensitive="secret",
            bounds_x=(0, 1),
            bounds_y=(0, 1),
        )


def test_plots_leave_the_matplotlib_backend_alone(warfarin_result):
    matplotlib = pytest.importorskip("matplotlib")
    before = matplotlib.get_backend()
    figure = plot_tradeoff(warfarin_result, "map_accuracy")
    assert matplotlib.get_backend() == before
    assert figure.axes[0].get_xlabel() == "MSE (mg/week)^2 (held-out rows)"
    assert figure.axes[0].get_ylabel() == "MAP accuracy on VKORC1 (held-out rows)"


def test_the_spec_lists_its_declarations():
    spec = warfarin_audit()
    text = "\n".join(spec.describe())
    assert "AdaSSP (epsilon in [1.0, 10.0" in text
    assert "epsilon: differential-privacy budget" in text
    assert "map_advantage: MAP advantage on VKORC1 (held-out rows); higher" in text


class ErrorScorer(AttackScorer):
    """MAP's error rate: lower means more leakage, like an inversion error."""

    def __call__(self, estimator, X, y=None, **kwargs):
        return 1.0 - super().__call__(estimator, X, y, **kwargs)

    @property
    def higher_is_more_leakage(self):
        return False


def test_audit_budget_and_front_follow_the_scorer_orientation(tmp_path):
    spec = warfarin_audit().select(["OLS", "MID"])
    spec.defenses[1].param_grid = {"lam": [1000.0]}
    scorer = spec.attacks["map_accuracy"].scorer
    spec.attacks["map_error"] = AttackSpec(
        ErrorScorer(scorer.attack, "accuracy"), "MAP error on VKORC1"
    )
    spec.budget_attack = "map_error"
    spec.pareto_attacks = ("map_error",)
    result = run_audit(spec, cv=2, repeats=1)
    ols, mid, trivial = result.rows
    assert ols["mean_test_map_error"] < mid["mean_test_map_error"]  # OLS leaks
    # The trivial model leaks least but is a reference, never recommended.
    assert trivial["mean_test_map_error"] >= mid["mean_test_map_error"]
    budget = (ols["mean_test_map_error"] + mid["mean_test_map_error"]) / 2
    # The budget is the smallest acceptable error: OLS, the leakier, is out.
    assert result.best_under_budget(budget)["defense"] == "MID"
    assert ols["pareto"] and mid["pareto"]
    summary = format_summary(result, max_leakage=budget)
    assert f"MAP error on VKORC1 (held-out rows) >= {budget:g}: MID" in summary


def test_run_audit_checks_the_declarations(small_csv_regression):
    spec = small_csv_regression
    spec.plot_attacks = ("map_auc",)
    with pytest.raises(ValueError, match=r"plot_attacks names unknown attack\(s\)"):
        run_audit(spec, cv=2, repeats=1)
    spec.plot_attacks = ("map_accuracy",)
    spec.defenses[0].attacks = ("map_accurcy",)
    with pytest.raises(ValueError, match="the attacks of defense OLS names unknown"):
        run_audit(spec, cv=2, repeats=1)
    spec.defenses[0].attacks = None
    spec.attacks["map_auc"] = spec.attacks["map_accuracy"].scorer
    with pytest.raises(TypeError, match=r"attacks\['map_auc'\] must be an AttackSpec"):
        run_audit(spec, cv=2, repeats=1)
    with pytest.raises(ValueError, match="rows must be one of"):
        AttackSpec(spec.attacks["map_accuracy"].scorer, "MAP", rows="members")


def test_roles_are_checked_and_the_trivial_baseline_is_always_kept():
    with pytest.raises(ValueError, match="role must be one of"):
        DefenseSpec("x", None, role="baseline")
    spec = warfarin_audit()
    assert (spec.undefended.name, spec.trivial.role) == ("OLS", "trivial")
    spec.defenses.append(trivial_defense("regression"))
    with pytest.raises(ValueError, match="at most one defense may have role="):
        spec.check()
    spec = warfarin_audit().select(["MID"])
    assert [d.name for d in spec.defenses] == ["MID", "trivial (constant mean)"]
    assert spec.undefended is None
    # The trivial baseline alone: no front, no recommendation, still a report.
    alone = warfarin_audit().select(["trivial (constant mean)"])
    result = run_audit(alone, cv=2, repeats=1)
    assert [row["pareto"] for row in result.rows] == [False]
    headline = dict(findings(result, max_leakage=0.02))
    assert headline["Verdict"].startswith("The undefended model was not audited")
    assert "What it costs" not in headline


# -- the learned attack and MID logistic regression in the tabular audits ------

LEARNED_CLASSIFICATION = ("learned_f1", "learned_auc", "learned_advantage")


def test_the_regression_audits_run_the_learned_attack_beside_map(tmp_path):
    spec = warfarin_audit()
    accuracy, advantage = (
        spec.attacks["learned_accuracy"],
        spec.attacks["learned_advantage"],
    )
    attack = accuracy.scorer.attack
    assert isinstance(attack, LearnedAttributeInference)
    # One attack object: its classifiers are trained once per fitted model.
    assert advantage.scorer.attack is attack
    assert (accuracy.scorer.metric, advantage.scorer.metric) == (
        "accuracy",
        "advantage",
    )
    assert accuracy.rows == advantage.rows == spec.attacks["map_accuracy"].rows
    # The audit's cheaper configuration: 1,000 background rows, tol=1e-2.
    assert attack.X_background_.shape == (1000, 19)
    assert attack.estimator[-1].tol == 1e-2
    assert "1000 background rows (a seeded sample of the 4821)" in accuracy.note
    assert "learned_accuracy" in spec.plot_attacks
    # The budget stays on MAP (see test_the_budget_and_verdict_ignore_...).
    assert spec.budget_attack == "map_advantage"
    assert all(defense.attacks is None for defense in spec.defenses)
    text = "\n".join(spec.describe())
    assert "learned_advantage: learned-attack advantage on VKORC1 (held-out" in text
    assert "tol=0.01), trained on 1000 background rows" in text

    path = tmp_path / "dose.csv"
    write_regression_csv(path)
    spec = csv_audit(path, target="dose", sensitive="genotype")
    assert {"learned_accuracy", "learned_advantage"} <= set(spec.attacks)
    # Small data: every row is a background row.
    assert spec.attacks["learned_accuracy"].scorer.attack.X_background_.shape[0] == 200
    assert "all 200 rows as background rows" in spec.attacks["learned_accuracy"].note


def test_the_classification_audits_add_the_learned_attack_and_mid_logistic(
    shared_data_home, tmp_path
):
    path = tmp_path / "survey.csv"
    write_classification_csv(path)
    for spec in (
        steak_audit(data_home=shared_data_home),
        csv_audit(path, target="label", sensitive="secret"),
    ):
        for name, metric in zip(
            LEARNED_CLASSIFICATION, ["f1", "roc_auc", "advantage"], strict=True
        ):
            attack = spec.attacks[name]
            assert isinstance(attack.scorer.attack, LearnedAttributeInference)
            assert (attack.scorer.metric, attack.rows) == (metric, "train")
        assert "learned_f1" in spec.plot_attacks
        defenses = {defense.name: defense for defense in spec.defenses}
        # The verdict's undefended model stays the ID3 tree.
        assert spec.undefended.name == "ID3"
        logistic = defenses["MID logistic"]
        assert logistic.role == "defense"
        assert logistic.param_grid == {
            "midlogisticregression__lam": [0.0, 0.3, 1.0, 2.0, 4.0, 8.0]
        }
        assert isinstance(logistic.estimator[-1], MIDLogisticRegression)
        encoder = logistic.estimator[0]
        assert encoder.transformers[0][1].handle_unknown == "ignore"
        assert "lam" in logistic.param_notes
        # MAP with counts reads a tree's leaves: only the black-box attacks
        # apply to the defenses that release outputs only.
        for name in ("CMI", "MID logistic", "trivial (majority class)"):
            assert defenses[name].applies("learned_f1")
            assert defenses[name].applies("naive_advantage")
            assert not defenses[name].applies("counts_f1")
        for name in ("ID3", "MID", "Priority", "DP-ID3"):
            assert all(defenses[name].applies(a) for a in spec.attacks)
        styles = [defense.style for defense in spec.defenses]
        assert len(set(styles)) == len(styles)
    # The steak survey: every column is an answer, one-hot encoded.
    steak = steak_audit(data_home=shared_data_home)
    logistic = next(d for d in steak.defenses if d.name == "MID logistic")
    assert logistic.estimator[0].transformers[0][2] == list(range(12))
    text = "\n".join(steak.describe())
    assert "MID logistic (lam in [0.0, 0.3, 1.0, 2.0, 4.0, 8.0])" in text
    assert "learned_f1: learned attack F1 (training rows)" in text


def test_a_small_classification_audit_reports_the_new_rows(tmp_path):
    path = tmp_path / "survey.csv"
    write_classification_csv(path)
    spec = csv_audit(path, target="label", sensitive="secret")
    spec.select(["MID logistic"])
    spec.defenses[0].param_grid = {"midlogisticregression__lam": [0.0, 8.0]}
    result = run_audit(spec, cv=3, repeats=1)
    rows = {(r["defense"], r["setting"]): r for r in result.rows}
    assert list(rows) == [
        ("MID logistic", "lam=0"),
        ("MID logistic", "lam=8"),
        ("trivial (majority class)", "-"),
    ]
    for row in result.rows:
        for name in LEARNED_CLASSIFICATION:
            for statistic in STATISTICS:
                assert math.isfinite(row[f"{statistic}_{name}"])
        assert row["mean_train_counts_f1"] is None

    paths = write_report(result, tmp_path / "report")
    assert (tmp_path / "report" / "tradeoff_learned_f1.png").is_file()
    with open(paths["results.csv"]) as handle:
        lines = list(csv.DictReader(handle))
    for line, row in zip(lines, result.rows, strict=True):
        assert float(line["mean_train_learned_f1"]) == row["mean_train_learned_f1"]
        assert float(line["mean_test_learned_advantage"]) == pytest.approx(
            row["mean_test_learned_advantage"]
        )
    assert [line["mean_train_counts_f1"] for line in lines] == ["not applicable"] * 3
    settings = json.loads(paths["settings.json"].read_text())
    assert "background rows" in settings["attacks"]["learned_f1"]["note"]
    assert settings["attacks"]["naive_f1"]["note"] is None
    logistic = next(d for d in settings["defenses"] if d["name"] == "MID logistic")
    assert (
        "learned_f1" in logistic["attacks"]
        and "counts_f1" in (logistic["not_applicable"])
    )
    markdown = paths["report.md"].read_text()
    assert "| learned attack F1 (training rows) |" in markdown
    assert "MID logistic: lam is the weight of the mutual-information" in markdown
    # The definitions name the three attacks that share a metric and say how
    # the learned one is configured.
    terms = dict(definitions(result))
    assert "naive MAP F1, MAP-with-counts F1, learned attack F1" in terms
    assert (
        "LearnedAttributeInference: attack classifier: logistic regression"
        in (terms["naive MAP F1, MAP-with-counts F1, learned attack F1"])
    )
    summary = format_summary(result, max_leakage=0.02)
    assert "learned_f1 (training rows)" in summary
    line = next(
        line for line in summary.splitlines() if line.startswith("  MID logistic")
    )
    assert "not applicable" in line  # counts_f1
    assert "nan" not in markdown + summary


def constructed_result(spec, rows):
    """An AuditResult with hand-set rows: ``(defense, utility, {attack: value})``.

    Every attack that applies and is not given scores 0.
    """
    built = []
    for name, utility, values in rows:
        defense = next(d for d in spec.defenses if d.name == name)
        row = {"defense": name, "setting": "-", "params": {}, "note": None}
        for attack in ["utility", *spec.attacks]:
            measured = attack == "utility" or defense.applies(attack)
            for statistic in STATISTICS:
                row[f"{statistic}_{attack}"] = 0.0 if measured else None
        row["mean_test_utility"] = utility
        for attack, value in values.items():
            row[spec.key(attack)] = value
        row["pareto"] = False
        built.append(row)
    return AuditResult(spec, built)


@pytest.fixture
def survey_spec(tmp_path):
    path = tmp_path / "survey.csv"
    write_classification_csv(path)
    return csv_audit(path, target="label", sensitive="secret").select(
        ["ID3", "MID", "MID logistic"]
    )


def test_the_strongest_attack_column_picks_the_learned_attack_where_stronger(
    survey_spec,
):
    result = constructed_result(
        survey_spec,
        [
            (
                "ID3",
                0.6,
                {"naive_f1": 0.40, "counts_f1": 0.50, "learned_f1": 0.70},
            ),
            ("MID", 0.5, {"naive_f1": 0.30, "counts_f1": 0.35, "learned_f1": 0.10}),
            # counts_f1 does not apply: its 0.9 would be a bug if shown.
            ("MID logistic", 0.55, {"naive_f1": 0.20, "learned_f1": 0.25}),
            ("trivial (majority class)", 0.3, {"naive_f1": 0.0, "learned_f1": 0.05}),
        ],
    )
    table = summary_rows(result)
    column = table[0].index("strongest attack: F1 (training rows)")
    cells = [line[column] for line in table[1:]]
    assert cells == [
        "0.700 (learned attack F1)",
        "0.350 (MAP-with-counts F1)",
        "0.250 (learned attack F1)",
        "0.050 (learned attack F1)",
    ]
    buys = dict(findings(result, max_leakage=0.02))["What it buys"]
    assert "Strongest attack: F1 (training rows): " in buys
    assert "0.700 undefended (learned attack F1)" in buys
    assert "0.050 on the trivial model (learned attack F1)" in buys


def test_the_budget_and_verdict_ignore_the_learned_attack(survey_spec):
    # The budget attack is MAP with counts (higher is more leakage): the
    # learned attack's advantage, however high, neither fails nor passes a
    # setting, and MID logistic (no counts attack) is not a candidate.
    spec = survey_spec
    assert spec.budget_attack == "counts_advantage"
    assert spec.attacks["learned_advantage"].higher_is_more_leakage
    result = constructed_result(
        spec,
        [
            ("ID3", 0.6, {"counts_advantage": 0.30, "learned_advantage": 0.01}),
            ("MID", 0.5, {"counts_advantage": 0.01, "learned_advantage": 0.40}),
            ("MID logistic", 0.9, {"learned_advantage": 0.0}),
            ("trivial (majority class)", 0.3, {"learned_advantage": 0.0}),
        ],
    )
    best = result.best_under_budget(0.02)
    assert best["defense"] == "MID"
    headline = dict(findings(result, max_leakage=0.02))
    assert headline["Verdict"].startswith("The undefended model (ID3) fails")
    assert "scores 0.300" in headline["Verdict"]
    assert "MID - meets it" in headline["Verdict"]
    assert "MID logistic: not applicable, not a candidate" in (headline["Recommended"])
    # The strongest advantage is the worst case over the three attacks.
    assert "0.400 recommended (learned attack advantage)" in (headline["What it buys"])
    # A budget above ID3's counts advantage: the undefended model meets it,
    # whatever the learned attack says.
    assert dict(findings(result, max_leakage=0.35))["Verdict"].startswith(
        "The undefended model (ID3) meets the budget"
    )
