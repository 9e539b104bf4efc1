"""Report folders: never a user's file overwritten, never a mix of two runs."""

import json
import os
import signal
import sys

import pytest
from audit_files import write_regression_csv

from skmid.audit import _report as report_module
from skmid.audit import (
    csv_audit,
    run_audit,
    write_report,
)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "dose.csv"
    write_regression_csv(path)
    spec = csv_audit(path, target="dose", sensitive="genotype").select(["OLS"])
    return run_audit(spec, cv=2, repeats=1)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_new_folder_gets_a_marker_listing_the_files(result, tmp_path):
    out = tmp_path / "deep" / "report"
    paths = write_report(result, out)
    marker = json.loads((out / ".skmid-report").read_text())
    assert sorted(marker["files"]) == sorted(p.name for p in paths.values())
    assert {p.parent for p in paths.values()} == {out}
    assert sorted(os.listdir(out)) == sorted([".skmid-report", *marker["files"]])
    assert os.listdir(tmp_path / "deep") == ["report"]  # no staging folder left


def test_a_previous_report_is_replaced_whole(result, tmp_path):
    out = tmp_path / "report"
    write_report(result, out)
    # A file the previous report listed but this one does not write goes too.
    (out / "tradeoff_old.png").write_bytes(b"old")
    marker = json.loads((out / ".skmid-report").read_text())
    marker["files"].append("tradeoff_old.png")
    (out / ".skmid-report").write_text(json.dumps(marker))
    (out / "results.csv").write_text("stale")
    write_report(result, out, max_leakage=0.5)
    assert not (out / "tradeoff_old.png").exists()
    assert (out / "results.csv").read_text().startswith("defense,setting")
    assert json.loads((out / "settings.json").read_text())["max_leakage"] == 0.5
    assert os.listdir(tmp_path) == ["report"]


@pytest.mark.parametrize("user_file", ["results.csv", "notes.txt", ".skmid-report"])
def test_a_folder_with_other_files_is_refused(result, tmp_path, user_file):
    out = tmp_path / "mine"
    out.mkdir()
    (out / user_file).write_text("my own work")
    if user_file == ".skmid-report":  # a marker that lists nothing owns nothing
        (out / "report.md").write_text("my own report")
    before = snapshot(out)
    with pytest.raises(ValueError, match="out_dir .* holds files skmid did not write"):
        write_report(result, out)
    assert snapshot(out) == before


def test_a_marker_owns_only_plain_files_inside_the_folder(result, tmp_path):
    out = tmp_path / "report"
    write_report(result, out)
    (tmp_path / "precious.txt").write_text("mine")
    (out / "notes").mkdir()
    marker = json.loads((out / ".skmid-report").read_text())
    marker["files"] += ["../precious.txt", "notes", str(tmp_path / "precious.txt")]
    (out / ".skmid-report").write_text(json.dumps(marker))
    with pytest.raises(ValueError, match=r"holds files skmid did not write \(notes"):
        write_report(result, out)
    write_report(result, out, overwrite=True)
    assert (tmp_path / "precious.txt").read_text() == "mine"
    assert (out / "notes").is_dir()


def test_overwrite_replaces_the_reports_files_and_keeps_the_others(result, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "results.csv").write_text("my own results")
    paths = write_report(result, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "my notes"
    assert paths["results.csv"].read_text().startswith("defense,setting")
    # The user's notes keep it from passing as a pure report: still refused.
    with pytest.raises(ValueError, match=r"holds files skmid did not write \(notes"):
        write_report(result, out)
    write_report(result, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "my notes"


def test_out_dir_that_cannot_be_a_folder(result, tmp_path):
    a_file = tmp_path / "results.csv"
    a_file.write_text("mine")
    with pytest.raises(ValueError, match="out_dir .*results.csv is a file"):
        write_report(result, a_file)
    with pytest.raises(ValueError, match="cannot be made: .*results.csv is not a"):
        write_report(result, a_file / "report")
    with pytest.raises(TypeError, match="out_dir must be a folder path"):
        write_report(result, None)
    assert a_file.read_text() == "mine"


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0,
    reason="needs POSIX permissions that apply (not root)",
)
def test_a_read_only_parent_is_refused(result, tmp_path):
    parent = tmp_path / "read-only"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="out_dir .* cannot be written"):
            write_report(result, parent / "report")
    finally:
        parent.chmod(0o700)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_folder_where_nothing_can_be_made_is_refused(result):
    # No one, root included, can make a folder in /proc.
    with pytest.raises(ValueError, match="out_dir /proc/skmid-report cannot be"):
        write_report(result, "/proc/skmid-report")


def test_an_interrupted_write_leaves_the_previous_report(result, tmp_path, monkeypatch):
    out = tmp_path / "report"
    write_report(result, out)
    before = snapshot(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "_write_pages", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(result, out, max_leakage=0.5)
    assert snapshot(out) == before
    assert os.listdir(tmp_path) == ["report"]


def test_ctrl_c_during_the_move_waits_for_a_complete_report(
    result, tmp_path, monkeypatch
):
    out = tmp_path / "report"
    write_report(result, out)
    move = report_module._move_into_place

    def signalled_move(*args):
        os.kill(os.getpid(), signal.SIGINT)
        move(*args)

    monkeypatch.setattr(report_module, "_move_into_place", signalled_move)
    with pytest.raises(KeyboardInterrupt):
        write_report(result, out, max_leakage=0.5)
    # The interrupt arrived mid-move and was honoured after it: the new report.
    assert json.loads((out / "settings.json").read_text())["max_leakage"] == 0.5
    assert os.listdir(tmp_path) == ["report"]
