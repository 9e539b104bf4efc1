"""Audit reports: results.csv, settings.json, plots, report.md and report.html."""

import base64
import contextlib
import csv
import json
import os
import shutil
import signal
import sys
import threading
import uuid
from pathlib import Path

from .._version import __version__
from ..utils import import_optional_dependency
from ..utils._versions import get_versions
from ._run import STATISTICS, AuditResult
from ._specs import ROWS

#: What a cell shows where an attack was not run on a defense.
NOT_APPLICABLE = "not applicable"
#: What a cell shows where a statistic has no value by design (a membership
#: attack on the training rows, which are its members).
UNDEFINED = "undefined"
HELD_OUT = ROWS["test"]


def plot_tradeoff(result, attack, ax=None, *, max_leakage=None):
    """Utility against one attack's success, a series per defense.

    Draws on ``ax`` when given, else on a new
    :class:`matplotlib.figure.Figure` (the user's pyplot state and backend
    are left alone). Defenses that ``attack`` does not apply to have no
    series; the caption names them. The trivial baseline is a grey cross,
    with dotted lines at its utility and at its attack success (the
    prior-only attacker). With ``max_leakage`` (the budget, in the budget
    attack's units) the recommended setting is circled and, on the budget
    attack's plot, the budget is a dashed line.

    Parameters
    ----------
    result : AuditResult
    attack : str
        One of the audit's attacks.
    ax : matplotlib Axes, default=None
    max_leakage : float, default=None
        The budget of :meth:`AuditResult.best_under_budget`; None marks no
        budget and no recommended setting.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    import_optional_dependency("matplotlib", extra="plot", feature="reports")
    from matplotlib.figure import Figure

    spec = _check_result(result).spec
    if attack not in spec.attacks:
        raise ValueError(
            f"attack {attack!r} is not one of this audit's attacks "
            f"{sorted(spec.attacks)}."
        )
    best = None
    if max_leakage is not None:
        spec.check_budget(max_leakage)
        best = result.best_under_budget(max_leakage)
    if ax is None:
        figure = Figure(figsize=(6.4, 4.4))
        ax = figure.subplots()
    else:
        figure = ax.figure
    key, std = spec.key(attack), spec.key(attack, "std")
    skipped = []
    for defense in spec.defenses:
        if not defense.applies(attack):
            skipped.append(defense.name)
            continue
        rows = [row for row in result.rows if row["defense"] == defense.name]
        if not rows:
            continue
        color, marker = defense.style or (None, "o")
        x = [result.utility(row) for row in rows]
        y = [row[key] for row in rows]
        if defense.role == "trivial":
            ax.axvline(x[0], color="grey", linestyle=":", linewidth=1)
            ax.axhline(y[0], color="grey", linestyle=":", linewidth=1)
        ax.errorbar(
            x,
            y,
            yerr=[row[std] for row in rows],
            elinewidth=0.8,
            color=color,
            marker=marker,
            markersize=9 if len(rows) == 1 else 5,
            capsize=2,
            linewidth=1.2,
            label=defense.label,
        )
    if max_leakage is not None and attack == spec.budget_attack:
        ax.axhline(
            max_leakage,
            color="tab:red",
            linestyle="--",
            linewidth=1,
            label=f"budget ({spec.budget_rule(max_leakage).rsplit(' ', 2)[-2]} "
            f"{max_leakage:g})",
        )
    if best is not None and result.applies(best, attack):
        ax.plot(
            [result.utility(best)],
            [best[key]],
            linestyle="none",
            marker="o",
            markersize=16,
            markerfacecolor="none",
            markeredgecolor="tab:red",
            markeredgewidth=2,
            label=f"recommended: {result.defense(best).name} {best['setting']}",
        )
    ax.set_xlabel(f"{spec.utility_label} ({HELD_OUT})")
    ax.set_ylabel(spec.attacks[attack].full_label)
    caption = "bars: ± 1 s.d. over folds"
    if spec.trivial is not None and spec.trivial.applies(attack):
        caption += "; dotted: the trivial model"
    if skipped:
        caption += f"; {NOT_APPLICABLE}: {', '.join(skipped)}"
    ax.text(
        0.99,
        0.01,
        caption,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color="grey",
    )
    ax.set_title(f"{spec.name}: utility against attack success")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # none where no defense was attacked
        ax.legend(fontsize=7)
    figure.tight_layout()
    return figure


def _check_result(result):
    if not isinstance(result, AuditResult):
        raise TypeError(
            f"result must be an AuditResult (from run_audit); got "
            f"{type(result).__name__}."
        )
    return result


def _format(value, digits=3):
    return f"{value:.{digits}f}"


def _cell(result, row, attack, statistic="mean"):
    """An attack's statistic on its declared rows, or why there is none."""
    if not result.applies(row, attack):
        return NOT_APPLICABLE
    value = row[result.spec.key(attack, statistic)]
    return UNDEFINED if value is None else _format(value)


def _mean_std(result, row, attack):
    mean = _cell(result, row, attack)
    if mean in (NOT_APPLICABLE, UNDEFINED):
        return mean
    return f"{mean} ± {_cell(result, row, attack, 'std')}"


# -- what each number means ------------------------------------------------------

#: One plain sentence per utility scorer.
UTILITY_DEFINITIONS = {
    "neg_mean_squared_error": (
        "the mean squared error of the model's predictions (lower is better)"
    ),
    "f1_weighted": (
        "the F1 score of the model's predicted classes, averaged over the "
        "classes weighted by their number of rows (higher is better)"
    ),
    "accuracy": "the share of rows the model classifies correctly (higher is better)",
}

#: One plain sentence per (kind of attack, metric).
METRIC_DEFINITIONS = {
    ("attribute", "accuracy"): (
        "the share of rows whose sensitive value the attacker guesses right"
    ),
    ("attribute", "advantage"): (
        "the attacker's accuracy minus the accuracy its guesses would have if "
        "the sensitive value were independent of everything it sees (the sum "
        "over values of P(guess) P(value)); 0 means it learns nothing beyond "
        "the prior"
    ),
    ("attribute", "advantage_over_prior"): (
        "the attacker's accuracy minus that of always guessing the most "
        "frequent value (what an attacker who knows only the prior achieves); "
        "0 or less means the attack does no better than the prior"
    ),
    ("attribute", "f1"): (
        "the F1 score of the attacker's guesses of the sensitive value (of the "
        "positive value for a yes/no one, macro-averaged over the values "
        "otherwise): it rewards finding the rare value, not repeating the "
        "common one"
    ),
    ("attribute", "roc_auc"): (
        "the probability that the attacker ranks a row holding a sensitive "
        "value above a row that does not (one value against the others, "
        "averaged over the values); 0.5 is chance"
    ),
    ("membership", "accuracy"): (
        "the share of rows, as many members (training rows) as non-members "
        "(held-out rows), whose membership the attacker guesses right; 0.5 is "
        "chance"
    ),
    ("membership", "advantage"): (
        "the attacker's true-positive rate minus its false-positive rate on "
        "members against non-members; 0 is chance"
    ),
    ("membership", "roc_auc"): (
        "the probability that the attacker scores a random member above a "
        "random non-member (AUC); 0.5 is chance"
    ),
    ("membership", "tpr_at_1pct_fpr"): (
        "the share of members the attacker finds with its threshold set so "
        "that it wrongly accuses at most 1% of the non-members (TPR at 1% "
        "FPR); 0.01 is chance: it shows whether some members can be picked "
        "out with confidence, which averages hide"
    ),
    ("membership", "tpr_at_0.1pct_fpr"): (
        "the share of members the attacker finds while wrongly accusing at "
        "most 0.1% of the non-members; 0.001 is chance"
    ),
    ("class_reconstruction", "accuracy"): (
        "the share of classes whose reconstruction an evaluation classifier, "
        "trained on the private images the attacker never sees, assigns to "
        "that class (Acc@1); 1/K is chance for K classes"
    ),
    ("class_reconstruction", "top5_accuracy"): (
        "the share of classes whose reconstruction has that class among the "
        "evaluation classifier's five most likely classes (Acc@5)"
    ),
    ("class_reconstruction", "knn_distance"): (
        "the distance from each class's reconstruction to the nearest private "
        "image of that class, in the evaluation classifier's feature space; "
        "lower means the attacker sees more"
    ),
    ("class_reconstruction", "knn_pixel_distance"): (
        "the distance in pixels from each class's reconstruction to the nearest "
        "private image of that class; lower means the attacker sees more"
    ),
    ("class_reconstruction", "mse"): (
        "the mean squared error per pixel between each class's reconstruction "
        "and the mean private image of that class; lower means the attacker "
        "sees more"
    ),
    ("reconstruction", "mse"): (
        "the mean squared error per pixel between the attacker's "
        "reconstruction of an image and the true image (inversion error); "
        "lower means the attacker sees more"
    ),
}

#: How a metric is named in a "strongest attack" column (by (kind, metric)
#: where one kind names it otherwise).
METRIC_NAMES = {
    "accuracy": "accuracy",
    "advantage": "advantage",
    "advantage_over_prior": "advantage over the prior",
    "f1": "F1",
    "roc_auc": "AUC",
    "tpr_at_1pct_fpr": "TPR at 1% FPR",
    "tpr_at_0.1pct_fpr": "TPR at 0.1% FPR",
    "mse": "inversion error",
    ("class_reconstruction", "accuracy"): "Acc@1",
    "top5_accuracy": "Acc@5",
    "knn_distance": "KNN distance",
    "knn_pixel_distance": "KNN pixel distance",
}

#: How a kind of attack is named in a "strongest attack" column ("strongest
#: attack" alone for the others).
KIND_NAMES = {
    "membership": "membership",
    "class_reconstruction": "class-reconstruction",
}


def _metric_of(attack_spec):
    scorer = attack_spec.scorer
    return getattr(scorer, "kind", None), getattr(scorer, "metric", None)


def definitions(result):
    """``[(term, sentence), ...]``: the utility and every attack column, defined.

    Attacks that share a metric and rows are defined together; each
    sentence names the rows it was measured on.
    """
    spec = _check_result(result).spec
    utility = UTILITY_DEFINITIONS.get(
        spec.utility if isinstance(spec.utility, str) else None,
        f"the score of {spec.utility!r} (higher is better)",
    )
    items = [
        (
            spec.utility_label,
            f"Utility: {utility}, measured on the {HELD_OUT} of each split.",
        )
    ]
    groups = {}
    for attack in spec.attacks.values():
        kind, metric = _metric_of(attack)
        groups.setdefault((kind, metric, attack.rows_label), []).append(attack)
    for (kind, metric, rows), attacks in groups.items():
        sentence = METRIC_DEFINITIONS.get((kind, metric))
        if sentence is None:
            sentence = f"the attack's {metric or 'score'} (see settings.json)"
        more = "higher" if attacks[0].higher_is_more_leakage else "lower"
        notes = "".join(
            f" {label}: {note}."
            for label, note in dict.fromkeys(
                (_attack_name(attack), attack.note)
                for attack in attacks
                if attack.note is not None
            )
        )
        items.append(
            (
                ", ".join(attack.label for attack in attacks),
                f"{sentence[0].upper()}{sentence[1:]}; measured on the {rows}; "
                f"{more} means more leakage.{notes}",
            )
        )
    if _strongest_groups(spec):
        items.append(
            (
                "strongest attack",
                "For each metric that several attacks report, the worst case "
                "for the defense: the attack with the most leakage on that row, "
                "in the metric's orientation.",
            )
        )
    return items


def _attack_name(attack_spec):
    """The attack's class name, e.g. ``"LearnedAttributeInference"``."""
    attack = getattr(attack_spec.scorer, "attack", None)
    return type(attack).__name__ if attack is not None else attack_spec.label


def _strongest_groups(spec):
    """``[(column title, [attack names]), ...]`` for metrics shared by 2+ attacks."""
    groups = {}
    for name, attack in spec.attacks.items():
        kind, metric = _metric_of(attack)
        if metric is None:
            continue
        groups.setdefault((kind, metric, attack.rows_label), []).append(name)
    return [
        (
            f"strongest {KIND_NAMES[kind] + ' ' if kind in KIND_NAMES else ''}"
            f"attack: {_metric_name(kind, metric)} ({rows})",
            names,
        )
        for (kind, metric, rows), names in groups.items()
        if len(names) > 1
    ]


def _metric_name(kind, metric):
    """A metric's name in a column title: by (kind, metric), else by metric."""
    return METRIC_NAMES.get((kind, metric), METRIC_NAMES.get(metric, metric))


def _strongest(result, row, names):
    """``(value, attack name)`` of the most leaking attack of ``names`` on ``row``."""
    spec = result.spec
    measured = [
        (row[spec.key(name)], name)
        for name in names
        if result.applies(row, name) and row[spec.key(name)] is not None
    ]
    if not measured:
        return None
    higher = spec.attacks[names[0]].higher_is_more_leakage
    return (max if higher else min)(measured, key=lambda item: item[0])


def _strongest_cell(result, row, names):
    found = _strongest(result, row, names)
    if found is None:
        return NOT_APPLICABLE
    value, name = found
    return f"{_format(value)} ({result.spec.attacks[name].label})"


# -- the headline ----------------------------------------------------------------


def findings(result, *, max_leakage):
    """The report's headline: ``[(heading, sentence), ...]``, in plain words.

    The verdict on the undefended model, the recommended setting, what it
    costs in utility (against the undefended and the trivial model, with
    the share of the model's gain over the trivial model that it keeps) and
    what it buys (the budget attack, and the strongest attacks, on the
    undefended model, the recommended setting and the trivial model: for an
    attack that reads only the model, what an attacker who knows only the
    prior achieves; for one that also reads the known features, such as the
    learned attack, what those reveal without the model).
    """
    spec = _check_result(result).spec
    spec.check_budget(max_leakage)
    attack = spec.attacks[spec.budget_attack]
    key = spec.key(spec.budget_attack)
    rule = spec.budget_rule(max_leakage)
    undefended = result.row_of("undefended")
    trivial = result.row_of("trivial")
    best = result.best_under_budget(max_leakage)

    def within(value):
        if attack.higher_is_more_leakage:
            return value <= max_leakage
        return value >= max_leakage

    def leak(row):
        if row is None or not result.applies(row, spec.budget_attack):
            return None
        return row[key]

    items = []
    if undefended is None:
        verdict = "The undefended model was not audited (add it to --defenses)."
    elif leak(undefended) is None:
        verdict = (
            f"The budget attack does not apply to the undefended model "
            f"({result.defense(undefended).label})."
        )
    else:
        value = leak(undefended)
        verdict = (
            f"The undefended model ({result.defense(undefended).label}) "
            + ("meets" if within(value) else "fails")
            + f" the budget {rule}: it scores {_format(value)}."
        )
    if best is None:
        verdict += f" No audited setting meets the budget {rule}."
    elif undefended is not None and best is not undefended:
        verdict += (
            f" {result.defense(best).label} {best['setting']} meets it and keeps "
            "the most utility."
        )
    items.append(("Verdict", verdict))
    items.append(("Recommended", _budget_sentence(result, max_leakage)))
    if best is None:
        return items

    label = spec.utility_label
    cost = (
        f"{label} ({HELD_OUT}) {_format(result.utility(best))} for the "
        "recommended setting"
    )
    compared = []
    if undefended is not None:
        compared.append(
            f"{_format(result.utility(undefended))} for the undefended model"
        )
    if trivial is not None:
        compared.append(
            f"{_format(result.utility(trivial))} for a trivial model "
            f"({result.defense(trivial).name.split('(', 1)[-1].rstrip(')')})"
        )
    if compared:
        cost += ", against " + " and ".join(compared)
    if undefended is not None and trivial is not None:
        gain = undefended["mean_test_utility"] - trivial["mean_test_utility"]
        if gain > 0:
            kept = (best["mean_test_utility"] - trivial["mean_test_utility"]) / gain
            cost += (
                f": it keeps {kept:.0%} of the undefended model's gain over the "
                "trivial model"
            )
        else:
            cost += ": the undefended model is no better than the trivial one"
    items.append(("What it costs", cost + "."))

    buys = [f"{attack.full_label} {_format(leak(best))} for the recommended setting"]
    if leak(undefended) is not None:
        buys.append(f"{_format(leak(undefended))} undefended")
    if leak(trivial) is not None:
        buys.append(
            f"{_format(leak(trivial))} for the prior-only attacker (the same "
            "attack on the trivial model)"
        )
    sentences = [", ".join(buys)]
    for title, names in _strongest_groups(spec):
        values = []
        # "on the trivial model", not "prior-only": an attacker that reads the
        # known features (the learned attack) succeeds there without the model.
        for who, row in (
            ("recommended", best),
            ("undefended", undefended),
            ("on the trivial model", trivial),
        ):
            found = None if row is None else _strongest(result, row, names)
            if found is not None:
                value, name = found
                values.append(f"{_format(value)} {who} ({spec.attacks[name].label})")
        if values:
            sentences.append(f"{title[0].upper()}{title[1:]}: {', '.join(values)}")
    items.append(("What it buys", ". ".join(sentences) + "."))
    return items


def summary_rows(result):
    """Table rows (header first) for Markdown and HTML: every attack, its rows."""
    spec = _check_result(result).spec
    strongest = _strongest_groups(spec)
    header = (
        [
            "defense",
            "setting",
            f"{spec.utility_label} ({HELD_OUT})",
            f"{spec.utility_label} ({ROWS['train']})",
        ]
        + [f"{label} ({HELD_OUT})" for _, label in spec.extras.values()]
        + [spec.attacks[a].full_label for a in spec.attacks]
        + [title for title, _ in strongest]
        + ["Pareto"]
    )
    rows = [header]
    for row in result.rows:
        train = spec.utility_sign * row["mean_train_utility"]
        trivial = result.defense(row).role == "trivial"
        rows.append(
            [
                result.defense(row).label,
                row["setting"],
                f"{_format(result.utility(row))} ± {_format(row['std_test_utility'])}",
                f"{_format(train)} ± {_format(row['std_train_utility'])}",
            ]
            + [
                NOT_APPLICABLE
                if trivial
                else f"{_format(row[f'mean_test_{name}'])} ± "
                f"{_format(row[f'std_test_{name}'])}"
                for name in spec.extras
            ]
            + [_mean_std(result, row, a) for a in spec.attacks]
            + [_strongest_cell(result, row, names) for _, names in strongest]
            + ["yes" if row["pareto"] else ""]
        )
    return rows


def format_summary(result, *, max_leakage):
    """A short plain-text summary for the terminal.

    The same facts as the report, first: the verdict, the recommended
    setting (marked ``>`` in the table), what it costs and what it buys;
    then the table of the plotted attacks, each column naming its rows, and
    what each number means. ``max_leakage`` is the budget on the audit's
    budget attack, in its metric's units.
    """
    spec = _check_result(result).spec
    spec.check_budget(max_leakage)
    lines = [f"skmid audit {spec.name}: {spec.description}", ""]
    lines += [
        f"{heading}: {sentence}"
        for heading, sentence in findings(result, max_leakage=max_leakage)
    ]
    lines += ["", f"utility: {spec.utility_label} on the {HELD_OUT}"]
    shown = list(dict.fromkeys([*spec.plot_attacks, spec.budget_attack]))
    for name in shown:
        lines.append(f"{name}: {spec.attacks[name].full_label}")
    columns = ["  defense", "setting", f"utility ({HELD_OUT})"] + [
        f"{a} ({spec.attacks[a].rows_label})" for a in shown
    ]
    labels = [result.defense(row).label for row in result.rows]
    widths = [max(9, *map(len, labels)) + 2, 22, len(columns[2])] + [
        max(len(NOT_APPLICABLE), len(c)) for c in columns[3:]
    ]
    best = result.best_under_budget(max_leakage)
    lines.append(" ".join(f"{c:<{w}}" for c, w in zip(columns, widths, strict=True)))
    for label, row in zip(labels, result.rows, strict=True):
        mark = "> " if row is best else "  "
        values = [mark + label, row["setting"], _format(result.utility(row))] + [
            _cell(result, row, a) for a in shown
        ]
        lines.append(" ".join(f"{v:<{w}}" for v, w in zip(values, widths, strict=True)))
    lines.append("(> recommended)")
    lines.append("")
    lines += [f"{term}: {sentence}" for term, sentence in definitions(result)]
    return "\n".join(lines)


def _budget_sentence(result, max_leakage):
    spec = result.spec
    best = result.best_under_budget(max_leakage)
    rule = spec.budget_rule(max_leakage)
    excluded = [
        d.name
        for d in spec.defenses
        if not d.applies(spec.budget_attack) and d.role != "trivial"
    ]
    tail = (
        f" ({', '.join(excluded)}: {NOT_APPLICABLE}, not a candidate)"
        if excluded
        else ""
    )
    if best is None:
        return f"No setting keeps {rule}{tail}."
    return (
        f"Most useful setting with {rule}: {result.defense(best).label} "
        f"{best['setting']} ({spec.utility_label} {_format(result.utility(best))})"
        f"{tail}."
    )


def write_report(result, out_dir, *, max_leakage=0.02, command=None, overwrite=False):
    """Write the report files into ``out_dir``; returns ``{name: path}``.

    ``report.html`` (self-contained: styles and images inlined, nothing
    loaded from the network) and ``report.md`` state the same facts in the
    same order: the verdict, the recommended setting, what it costs and
    what it buys, the table with the recommended row
    highlighted, what each number means, and the figures (a trade-off plot
    per plotted attack and for the budget attack, with the budget, the
    recommended setting and the trivial model marked). ``results.csv`` has
    every statistic, ``settings.json`` the exact settings and versions.

    ``max_leakage`` is the budget on the audit's budget attack, in its
    metric's units (a largest value, or a smallest one where lower means
    more leakage). The report is written into a new folder beside
    ``out_dir`` and moved into place only once complete, so an interrupted
    run leaves the previous report (or none), never a mix of two runs.
    ``out_dir`` may be new, empty or a previous skmid report (it holds the
    marker file ``.skmid-report``); a folder holding other files is refused
    unless ``overwrite=True``, which replaces the report's files there and
    keeps the others.
    """
    _check_result(result).spec.check_budget(max_leakage)
    return _publish(
        out_dir,
        lambda out: _write_audit_files(result, out, max_leakage, command),
        overwrite=overwrite,
    )


def _csv_value(result, row, key, attack):
    if attack is not None and not result.applies(row, attack):
        return NOT_APPLICABLE
    value = row[key]
    return UNDEFINED if value is None else value


def _write_audit_files(result, out, max_leakage, command):
    spec = result.spec
    paths = {}

    paths["results.csv"] = out / "results.csv"
    scorers = (
        [("utility", None)]
        + [(name, None) for name in spec.extras]
        + [(a, a) for a in spec.attacks]
    )
    stats = [f"{s}_{name}" for name, _ in scorers for s in STATISTICS]
    fields = ["defense", "setting", "role", "note", "params", *stats, "pareto"]
    with open(paths["results.csv"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in result.rows:
            line = {
                "defense": row["defense"],
                "setting": row["setting"],
                "role": result.defense(row).role,
                "note": row["note"] or "",
                "params": json.dumps(row["params"], default=float),
                "pareto": row["pareto"],
            }
            for name, attack in scorers:
                for statistic in STATISTICS:
                    key = f"{statistic}_{name}"
                    line[key] = _csv_value(result, row, key, attack)
            writer.writerow(line)

    best = result.best_under_budget(max_leakage)
    paths["settings.json"] = out / "settings.json"
    settings = {
        "audit": spec.name,
        "description": spec.description,
        "command": command if command is not None else " ".join(sys.argv),
        "task": spec.task,
        "utility": {
            "scorer": str(spec.utility),
            "label": spec.utility_label,
            "rows": HELD_OUT,
            "reported_as": f"{spec.utility_sign:g} * mean_test_utility",
        },
        "sensitive": str(spec.sensitive),
        "extras": {name: label for name, (_, label) in spec.extras.items()},
        "attacks": {
            name: {
                "scorer": repr(attack.scorer),
                "label": attack.label,
                "rows": attack.rows_label,
                "higher_is_more_leakage": attack.higher_is_more_leakage,
                "note": attack.note,
            }
            for name, attack in spec.attacks.items()
        },
        "budget_attack": spec.budget_attack,
        "max_leakage": max_leakage,
        "budget": spec.budget_rule(max_leakage),
        "recommended": None
        if best is None
        else {"defense": best["defense"], "setting": best["setting"]},
        "pareto_attacks": list(spec.front_attacks),
        "defenses": [
            {
                "name": d.name,
                "role": d.role,
                "note": d.note,
                "estimator": repr(d.estimator),
                "param_grid": d.param_grid,
                "param_notes": d.param_notes,
                "attacks": [a for a in spec.attacks if d.applies(a)],
                "not_applicable": [a for a in spec.attacks if not d.applies(a)],
            }
            for d in spec.defenses
        ],
        **result.settings,
        "versions": get_versions(),
    }
    paths["settings.json"].write_text(json.dumps(settings, indent=2, default=str))

    images = {}
    for attack in dict.fromkeys([*spec.plot_attacks, spec.budget_attack]):
        path = out / f"tradeoff_{attack}.png"
        plot_tradeoff(result, attack, max_leakage=max_leakage).savefig(path, dpi=110)
        paths[path.name] = path
        images[spec.attacks[attack].full_label] = path

    front = ", ".join(spec.attacks[a].full_label for a in spec.front_attacks)
    run = result.settings
    splits = (
        f"{run['cv']}-fold cross-validation repeated {run['repeats']} times "
        f"(seed {run['random_state']})"
        if "splits" not in run
        else run["splits"]
    )
    settings_line = (
        f"{splits}; mean ± standard deviation over the splits. The utility is "
        "measured on "
        f"the {HELD_OUT}; each attack column names the rows it was scored on "
        "(results.csv has both kinds of rows for every attack). Pareto: not "
        f"dominated on the utility and {front}, each compared where it was "
        f"measured ({NOT_APPLICABLE}: the attack does not apply to that "
        "defense, which competes on the others); the trivial model is a "
        "reference, never on the front nor recommended."
    )
    notes = [
        f"{d.name}: {param} is the {meaning}."
        for d in spec.defenses
        for param, meaning in d.param_notes.items()
    ] + [f"{d.name}: {d.note}." for d in spec.defenses if d.note]
    paragraphs = []
    if notes:
        paragraphs.append("Defenses. " + " ".join(notes))
    if spec.claims is not None:
        checked = spec.claims(result)
        paragraphs.append(
            "Published claims checked on these numbers: "
            + (
                "; ".join(
                    f"{text}: {'holds' if holds else 'does not hold'}"
                    for text, holds in checked
                )
                if checked
                else "none applies to these defenses"
            )
            + "."
        )
    if spec.figures is not None:
        for name, figure in spec.figures(result).items():
            path = out / name
            figure.savefig(path, dpi=110)
            paths[name] = path
            images[figure.get_label() or name] = path

    table = summary_rows(result)
    roles = [result.defense(row).role for row in result.rows]
    paths.update(
        _write_pages(
            out,
            {
                "title": f"skmid audit: {spec.name}",
                "description": spec.description,
                "findings": findings(result, max_leakage=max_leakage),
                "settings_line": settings_line,
                "header": table[0],
                "rows": [
                    {
                        "cells": cells,
                        "recommended": row is best,
                        "role": role,
                    }
                    for cells, row, role in zip(
                        table[1:], result.rows, roles, strict=True
                    )
                ],
                "definitions": definitions(result),
                "paragraphs": paragraphs,
                "images": images,
                "footer": (
                    "Files: results.csv (every statistic), settings.json (exact "
                    "settings, seeds and package versions)."
                ),
            },
        )
    )
    return paths


def _environment(autoescape):
    """The report templates (``skmid/audit/templates``), HTML autoescaped."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("skmid.audit", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def _write_pages(out, context):
    """report.md and a self-contained report.html; returns their paths.

    Both come from Jinja2 templates fed the same context; the HTML has its
    stylesheet and its images inlined (data: URIs), so it loads nothing.
    """
    paths = {"report.md": out / "report.md", "report.html": out / "report.html"}
    context = dict(context)
    images = context.pop("images")
    markdown = _environment(False).get_template("report.md.j2")
    paths["report.md"].write_text(
        markdown.render(
            **context,
            images=[(label, path.name) for label, path in images.items()],
        )
    )
    page = _environment(True).get_template("report.html.j2")
    environment = page.environment
    paths["report.html"].write_text(
        page.render(
            **context,
            images=[
                (
                    label,
                    "data:image/png;base64,"
                    + base64.b64encode(path.read_bytes()).decode("ascii"),
                )
                for label, path in images.items()
            ],
            stylesheet=environment.loader.get_source(environment, "report.css")[0],
            version=str(get_versions()["skmid"]),
        )
    )
    return paths


# -- publishing a report folder ------------------------------------------------

#: The file that marks a folder as a report skmid wrote; it lists the files.
MARKER = ".skmid-report"


def check_report_folder(
    out_dir, *, overwrite=False, name="out_dir", flag="overwrite=True"
):
    """Check, before any work, that a report may be written to ``out_dir``.

    A report never loses a user's files: a folder holding files that skmid
    did not write is refused unless ``overwrite`` (which still keeps those
    files), and a folder that cannot be created or written is refused.
    :func:`write_report` runs this check itself; the ``skmid audit`` command
    runs it before the audit, so that a bad ``--out`` fails at once.

    Parameters
    ----------
    out_dir : str or path-like
        The report folder; it need not exist.
    overwrite : bool, default=False
        Allow a folder that holds other files (they are kept).
    name, flag : str
        How the caller spells the folder and the overwrite switch, for the
        messages (the command line says ``--out`` and ``--overwrite``).

    Returns
    -------
    out : pathlib.Path
        The folder, as an absolute path.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skmid.audit import check_report_folder
    >>> parent = Path(tempfile.mkdtemp())
    >>> check_report_folder(parent / "audit") == parent / "audit"
    True
    >>> _ = (parent / "notes.txt").write_text("mine")
    >>> check_report_folder(parent)
    Traceback (most recent call last):
    ...
    ValueError: out_dir ... holds files skmid did not write (notes.txt); ...
    """
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"{name} must be a folder path; got {out_dir!r}.")
    if not os.fspath(out_dir):
        raise ValueError(f"{name} must be a folder path; got an empty one.")
    out = Path(os.path.abspath(out_dir))
    if out.is_symlink():
        out = out.resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name} {out} is a file, not a folder.")
    foreign = _foreign_entries(out)
    if foreign and not overwrite:
        listed = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ValueError(
            f"{name} {out} holds files skmid did not write ({listed}); choose a "
            f"new or empty folder, or pass {flag} to write the report's files there "
            "and keep the others."
        )
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    probes = [ancestor] + ([out] if foreign else [])
    for folder in probes:
        if not folder.is_dir():
            raise ValueError(f"{name} {out} cannot be made: {folder} is not a folder.")
        try:
            _fresh_folder(folder, ".skmid-probe-").rmdir()
        except OSError as error:
            raise ValueError(
                f"{name} {out} cannot be written: {error.strerror or error} in "
                f"{folder}."
            ) from None
    return out


def _owned_files(out):
    """The plain files of ``out`` that its marker lists (a previous report's)."""
    try:
        files = json.loads((out / MARKER).read_text())["files"]
    except (OSError, ValueError, TypeError, KeyError):
        return set()
    if not isinstance(files, list):
        return set()
    # Only plain files directly in ``out``: a marker naming "../x", a folder
    # or a link must never make skmid delete what it points to.
    return {
        name
        for name in files
        if isinstance(name, str)
        and name not in ("", ".", "..", MARKER)
        and os.path.basename(name) == name
        and (out / name).is_file()
        and not (out / name).is_symlink()
    }


def _foreign_entries(out):
    """What ``out`` holds that skmid did not write (sorted names)."""
    if not out.is_dir():
        return []
    owned = _owned_files(out) | {MARKER}
    return sorted(name for name in os.listdir(out) if name not in owned)


def _fresh_folder(parent, prefix):
    """A new, empty folder in ``parent`` (made with the usual permissions)."""
    while True:
        folder = parent / f"{prefix}{uuid.uuid4().hex[:12]}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder


def _publish(out_dir, write, *, overwrite, name="out_dir", flag="overwrite=True"):
    """Run ``write(folder) -> {name: path}`` in a new folder, then move it in place.

    The folder is made beside ``out_dir`` (same file system, so the moves are
    renames) and only a complete report is moved into place, with Ctrl-C held
    back during the moves: after an interruption ``out_dir`` holds the
    previous report, never a mix of two runs.
    """
    out = check_report_folder(out_dir, overwrite=overwrite, name=name, flag=flag)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = _fresh_folder(out.parent, f".{out.name}.skmid-new-")
    except OSError as error:
        raise ValueError(f"{name} {out} cannot be written: {error}") from None
    try:
        paths = write(staging)
        files = sorted(path.name for path in paths.values())
        (staging / MARKER).write_text(
            json.dumps({"skmid": __version__, "files": files}, indent=2)
        )
        with _interrupt_deferred():
            _move_into_place(staging, out, files)
    except OSError as error:
        raise ValueError(f"{name} {out}: could not write the report: {error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {key: out / path.name for key, path in paths.items()}


def _move_into_place(staging, out, files):
    foreign = _foreign_entries(out)
    if not out.exists():
        staging.rename(out)
    elif not foreign:
        # A previous report or an empty folder: swap the whole folder.
        aside = out.parent / f".{out.name}.skmid-old-{uuid.uuid4().hex[:12]}"
        out.rename(aside)
        try:
            staging.rename(out)
        except BaseException:
            aside.rename(out)
            raise
        shutil.rmtree(aside, ignore_errors=True)
    else:
        # overwrite=True into a folder with the user's files: keep them, replace
        # the report's own; no marker while the files are mixed.
        previous = _owned_files(out)
        (out / MARKER).unlink(missing_ok=True)
        for name in files:
            os.replace(staging / name, out / name)
        for name in previous - set(files):
            with contextlib.suppress(OSError):
                (out / name).unlink()
        os.replace(staging / MARKER, out / MARKER)


@contextlib.contextmanager
def _interrupt_deferred():
    """Hold a Ctrl-C back until the block is done (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda *_: received.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous):
            previous(signal.SIGINT, None)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt
