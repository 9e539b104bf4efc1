"""Audit reports: results.csv, settings.json, plots, report.md and report.html."""

import base64
import csv
import html
import json
import math
import sys
from pathlib import Path

from .._show_versions import _get_versions
from ..utils import import_optional_dependency

_ROWS = {"test": "held-out rows", "train": "training rows"}

DEFENSE_STYLES = {
    "OLS": ("black", "*"),
    "ID3": ("black", "*"),
    "MID": ("tab:blue", "o"),
    "AdaSSP": ("tab:red", "s"),
    "DP-ID3": ("tab:red", "s"),
    "Priority": ("tab:green", "^"),
    "CMI": ("tab:purple", "D"),
}


def plot_tradeoff(result, attack):
    """Utility against one attack's success, a series per defense (a Figure)."""
    matplotlib = import_optional_dependency(
        "matplotlib", extra="plot", feature="reports"
    )
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = result.spec
    figure, ax = plt.subplots(figsize=(6.4, 4.4))
    for defense in spec.defenses:
        rows = [
            row
            for row in result.rows
            if row["defense"] == defense.name and math.isfinite(row[spec.key(attack)])
        ]
        if not rows:
            continue
        color, marker = DEFENSE_STYLES.get(defense.name, (None, "o"))
        ax.errorbar(
            [row["utility_mean"] for row in rows],
            [row[spec.key(attack)] for row in rows],
            yerr=[row[spec.key(attack, "std")] for row in rows],
            elinewidth=0.8,
            color=color,
            marker=marker,
            markersize=9 if len(rows) == 1 else 5,
            capsize=2,
            linewidth=1.2,
            label=defense.name,
        )
    ax.set_xlabel(spec.utility_label)
    ax.set_ylabel(f"{spec.attack_labels[attack]} ({_ROWS[spec.attack_rows]})")
    ax.text(
        0.99,
        0.01,
        "bars: ± 1 s.d. over folds",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color="grey",
    )
    ax.set_title(f"{spec.name}: utility against attack success")
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return figure


def _format(value, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def summary_rows(result):
    """Table rows (header first) for the terminal, Markdown and HTML."""
    spec = result.spec
    header = (
        ["defense", "setting", spec.utility_label]
        + [spec.attack_labels[a] for a in spec.attacks]
        + ["Pareto"]
    )
    rows = [header]
    for row in result.rows:
        rows.append(
            [
                row["defense"],
                row["setting"],
                f"{_format(row['utility_mean'])} ± {_format(row['utility_std'])}",
            ]
            + [
                f"{_format(row[spec.key(a)])} ± {_format(row[spec.key(a, 'std')])}"
                if math.isfinite(row[spec.key(a)])
                else "n/a"
                for a in spec.attacks
            ]
            + ["*" if row["pareto"] else ""]
        )
    return rows


def format_summary(result, *, max_advantage):
    """A short plain-text summary for the terminal."""
    spec = result.spec
    columns = ["defense", "setting", "utility"] + list(spec.plot_attacks)
    lines = [
        f"skmid audit {spec.name}: {spec.description}",
        f"utility: {spec.utility_label}; attacks on held-out rows",
    ]
    widths = [9, 22, 9] + [max(10, len(a)) for a in spec.plot_attacks]
    lines.append(" ".join(f"{c:<{w}}" for c, w in zip(columns, widths, strict=True)))
    for row in result.rows:
        values = [row["defense"], row["setting"], _format(row["utility_mean"])] + [
            _format(row[spec.key(a)]) for a in spec.plot_attacks
        ]
        lines.append(" ".join(f"{v:<{w}}" for v, w in zip(values, widths, strict=True)))
    lines.append(_budget_sentence(result, max_advantage))
    return "\n".join(lines)


def _budget_sentence(result, max_advantage):
    spec = result.spec
    best = result.best_under_budget(max_advantage)
    label = spec.attack_labels[spec.budget_attack]
    if best is None:
        return f"No setting keeps the {label} within {max_advantage}."
    return (
        f"Most useful setting with {label} <= {max_advantage}: {best['defense']} "
        f"{best['setting']} ({spec.utility_label} {_format(best['utility_mean'])})."
    )


def write_report(result, out_dir, *, max_advantage=0.02, command=None):
    """Write the report files; returns ``{name: path}``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec = result.spec
    paths = {}

    paths["results.csv"] = out / "results.csv"
    fields = (
        ["defense", "setting", "params", "utility_mean", "utility_std"]
        + [
            f"{a}_{s}"
            for a in spec.attacks
            for s in ["test_mean", "test_std", "train_mean", "train_std"]
        ]
        + ["pareto"]
    )
    with open(paths["results.csv"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in result.rows:
            writer.writerow({**row, "params": json.dumps(row["params"], default=float)})

    paths["settings.json"] = out / "settings.json"
    settings = {
        "audit": spec.name,
        "description": spec.description,
        "command": command if command is not None else " ".join(sys.argv),
        "task": spec.task,
        "utility": spec.utility,
        "sensitive": str(spec.sensitive),
        "attacks": {a: repr(scorer) for a, scorer in spec.attacks.items()},
        "budget_attack": spec.budget_attack,
        "max_advantage": max_advantage,
        "defenses": [
            {
                "name": d.name,
                "estimator": repr(d.estimator),
                "param_grid": d.param_grid,
                "attacks": list(d.attacks or spec.attacks),
            }
            for d in spec.defenses
        ],
        **result.settings,
        "versions": _get_versions(),
    }
    paths["settings.json"].write_text(json.dumps(settings, indent=2, default=str))

    images = {}
    for attack in spec.plot_attacks:
        figure = plot_tradeoff(result, attack)
        path = out / f"tradeoff_{attack}.png"
        figure.savefig(path, dpi=110)
        import matplotlib.pyplot as plt

        plt.close(figure)
        paths[path.name] = path
        images[attack] = path

    table = summary_rows(result)
    budget = _budget_sentence(result, max_advantage)
    settings_line = (
        f"{result.settings['cv']}-fold cross-validation repeated "
        f"{result.settings['repeats']} times (seed {result.settings['random_state']}); "
        f"mean ± standard deviation over the folds; attacks scored on the "
        f"{_ROWS[spec.attack_rows]} of each fold (both kinds of rows in results.csv). "
        "Pareto: not dominated on utility and "
        f"{spec.attack_labels[spec.budget_attack]}."
    )

    paths.update(
        _write_pages(
            out,
            title=f"skmid audit: {spec.name}",
            paragraphs=[spec.description, settings_line],
            emphasis=budget,
            table=table,
            images={spec.attack_labels[a]: p for a, p in images.items()},
            footer=(
                "Files: results.csv (every statistic), settings.json (exact "
                "settings, seeds and package versions)."
            ),
        )
    )
    return paths


def _write_pages(out, *, title, paragraphs, emphasis, table, images, footer):
    """report.md and a self-contained report.html; returns their paths."""
    paths = {"report.md": out / "report.md", "report.html": out / "report.html"}
    markdown = [f"# {title}", ""]
    for paragraph in paragraphs:
        markdown += [paragraph, ""]
    markdown += [
        emphasis,
        "",
        "| " + " | ".join(table[0]) + " |",
        "|" + "---|" * len(table[0]),
    ]
    markdown += ["| " + " | ".join(row) + " |" for row in table[1:]]
    for label, path in images.items():
        markdown += ["", f"![{label}]({path.name})"]
    markdown += ["", footer]
    paths["report.md"].write_text("\n".join(markdown) + "\n")

    cells = "".join(f"<th>{html.escape(c)}</th>" for c in table[0])
    body_rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in table[1:]
    )
    figures = "".join(
        f'<figure><img alt="{html.escape(label)}" '
        f'src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        f"<figcaption>{html.escape(label)}</figcaption></figure>"
        for label, p in images.items()
    )
    texts = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 70em; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
th {{ background: #f0f0f0; }} td:first-child, td:nth-child(2) {{ text-align: left; }}
figure {{ display: inline-block; margin: 1em; }} img {{ max-width: 36em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{texts}
<p><strong>{html.escape(emphasis)}</strong></p>
<table><thead><tr>{cells}</tr></thead><tbody>{body_rows}</tbody></table>
{figures}
<p>skmid {html.escape(str(_get_versions()["skmid"]))}; {html.escape(footer)}</p>
</body></html>
"""
    paths["report.html"].write_text(page)
    return paths


def write_comparison_report(comparison, out_dir, *, command=None):
    """Write a defense comparison's report files; returns ``{name: path}``.

    report.md and report.html (the table, the papers' claims checked, the
    reconstruction figure), reconstructions.png, results.csv (one row per
    defense and seed), summary.csv (mean and standard deviation over seeds)
    and settings.json.
    """
    from ._comparison import COLUMNS, claims, plot_reconstructions

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in [
        ("results.csv", comparison.rows),
        ("summary.csv", comparison.summary()),
    ]:
        paths[name] = out / name
        with open(paths[name], "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    paths["settings.json"] = out / "settings.json"
    settings = {
        "audit": comparison.dataset,
        "description": comparison.description,
        "command": command if command is not None else " ".join(sys.argv),
        **comparison.settings,
        "versions": _get_versions(),
    }
    paths["settings.json"].write_text(json.dumps(settings, indent=2, default=str))

    figure = plot_reconstructions(comparison)
    paths["reconstructions.png"] = out / "reconstructions.png"
    figure.savefig(paths["reconstructions.png"], dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)

    checked = claims(comparison)
    emphasis = "; ".join(
        f"{text}: {'holds' if holds else 'does not hold'}" for text, holds in checked
    )
    n_seeds = len(comparison.settings.get("seeds", [])) or 1
    columns = ", ".join(COLUMNS.values())
    paths.update(
        _write_pages(
            out,
            title=f"skmid audit: {comparison.dataset} (output defenses)",
            paragraphs=[
                comparison.description + ".",
                f"Mean ± standard deviation over {n_seeds} seed(s) of the split, "
                f"the target and the attacks. Columns: {columns}. The inversion "
                "error is the attacker's own inversion model on the training "
                "images (higher = better defended; reconstructing every image as "
                f"the mean image scores {comparison.baseline_error:.4f}); "
                "membership accuracies are on balanced members and non-members "
                "(0.5 = chance).",
            ],
            emphasis=emphasis or "No paper claim applies to these defenses.",
            table=comparison.table(),
            images={"Reconstructions per defense": paths["reconstructions.png"]},
            footer=(
                "results.csv holds every seed, summary.csv the means, "
                "settings.json the exact settings and package versions."
            ),
        )
    )
    return paths
