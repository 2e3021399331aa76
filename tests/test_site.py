"""The static site: pages from the database, then a real headless Chromium (Debian's
chromium + chromium-driver, driven by Selenium) opens it from disk, sorts, follows a link."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from genrank.cli import main
from leaderboards import db
from tests.test_db import TASK, make_run

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--window-size=1400,1000"]
MODELS = {"alpha": 27, "beta": 26, "gamma": 12, "delta": 4}  # correct items out of 30


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("site")
    conn = db.connect(tmp / "lb.sqlite")
    for name, correct in MODELS.items():
        db.ingest(conn, make_run(tmp / "runs", name, correct=correct))
    conn.close()
    assert main(["site", "-o", str(tmp / "site"), "--db", str(tmp / "lb.sqlite")]) == 0
    return tmp / "site", tmp / "lb.sqlite"


def test_pages_and_marks(site):
    out, _ = site
    index = (out / "index.html").read_text()
    assert "<table class=\"sortable\"" in index and "compositional" in index
    models = sorted(p.name for p in (out / "models").glob("*.html"))
    assert len(models) == len(MODELS) and len(list((out / "tasks").glob("*.html"))) == 1
    # alpha (27/30) vs beta (26/30) is not separable on 30 items; beta vs gamma (12/30) is
    task_page = next((out / "tasks").glob("*.html")).read_text()
    assert "McNemar exact" in task_page
    conn = db.connect(site[1], create=False)
    from leaderboards.site.build import _columns
    tests = _columns(conn)[TASK].tests
    assert tests["alpha"]["next"] == "beta" and not tests["alpha"]["distinct"]
    assert tests["beta"]["next"] == "gamma" and tests["beta"]["distinct"]
    # the model page: checkpoint hash, run metadata, an easy-to-hard curve (svg)
    alpha = next((out / "models").glob("alpha-*.html")).read_text()
    assert conn.execute("SELECT content_hash FROM models WHERE name='alpha'").fetchone()[0] in alpha
    assert "<svg" in alpha and "declared difficulty" in alpha


def _driver():
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip("Debian's chromium and chromium-driver are not installed "
                    "(apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"]:
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(chromedriver), options=opts)


def test_in_browser_sort_follow_screenshot(site, tmp_path):
    from selenium.webdriver.common.by import By

    out, _ = site
    driver = _driver()
    try:
        driver.get((out / "index.html").as_uri())
        table = driver.find_element(By.ID, "table-compositional")

        def column(i: int) -> list[str]:
            return [r.find_elements(By.TAG_NAME, "td")[i].get_attribute("data-v") or
                    r.find_elements(By.TAG_NAME, "td")[i].text
                    for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

        def models() -> list[str]:
            return [r.find_element(By.TAG_NAME, "a").text
                    for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

        assert models() == ["alpha", "beta", "gamma", "delta"]
        head = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        task_col = next(i for i, h in enumerate(head) if h.startswith(TASK))
        assert "accuracy ↑" in head[task_col]  # the metric and its direction, in the header
        header = table.find_element(By.CSS_SELECTOR, f'th[data-key="{TASK}"] button.sort')
        header.click()  # first click: best first (higher is better: descending)
        assert [float(v) for v in column(task_col)] == sorted(
            (c / 30 for c in MODELS.values()), reverse=True)
        header.click()  # second click: reversed
        assert models() == ["delta", "gamma", "beta", "alpha"]
        rank_col = head.index("mean rank\n↓ shared tasks") if "mean rank\n↓ shared tasks" in head \
            else next(i for i, h in enumerate(head) if h.startswith("mean rank"))
        table.find_elements(By.CSS_SELECTOR, "thead th")[rank_col] \
            .find_element(By.CSS_SELECTOR, "button.sort").click()  # lower is better: ascending
        ranks = [float(v) for v in column(rank_col)]
        assert ranks == sorted(ranks) and models()[0] == "alpha"
        table.find_element(By.CSS_SELECTOR, "th:first-child button.sort").click()
        assert sorted(models()) == models() or sorted(models(), reverse=True) == models()
        assert "sep" in table.find_element(By.XPATH, "//a[text()='beta']/../..") \
            .get_attribute("innerHTML")
        box = driver.find_element(By.CSS_SELECTOR, 'input.row-filter[data-table="table-compositional"]')
        box.send_keys("gam")  # the filter box keeps only matching models
        visible = [r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
        assert [r.find_element(By.TAG_NAME, "a").text for r in visible] == ["gamma"]
        box.clear()
        box.send_keys(" ")
        shot = tmp_path / "index.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        # a cell opens that model's answers on that task: read a prediction from it
        delta_row = table.find_element(By.XPATH, "//a[text()='delta']/../..")
        delta_row.find_element(By.CSS_SELECTOR, "a.cell").click()
        assert driver.find_element(By.ID, "items-title").text == f"delta on {TASK}"
        items = driver.find_element(By.ID, "items")
        preds = [td.text for td in items.find_elements(By.CSS_SELECTOR, "td.prediction")]
        assert len(preds) == 30 and preds.count("WALK") == 30 - MODELS["delta"]
        driver.find_element(By.ID, "wrong-only").click()
        shown = [r for r in items.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
        assert len(shown) == 30 - MODELS["delta"]
        assert driver.save_screenshot(str(tmp_path / "items.png"))
        driver.back()
        driver.find_element(By.LINK_TEXT, "gamma").click()  # follow a link to the model page
        assert driver.find_element(By.ID, "model-name").text == "gamma"
        assert len(driver.find_element(By.ID, "content-hash").text) == 16
        driver.find_element(By.LINK_TEXT, TASK).click()  # and on to the benchmark page
        assert driver.find_element(By.ID, "task-name").text == TASK
        assert "IN:" in driver.find_element(By.ID, "example-prompt").get_attribute("textContent")
        assert driver.save_screenshot(str(tmp_path / "task.png"))
    finally:
        driver.quit()


def test_benchmark_page_names_the_llm_judge(tmp_path):
    """A judged column says which judge scored which models, and warns when they differ."""
    import json

    runs = [make_run(tmp_path / "runs", m, correct=c) for m, c in (("a", 20), ("b", 10))]
    for path, judge in zip(runs, ("judge-one", "judge-two")):
        meta_path = path / "metadata.json"
        meta = json.loads(meta_path.read_text())
        meta["tasks"][TASK]["judge"] = {"name": judge, "content_hash": judge[-3:] * 4}
        meta_path.write_text(json.dumps(meta))
    conn = db.connect(tmp_path / "lb.sqlite")
    for r in runs:
        db.ingest(conn, r)
    conn.close()
    assert main(["site", "-o", str(tmp_path / "site"), "--db", str(tmp_path / "lb.sqlite")]) == 0
    page = next((tmp_path / "site" / "tasks").glob("*.html")).read_text()
    assert "LLM judge" in page and "judge-one" in page and "judge-two" in page
    assert "different judges scored this column" in page
