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


def plot_tradeoff(result, attack, ax=None):
    """Utility against one attack's success, a series per defense.

    Draws on ``ax`` when given, else on a new
    :class:`matplotlib.figure.Figure` (the user's pyplot state and backend
    are left alone). Defenses that ``attack`` does not apply to have no
    series; the caption names them.

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
        ax.errorbar(
            [result.utility(row) for row in rows],
            [row[key] for row in rows],
            yerr=[row[std] for row in rows],
            elinewidth=0.8,
            color=color,
            marker=marker,
            markersize=9 if len(rows) == 1 else 5,
            capsize=2,
            linewidth=1.2,
            label=defense.label,
        )
    ax.set_xlabel(f"{spec.utility_label} ({HELD_OUT})")
    ax.set_ylabel(spec.attacks[attack].full_label)
    caption = "bars: ± 1 s.d. over folds"
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


def summary_rows(result):
    """Table rows (header first) for Markdown and HTML: every attack, its rows."""
    spec = _check_result(result).spec
    header = (
        [
            "defense",
            "setting",
            f"{spec.utility_label} ({HELD_OUT})",
            f"{spec.utility_label} ({ROWS['train']})",
        ]
        + [f"{label} ({HELD_OUT})" for _, label in spec.extras.values()]
        + [spec.attacks[a].full_label for a in spec.attacks]
        + ["Pareto"]
    )
    rows = [header]
    for row in result.rows:
        train = spec.utility_sign * row["mean_train_utility"]
        rows.append(
            [
                result.defense(row).label,
                row["setting"],
                f"{_format(result.utility(row))} ± {_format(row['std_test_utility'])}",
                f"{_format(train)} ± {_format(row['std_train_utility'])}",
            ]
            + [
                f"{_format(row[f'mean_test_{name}'])} ± "
                f"{_format(row[f'std_test_{name}'])}"
                for name in spec.extras
            ]
            + [_mean_std(result, row, a) for a in spec.attacks]
            + ["*" if row["pareto"] else ""]
        )
    return rows


def format_summary(result, *, max_leakage):
    """A short plain-text summary for the terminal.

    Every column names its rows; ``max_leakage`` is the budget on the
    audit's budget attack, in its metric's units.
    """
    spec = _check_result(result).spec
    spec.check_budget(max_leakage)
    lines = [
        f"skmid audit {spec.name}: {spec.description}",
        f"utility: {spec.utility_label} on the {HELD_OUT}",
    ]
    for name in spec.plot_attacks:
        lines.append(f"{name}: {spec.attacks[name].full_label}")
    columns = ["defense", "setting", f"utility ({HELD_OUT})"] + [
        f"{a} ({spec.attacks[a].rows_label})" for a in spec.plot_attacks
    ]
    labels = [result.defense(row).label for row in result.rows]
    widths = [max(9, *map(len, labels)), 22, len(columns[2])] + [
        max(len(NOT_APPLICABLE), len(c)) for c in columns[3:]
    ]
    lines.append(" ".join(f"{c:<{w}}" for c, w in zip(columns, widths, strict=True)))
    for label, row in zip(labels, result.rows, strict=True):
        values = [label, row["setting"], _format(result.utility(row))] + [
            _cell(result, row, a) for a in spec.plot_attacks
        ]
        lines.append(" ".join(f"{v:<{w}}" for v, w in zip(values, widths, strict=True)))
    lines.append(_budget_sentence(result, max_leakage))
    return "\n".join(lines)


def _budget_sentence(result, max_leakage):
    spec = result.spec
    best = result.best_under_budget(max_leakage)
    rule = spec.budget_rule(max_leakage)
    excluded = [d.name for d in spec.defenses if not d.applies(spec.budget_attack)]
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
    fields = ["defense", "setting", "note", "params", *stats, "pareto"]
    with open(paths["results.csv"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in result.rows:
            line = {
                "defense": row["defense"],
                "setting": row["setting"],
                "note": row["note"] or "",
                "params": json.dumps(row["params"], default=float),
                "pareto": row["pareto"],
            }
            for name, attack in scorers:
                for statistic in STATISTICS:
                    key = f"{statistic}_{name}"
                    line[key] = _csv_value(result, row, key, attack)
            writer.writerow(line)

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
            }
            for name, attack in spec.attacks.items()
        },
        "budget_attack": spec.budget_attack,
        "max_leakage": max_leakage,
        "budget": spec.budget_rule(max_leakage),
        "pareto_attacks": list(spec.front_attacks),
        "defenses": [
            {
                "name": d.name,
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
    for attack in spec.plot_attacks:
        path = out / f"tradeoff_{attack}.png"
        plot_tradeoff(result, attack).savefig(path, dpi=110)
        paths[path.name] = path
        images[attack] = path

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
        "defense, which competes on the others)."
    )
    paragraphs = [spec.description, settings_line]
    notes = [
        f"{d.name}: {param} is the {meaning}."
        for d in spec.defenses
        for param, meaning in d.param_notes.items()
    ] + [f"{d.name}: {d.note}." for d in spec.defenses if d.note]
    if notes:
        paragraphs.append("Defenses. " + " ".join(notes))
    emphasis = _budget_sentence(result, max_leakage)
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

    paths.update(
        _write_pages(
            out,
            title=f"skmid audit: {spec.name}",
            paragraphs=paragraphs,
            emphasis=emphasis,
            table=summary_rows(result),
            images={
                spec.attacks[a].full_label if a in spec.attacks else a: p
                for a, p in images.items()
            },
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
