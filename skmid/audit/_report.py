"""Audit reports: results.csv, settings.json, plots, report.md and report.html."""

import base64
import contextlib
import csv
import html
import json
import os
import shutil
import signal
import sys
import threading
import uuid
from pathlib import Path

from .._version import __version__
from ..model_selection._search import _check_budget
from ..utils import import_optional_dependency
from ..utils._versions import get_versions
from ._run import AuditResult

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

    spec = _check_result(result).spec
    if attack not in spec.attacks:
        raise ValueError(
            f"attack {attack!r} is not one of this audit's attacks "
            f"{sorted(spec.attacks)}."
        )
    figure, ax = plt.subplots(figsize=(6.4, 4.4))
    for defense in spec.defenses:
        rows = [
            row
            for row in result.rows
            if row["defense"] == defense.name and row[spec.key(attack)] is not None
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


def _check_result(result):
    if not isinstance(result, AuditResult):
        raise TypeError(
            f"result must be an AuditResult (from run_audit); got "
            f"{type(result).__name__}."
        )
    return result


def _format(value, digits=3):
    return f"{value:.{digits}f}"


def _cell(row, spec, attack, statistic="mean"):
    """An attack's statistic on the reported rows; "n/a" where there is none."""
    value = row[spec.key(attack, statistic)]
    return "n/a" if value is None else _format(value)


def summary_rows(result):
    """Table rows (header first) for the terminal, Markdown and HTML."""
    spec = _check_result(result).spec
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
                f"{_cell(row, spec, a)} ± {_cell(row, spec, a, 'std')}"
                if row[spec.key(a)] is not None
                else "n/a"
                for a in spec.attacks
            ]
            + ["*" if row["pareto"] else ""]
        )
    return rows


def format_summary(result, *, max_advantage):
    """A short plain-text summary for the terminal."""
    spec = _check_result(result).spec
    _check_budget(max_advantage)
    columns = ["defense", "setting", "utility"] + list(spec.plot_attacks)
    lines = [
        f"skmid audit {spec.name}: {spec.description}",
        f"utility: {spec.utility_label}; attacks on held-out rows",
    ]
    widths = [9, 22, 9] + [max(10, len(a)) for a in spec.plot_attacks]
    lines.append(" ".join(f"{c:<{w}}" for c, w in zip(columns, widths, strict=True)))
    for row in result.rows:
        values = [row["defense"], row["setting"], _format(row["utility_mean"])] + [
            _cell(row, spec, a) for a in spec.plot_attacks
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


def write_report(
    result, out_dir, *, max_advantage=0.02, command=None, overwrite=False
):
    """Write the report files into ``out_dir``; returns ``{name: path}``.

    The report is written into a new folder beside ``out_dir`` and moved into
    place only once complete, so an interrupted run leaves the previous
    report (or none), never a mix of two runs. ``out_dir`` may be new, empty
    or a previous skmid report (it holds the marker file ``.skmid-report``);
    a folder holding other files is refused unless ``overwrite=True``, which
    replaces the report's files there and keeps the others.
    """
    _check_result(result)
    _check_budget(max_advantage)
    return _publish(
        out_dir,
        lambda out: _write_audit_files(result, out, max_advantage, command),
        overwrite=overwrite,
    )


def _write_audit_files(result, out, max_advantage, command):
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
        # A statistic that does not exist (None) is a blank cell.
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
        "versions": get_versions(),
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
<p>skmid {html.escape(str(get_versions()["skmid"]))}; {html.escape(footer)}</p>
</body></html>
"""
    paths["report.html"].write_text(page)
    return paths


def write_comparison_report(comparison, out_dir, *, command=None, overwrite=False):
    """Write a defense comparison's report files; returns ``{name: path}``.

    report.md and report.html (the table, the papers' claims checked, the
    reconstruction figure), reconstructions.png, results.csv (one row per
    defense and seed), summary.csv (mean and standard deviation over seeds)
    and settings.json. ``out_dir`` and ``overwrite`` as for
    :func:`write_report`.
    """
    from ._comparison import DefenseComparison

    if not isinstance(comparison, DefenseComparison):
        raise TypeError(
            "comparison must be a DefenseComparison (from compare_output_defenses); "
            f"got {type(comparison).__name__}."
        )
    return _publish(
        out_dir,
        lambda out: _write_comparison_files(comparison, out, command),
        overwrite=overwrite,
    )


def _write_comparison_files(comparison, out, command):
    from ._comparison import COLUMNS, claims, plot_reconstructions

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
        "versions": get_versions(),
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


# -- publishing a report folder ------------------------------------------------

#: The file that marks a folder as a report skmid wrote; it lists the files.
MARKER = ".skmid-report"


def _check_out_dir(out_dir, *, overwrite=False, name="out_dir", flag="overwrite=True"):
    """Where a report may go: refuse anything that would lose a user's files.

    Returns the folder as an absolute path. ``name`` and ``flag`` are how the
    caller spells the folder and the overwrite switch, for the messages.
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
    out = _check_out_dir(out_dir, overwrite=overwrite, name=name, flag=flag)
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
