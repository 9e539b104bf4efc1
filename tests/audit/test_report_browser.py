"""The HTML report in a real browser: headless Chromium, offline.

Chromium renders the report with every network request bound to fail (a
proxy at an unreachable address, every host name unresolvable) and logs
each request it makes (``--log-net-log``): the test asserts that the page
shows the verdict, the table and every image, and that it asked the network
for nothing. A control page with one remote image and one remote stylesheet
proves that the log would show such requests. Skipped where no ``chromium``
is installed, unless ``SKMID_REQUIRE_BROWSER=1`` (CI installs Debian's
``chromium`` and sets it, so a missing browser fails there).
"""

import base64
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from skmid.audit import run_audit, warfarin_audit, write_report

pytest.importorskip("matplotlib")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("SKMID_REQUIRE_BROWSER") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRED,
        reason="the browser test needs Debian's chromium (apt-get install chromium)",
    ),
]

#: Offline and quiet: background services off, any request bound to fail.
FLAGS = [
    "--headless",
    "--no-sandbox",  # CI containers run as root
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def chromium(page, tmp_path, *arguments):
    """Run Chromium on ``page``: ``(stdout, URLs the page requested)``."""
    assert CHROMIUM is not None, "SKMID_REQUIRE_BROWSER=1 but no chromium on PATH"
    net_log = tmp_path / f"net-{len(list(tmp_path.iterdir()))}.json"
    completed = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={net_log}",
            *arguments,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return completed.stdout, page_requests(net_log)


def page_requests(net_log):
    """The URLs a page asked for (the browser's own background jobs left out)."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return sorted(
        {
            event["params"]["url"]
            for event in log["events"]
            if event["type"] == start
            and "url" in event.get("params", {})
            # The browser's own jobs (updates, accounts) have no initiating
            # document; everything a page loads has one.
            and event["params"].get("initiator") != "not an origin"
            and not event["params"]["url"].startswith(("data:", "file:"))
        }
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    spec = warfarin_audit().select(["OLS", "MID"])
    spec.defenses[1].param_grid = {"lam": [60.0, 1000.0]}
    result = run_audit(spec, cv=2, repeats=1)
    out = tmp_path_factory.mktemp("browser") / "report"
    write_report(result, out)
    return out


def test_the_report_renders_offline_with_its_verdict_table_and_images(report, tmp_path):
    page = report / "report.html"
    dom, requested = chromium(page, tmp_path, "--dump-dom")
    assert requested == []
    # The verdict first, then the table with the recommended row highlighted.
    assert dom.index("<dt>Verdict</dt>") < dom.index('<table id="results-table">')
    assert "The undefended model (OLS) fails the budget" in dom
    assert "it keeps" in dom and "gain over the trivial model" in dom
    recommended = re.findall(r'<tr class="recommended">(.*?)</tr>', dom, re.S)
    assert len(recommended) == 1 and "lam=1000" in recommended[0]
    assert dom.count("<tr") == 1 + 4  # header, OLS, MID x2, trivial
    # Every figure of the folder is in the page, inlined, and a valid PNG.
    sources = re.findall(r'<img [^>]*src="([^"]+)"', dom)
    figures = sorted(path.name for path in report.glob("*.png"))
    # One trade-off plot per plotted attack: MAP accuracy, the learned
    # attack's accuracy, and the budget attack (MAP advantage).
    assert figures == [
        "tradeoff_learned_accuracy.png",
        "tradeoff_map_accuracy.png",
        "tradeoff_map_advantage.png",
    ]
    assert len(sources) == len(figures)
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # Nothing that could load from elsewhere: no remote src, href or url().
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", dom)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", dom)


def test_the_screenshot_shows_the_page(report, tmp_path):
    from matplotlib.image import imread

    screenshot = tmp_path / "report.png"
    _, requested = chromium(
        report / "report.html",
        tmp_path,
        f"--screenshot={screenshot}",
        "--window-size=1280,1600",
    )
    assert requested == []
    pixels = imread(screenshot)
    assert pixels.shape[:2] == (1600, 1280)
    # Not a blank page: text, the highlighted row and the plots vary it.
    assert np.std(pixels[..., :3]) > 0.05


def test_a_page_that_loads_from_the_network_is_caught(tmp_path):
    # The control: the same run records what a page asks the network for.
    page = tmp_path / "remote.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" '
        'href="https://cdn.example.invalid/style.css"></head><body>'
        '<img src="http://example.invalid/plot.png" alt="remote"></body></html>'
    )
    _, requested = chromium(page, tmp_path, "--dump-dom")
    assert requested == [
        "http://example.invalid/plot.png",
        "https://cdn.example.invalid/style.css",
    ]
