"""ganzoo report: one self-contained page for runs side by side, opened in a real headless Chromium.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and
Selenium (the dev extra). Without them it FAILS; ``GANZOO_SKIP_BROWSER=1`` turns that into a skip
on a machine that cannot have a browser.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from html import escape
from pathlib import Path

import pytest

from helpers import TINY
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.evaluation.metrics import QUALITY
from ganzoo.registry.host import PluginHost
from ganzoo.report import make, page, svg
from ganzoo.report.collect import pick
from ganzoo.report.page import write
from ganzoo.runs.launch import start

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PAGE_SCHEMES = ("file:", "http:", "https:", "data:")  # what a page may request; the browser's own chrome:// etc. are not counted
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,1800",
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A folder holding two real tiny runs that differ in train.lr_g, each with a grid per step and scores every 2 steps."""
    root = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_CACHE", str(root.parent / "cache"))
        for lr in ("0.0001", "0.0002"):
            start(
                [
                    *TINY,
                    "train.steps=4",
                    "train.sample_every=1",
                    "train.eval_every=2",
                    "train.eval_n=10",
                    f"train.lr_g={lr}",
                    f"out={root / f'train.lr_g={lr}'}",
                ],
                PluginHost(entry_points=[]),
            )
    return root


def lines(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_sweep_folder_gives_one_page_for_all_its_runs(sweep):
    a, b = sorted(p for p in sweep.iterdir())
    html, runs, notes = make([sweep])
    assert [r.path for r in runs] == [a, b] and notes == []
    assert [r.path for r in make([a, b, a])[1]] == [a, b]  # a run named twice shows once
    assert html.count('class="frames"') == 2 and 'data-key="train.lr_g"' in html


def test_a_damaged_run_in_a_sweep_folder_is_left_out_with_a_note(sweep, tmp_path):
    shutil.copytree(sweep, tmp_path / "sweep")
    (tmp_path / "sweep" / "broken").mkdir()
    (tmp_path / "sweep" / "broken" / "config.json").write_text("{not json")
    _, runs, notes = make([tmp_path / "sweep"])
    assert [r.name for r in runs] == sorted(p.name for p in sweep.iterdir())
    assert len(notes) == 1 and "broken" in notes[0] and "not valid JSON" in notes[0]


def test_a_folder_that_holds_no_run_is_refused_in_one_paragraph(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="neither a ganzoo run folder"):
        make([tmp_path])
    with pytest.raises(ConfigError, match="does not exist"):
        make([tmp_path / "missing"])
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"model": "not ours"}')
    with pytest.raises(ConfigError, match="not a ganzoo run record"):
        make([tmp_path / "other"])
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "neither a ganzoo run folder" in err and "Traceback" not in err and not (tmp_path / "r.html").exists()


def test_out_replaces_only_a_report_ganzoo_wrote(sweep, tmp_path, capsys):
    mine = tmp_path / "report.html"
    mine.write_text("<html>my own page</html>")
    assert main(["report", str(sweep), "--out", str(mine)]) == 2
    assert "not a report ganzoo wrote" in capsys.readouterr().err and mine.read_text() == "<html>my own page</html>"
    ours = tmp_path / "ours.html"
    assert main(["report", str(sweep), "--out", str(ours)]) == 0
    first = ours.read_text()
    assert first.startswith("<!DOCTYPE html>") and '<meta name="generator" content="ganzoo' in first
    assert main(["report", str(sweep), "--out", str(ours), "--frames", "-1"]) == 2 and "--frames -1 is negative" in capsys.readouterr().err
    assert main(["report", str(sweep), "--out", str(ours), "--frames", "1"]) == 0  # its own earlier page: replaced
    assert ours.read_text().count("<img ") == 2 < first.count("<img ")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind
    (tmp_path / "link.html").symlink_to(ours)
    for where, why in (
        (tmp_path / "link.html", "symbolic link"),
        (tmp_path, "not a regular file"),
        (tmp_path / "no" / "r.html", "does not exist"),
    ):
        with pytest.raises(ConfigError, match=why):
            write(where, "<html></html>")
    assert ours.read_text().count("<img ") == 2


def test_names_and_values_a_user_typed_are_shown_as_text(sweep, tmp_path):
    name, value = "<img src=x onerror=alert(1)>", "</td><script>alert(2)</script>"
    run = tmp_path / name
    shutil.copytree(next(sweep.iterdir()), run)
    record = json.loads((run / "config.json").read_text())
    record["config"]["data"]["name"] = value
    (run / "config.json").write_text(json.dumps(record))
    html, _, _ = make([run, *sorted(sweep.iterdir())])
    assert name not in html and value not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_a_page_for_20_runs_stays_small(sweep, tmp_path):
    for i in range(20):
        shutil.copytree(sorted(sweep.iterdir())[i % 2], tmp_path / f"run{i:02d}")
    html, runs, _ = make([tmp_path])
    size = len(html.encode())
    print(f"\n20 tiny runs (4 grids, 4 steps, 2 evaluations each): {size / 1024:.0f} KB")
    assert len(runs) == 20 and html.count("<img ") == 80
    assert size < 1_000_000


def test_findings_of_ganzoo_doctor_are_listed_under_each_run(sweep):
    doctor = pytest.importorskip("ganzoo.diagnosis.doctor", reason="the report's findings come from ganzoo doctor")
    html, runs, _ = make([sweep])
    section = html[html.index('<section id="findings">') :]
    for run in runs:
        said = doctor.examine(run.path)
        assert [t for t, _ in run.findings] == [f.line() for f in said.findings] + ["not checked"] * len(said.notes)
        assert all(f.evidence in text for f, (_, text) in zip(said.findings, run.findings))
        assert all(escape(title) in section and escape(text) in section for title, text in run.findings)
    runs[0].findings = [("critic <b>saturated</b>", "W stayed at 0 after step 2")]
    html = page.build(runs, findings_available=True)
    assert "critic &lt;b&gt;saturated&lt;/b&gt;" in html and "W stayed at 0 after step 2" in html
    for run in runs:
        run.findings = []
    assert page.build(runs, findings_available=True).count("<li>nothing found</li>") == 2  # the doctor found nothing
    assert 'id="findings"' not in page.build(runs, findings_available=False)  # a ganzoo without the doctor


def test_plot_helpers():
    assert svg.nice_ticks(0, 9.7) == [0, 2, 4, 6, 8, 10]
    assert svg.nice_ticks(-0.05, -0.03) == pytest.approx([-0.05, -0.045, -0.04, -0.035, -0.03])
    assert svg.log_ticks(0.3, 4) == pytest.approx([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50])  # 2 and 5 within two decades
    assert svg.log_ticks(0.3, 40) == pytest.approx([0.1, 1, 10, 100])
    points = [(i, float(i % 2)) for i in range(1000)]
    thinned = svg.thin(points, 100)
    assert len(thinned) == 100 and all(y == pytest.approx(0.5) for _, y in thinned)  # bucket means of 0,1,0,1...
    assert svg.thin([(1, float("nan")), (2, 3.0), (3, float("inf"))]) == [(2.0, 3.0)]
    plot = svg.line_plot([svg.Series("<a>", [(1, 1.0), (2, float("nan")), (3, 0.0)])], title="t", log_y=True)
    assert "nan" not in plot and "&lt;a&gt;" in plot and plot.count("<circle") == 1  # log scale drops 0
    assert "no data" in svg.line_plot([svg.Series("a", [])], title="t")
    assert pick(list(range(10)), 4) == [0, 3, 6, 9] and pick([1, 2], 5) == [1, 2] and pick(list(range(5)), 0) == list(range(5))


# -- in a real browser -----------------------------------------------------------------------------
@contextmanager
def chromium():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if missing:
        why = (
            f"The report's browser test needs {', '.join(missing)}: apt-get install chromium chromium-driver "
            "(.ci/run does it). Set GANZOO_SKIP_BROWSER=1 to skip it on a machine without a browser."
        )
        if os.environ.get("GANZOO_SKIP_BROWSER") == "1":
            pytest.skip(why)
        pytest.fail(why)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory() as profile:
        for flag in [*FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            driver.execute_cdp_cmd("Network.enable", {})
            yield driver
        finally:
            driver.quit()


def open_page(driver, path: Path) -> tuple[list[str], list[str]]:
    """Load a page; (every URL the page itself requested, its console errors).

    Only the page's own schemes count (file:, http(s):, data:): Chromium fetches resources of its own
    (chrome://, devtools://, chrome-extension://) that differ between builds and are not the page's."""
    for log in ("performance", "browser"):  # start from empty logs
        driver.get_log(log)
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    requests = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    urls = [m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"]
    urls = [u for u in urls if u.startswith(PAGE_SCHEMES)]
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return urls, errors


def shown(driver, figure) -> tuple[str, str]:
    """(step, src) of the one grid a figure shows."""
    visible = driver.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.imgs img')).filter(i => i.getBoundingClientRect().width > 0)"
        ".map(i => [i.dataset.step, i.src])",
        figure,
    )
    assert len(visible) == 1
    return tuple(visible[0])


def test_the_report_in_a_real_browser(sweep, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    runs = sorted(sweep.iterdir())
    report = tmp_path / "report.html"
    assert main(["report", str(sweep), "--out", str(report)]) == 0
    with chromium() as driver:
        urls, errors = open_page(driver, report)
        assert report.as_uri() in urls  # the log sees requests ...
        assert [u for u in urls if u != report.as_uri() and not u.startswith("data:")] == []  # ... and there is no other
        assert errors == []

        images = driver.execute_script("return Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        assert len(images) == 2 * 4 and all(done and width > 0 for done, width in images)

        for i, run in enumerate(runs):  # the tables show the numbers in the run's own files
            records = lines(run)
            steps, score = [r for r in records if "loss_d" in r], [r for r in records if "eval" in r][-1]["eval"]
            row = driver.find_element(By.CSS_SELECTOR, f'#run-table tr[data-run="{i}"]')
            assert row.find_element(By.CSS_SELECTOR, '[data-key="steps"]').text == "4 of 4"
            assert row.find_element(By.CSS_SELECTOR, '[data-key="steps_per_s"]').text == f"{4 / steps[-1]['time']:.2f}"
            for q in QUALITY:
                cell = driver.find_element(By.CSS_SELECTOR, f'#final td[data-run="{i}"][data-key="{q.key}"]')
                assert cell.find_element(By.CLASS_NAME, "v").text == (
                    q.fmt.format(score[q.key]) if q.key in score else "-"
                )  # CAS only with --cas
            ref = lambda key: driver.find_element(By.CSS_SELECTOR, f'#final td[data-run="{i}"][data-key="{key}"] .ref').text  # noqa: E731
            assert f"floor {score['fd_floor']:.2f}" in ref("fd_ratio") and f"real {score['kid_floor']:.4f}" in ref("kid")

        marked = driver.find_elements(By.CSS_SELECTOR, "tr.differs")
        assert [r.get_attribute("data-key") for r in marked] == ["train.lr_g"]
        assert [c.text for c in marked[0].find_elements(By.TAG_NAME, "td")] == ["0.0001", "0.0002"]
        paint = "return getComputedStyle(arguments[0]).backgroundColor"
        assert driver.execute_script(paint, marked[0].find_element(By.TAG_NAME, "th")) not in ("rgba(0, 0, 0, 0)", "transparent")

        figure = driver.find_elements(By.CSS_SELECTOR, "figure.frames")[0]
        before = shown(driver, figure)
        assert before[0] == "4"
        figure.find_element(By.CSS_SELECTOR, "input.frame").send_keys(Keys.HOME)  # drag to the first grid, by keyboard
        after = shown(driver, figure)
        assert after[0] == "1" and after[1] != before[1]
        assert figure.find_element(By.CSS_SELECTOR, "output.step").text == "1"
        everyone = driver.find_element(By.ID, "all-steps")
        everyone.send_keys(Keys.END, Keys.LEFT)  # all runs to step 3
        assert [shown(driver, f)[0] for f in driver.find_elements(By.CSS_SELECTOR, "figure.frames")] == ["3", "3"]
        assert driver.get_log("browser") == []

        # The checks can fail: a page with an outside request and a console error is caught.
        bad = tmp_path / "bad.html"
        bad.write_text(
            '<!DOCTYPE html><img src="file:///nonexistent/x.png"><img src="http://127.0.0.1:9/y.png"><script>console.error("boom")</script>'
        )
        urls, errors = open_page(driver, bad)
        assert {"file:///nonexistent/x.png", "http://127.0.0.1:9/y.png"} <= set(urls) and any("boom" in e for e in errors)
