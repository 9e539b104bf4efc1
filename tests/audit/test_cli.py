"""``skmid audit`` on bad input: one line ``skmid audit: error: ...``, status 2."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from audit_files import set_cell, set_column, spoil_csv, write_classification_csv

import skmid.audit
from skmid._cli import main

# Columns of write_classification_csv: colour, size, height, secret, label.
HEIGHT, SECRET, LABEL = 2, 3, 4


def files(tmp_path):
    """Name -> CSV (or folder) used by the cases below."""
    good = tmp_path / "good.csv"
    write_classification_csv(good)
    (tmp_path / "not-a-report").mkdir()
    (tmp_path / "not-a-report" / "results.csv").write_text("my own results")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 8)

    def spoilt(name, edit):
        return spoil_csv(good, tmp_path / f"{name}.csv", edit)

    return {
        "csv": good,
        "inf_feature": spoilt("inf_feature", set_cell(2, HEIGHT, "inf")),
        "nan_target": spoilt("nan_target", set_cell(4, LABEL, "")),
        "nan_secret": spoilt("nan_secret", set_cell(0, SECRET, "")),
        "one_class": spoilt("one_class", set_column(LABEL, "x")),
        "one_secret": spoilt("one_secret", set_column(SECRET, "no")),
        "short": spoilt("short", lambda lines: lines[:20]),
        # Six rows of a new class: enough for csv_audit, not for 7 folds.
        "rare": spoilt("rare", set_column(LABEL, "class_rare", rows=6)),
        "binary": tmp_path / "binary.csv",
        "a_file": good,
        "not_a_report": tmp_path / "not-a-report",
    }


CSV = ["--csv", "{csv}", "--target", "label", "--sensitive", "secret"]

CASES = {
    # values the parser refuses
    "folds 1": (["warfarin", "--folds", "1"], "argument --folds: must be >= 2"),
    "n-jobs 0": (["warfarin", "--n-jobs", "0"], "argument --n-jobs: must be a non"),
    "n-jobs 10**6": (["warfarin", "--n-jobs", "1000000"], "up to the [0-9]+ cores"),
    "n-jobs x": (["warfarin", "--n-jobs", "x"], "argument --n-jobs: must be an"),
    "seed -1": (["warfarin", "--seed", "-1"], "argument --seed: must be between 0"),
    "seed 2**32": (["warfarin", "--seed", str(2**32)], "argument --seed"),
    "max-epochs 0": (["digits", "--max-epochs", "0"], "argument --max-epochs"),
    "repeats 0": (["warfarin", "--repeats", "0"], "argument --repeats: must be"),
    "repeats 1e9": (["warfarin", "--repeats", "10" * 5], "argument --repeats"),
    **{
        f"max-leakage {value}": (
            ["warfarin", f"--max-leakage={value}"],
            r"argument --max-leakage: must be a finite number",
        )
        for value in ("nan", "inf", "-inf", "low")
    },
    "bounds-x nan": (
        [*CSV, "--bounds-x", "0", "nan", "--bounds-y", "0", "1"],
        "argument --bounds-x: must be a finite number",
    ),
    # the data
    "missing csv": (
        ["--csv", "missing.csv", "--target", "a", "--sensitive", "b"],
        "no such file",
    ),
    "a folder as csv": (["--csv", "{not_a_report}", *CSV[2:]], "no such file"),
    "unreadable csv": (["--csv", "{binary}", *CSV[2:]], "could not read"),
    "unknown target": (
        ["--csv", "{csv}", "--target", "nope", "--sensitive", "secret"],
        "target column 'nope' is not in",
    ),
    "unknown sensitive": (
        ["--csv", "{csv}", "--target", "label", "--sensitive", "nope"],
        "sensitive column 'nope' is not in",
    ),
    "inf feature": (
        ["--csv", "{inf_feature}", *CSV[2:]],
        "the column 'height' of .*inf_feature.csv holds inf in data row 3",
    ),
    "nan target": (
        ["--csv", "{nan_target}", *CSV[2:]],
        "the target column 'label' of .*nan_target.csv has 1 missing value.* row 5",
    ),
    "nan sensitive": (
        ["--csv", "{nan_secret}", *CSV[2:]],
        "the sensitive column 'secret' .* missing",
    ),
    "one class": (["--csv", "{one_class}", *CSV[2:]], "'label' .* has a single value"),
    "one sensitive value": (["--csv", "{one_secret}", *CSV[2:]], "single value"),
    "too few rows": (["--csv", "{short}", *CSV[2:]], "too few rows"),
    "not numeric": ([*CSV, "--task", "regression"], "not numeric"),
    "folds > rows": ([*CSV, "--folds", "1000"], "--folds=1000 folds need at least"),
    "folds > rarest class": (
        ["--csv", "{rare}", *CSV[2:], "--folds", "7"],
        "--folds=7 stratified folds need 7 rows of every class; class 'class_rare'",
    ),
    "folds > warfarin": (["warfarin", "--folds", "5000"], "the data have 4821"),
    # the command
    "no target": (["--csv", "{csv}", "--target", "label"], "needs --target COL and"),
    "no dataset": ([], "give a dataset"),
    "target with a dataset": (
        ["warfarin", "--target", "a"],
        r"--target does not apply to the warfarin audit \(only to --csv\)",
    ),
    # a flag that does not apply to the audit is an error, never ignored
    **{
        f"{flag} for {audit}": (
            [audit, flag, *values],
            f"{flag} does not apply to the {audit} audit",
        )
        for audit, flag, values in [
            ("warfarin", "--max-epochs", ["3"]),
            ("steak", "--max-epochs", ["3"]),
            ("digits", "--folds", ["3"]),
            ("digits", "--data-home", ["."]),
            ("warfarin", "--data-home", ["."]),
            ("warfarin", "--bounds-x", ["0", "1"]),
            ("digits", "--task", ["regression"]),
        ]
    },
    "max-epochs for csv": (
        [*CSV, "--max-epochs", "3"],
        "--max-epochs does not apply to the --csv audit",
    ),
    "bounds-x alone": ([*CSV, "--bounds-x", "0", "1"], "go together"),
    "bounds for a classification csv": (
        [*CSV, "--bounds-x", "0", "1", "--bounds-y", "0", "1"],
        "apply to a regression audit",
    ),
    "list with csv": (["--list", *CSV], "--list takes a bundled dataset"),
    "unknown defense": (["warfarin", "--defenses", "ridge"], r"\['ridge'\]"),
    "scheduler alone": (["warfarin", "--scheduler", "x:1"], "needs --backend dask"),
    "seed + repeats": (
        ["digits", "--seed", str(2**32 - 1), "--repeats", "2"],
        r"--seed \+ --repeats - 1 must be at most",
    ),
    # the report folder
    "out is a file": ([*CSV, "--out", "{a_file}"], "--out .*good.csv is a file"),
    "out not a report": (
        [*CSV, "--out", "{not_a_report}"],
        "--out .*not-a-report holds files skmid did not write .*--overwrite",
    ),
    "out under a file": ([*CSV, "--out", "{a_file}/report"], "cannot be made"),
    "out empty": ([*CSV, "--out", ""], "--out must be a folder path"),
}


@pytest.mark.parametrize("arguments, message", CASES.values(), ids=CASES.keys())
def test_bad_input_is_one_line_and_status_2(
    arguments, message, tmp_path, capsys, monkeypatch
):
    paths = files(tmp_path)
    arguments = [a.format(**paths) for a in arguments]
    if "--out" not in arguments:
        arguments += ["--out", str(tmp_path / "out")]
    monkeypatch.chdir(tmp_path)
    assert main(["audit", *arguments, "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("skmid audit: error: ")
    assert re.search(message, captured.err), captured.err
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "not-a-report" / "results.csv").read_text() == "my own results"


def test_the_report_folder_is_checked_before_any_work(tmp_path, monkeypatch, capsys):
    def no_audit(*args, **kwargs):
        raise AssertionError("the audit ran before --out was checked")

    for name in ("run_audit", "warfarin_audit", "image_audit"):
        monkeypatch.setattr(skmid.audit, name, no_audit)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my report")
    for dataset in ("warfarin", "digits"):
        assert main(["audit", dataset, "--out", str(mine)]) == 2
        assert "holds files skmid did not write" in capsys.readouterr().err
    assert (mine / "report.md").read_text() == "my report"


def test_a_rerun_replaces_a_previous_report(tmp_path, capsys):
    out = tmp_path / "report"
    command = ["audit", "warfarin", "--defenses", "OLS", "--repeats", "1", "--quiet"]
    assert main([*command, "--folds", "2", "--out", str(out)]) == 0
    assert main([*command, "--folds", "3", "--out", str(out)]) == 0
    assert '"cv": 3' in (out / "settings.json").read_text()
    assert os.listdir(tmp_path) == ["report"]
    assert capsys.readouterr() == ("", "")


@pytest.mark.slow
def test_ctrl_c_stops_the_audit_and_keeps_the_previous_report(tmp_path):
    out = tmp_path / "report"
    quick = ["audit", "warfarin", "--repeats", "1", "--folds", "2", "--out", str(out)]
    assert main([*quick, "--defenses", "OLS", "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    # Enough fits (13 settings x 2 folds x 20 repeats) to be mid-audit when the
    # interrupt arrives, however fast the machine.
    long = [*quick, "--repeats", "20"]
    process = subprocess.Popen(
        [sys.executable, "-m", "skmid", *long],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr, started = [], threading.Event()

    def read():
        for line in iter(process.stderr.readline, ""):
            stderr.append(line)
            started.set()  # tqdm's first line: the audit is running

    threading.Thread(target=read, daemon=True).start()
    try:
        assert started.wait(120), "the audit did not start"
        time.sleep(1.5)
        assert process.poll() is None, "the audit finished before the interrupt"
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        status = process.wait(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
    assert status in (130, -signal.SIGINT)
    assert elapsed < 5, f"stopped {elapsed:.1f} s after Ctrl-C"
    time.sleep(0.2)
    assert "Traceback" not in "".join(stderr)
    assert "skmid audit: interrupted" in "".join(stderr)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert os.listdir(tmp_path) == ["report"]


def test_a_removed_flag_is_refused(capsys):
    assert main(["audit", "warfarin", "--max-advantage", "0.1"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "unrecognized arguments: --max-advantage" in error


def test_one_default_per_flag(tmp_path, monkeypatch):
    # --repeats used to default to 2 for warfarin and to 3 for digits.
    calls = {}

    def stop(name):
        def record(*args, **kwargs):
            calls[name] = kwargs
            raise KeyboardInterrupt

        return record

    monkeypatch.setattr(skmid.audit, "run_audit", stop("run_audit"))
    monkeypatch.setattr(skmid.audit, "image_audit", stop("image_audit"))
    assert main(["audit", "warfarin", "--out", str(tmp_path / "a")]) == 130
    assert main(["audit", "digits", "--out", str(tmp_path / "b")]) == 130
    assert calls["run_audit"]["repeats"] == 2 and calls["run_audit"]["cv"] == 5
    assert len(calls["image_audit"]["seeds"]) == 2
    assert calls["image_audit"]["max_epochs"] == 50


def test_list_prints_the_declarations(capsys):
    assert main(["audit", "--list"]) == 0
    printed = capsys.readouterr().out
    for audit in ("warfarin", "steak", "digits", "faces"):
        assert f"\n{audit}: " in f"\n{printed}"
    assert "AdaSSP (epsilon in" in printed and "--csv:" in printed
    assert "map_advantage: MAP advantage on VKORC1 (held-out rows)" in printed
    assert main(["audit", "warfarin", "--list"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("warfarin: ") and "steak" not in printed
