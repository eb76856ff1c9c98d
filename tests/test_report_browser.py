"""The report in a real browser: headless Chromium via selenium, on a real run of kz_towns.

Checks that the page renders with no console error and no network request (Chrome's performance
log lists every request the page makes: only the file itself may appear), that the language
switch changes the visible text, that a column header sorts the table, and that every unit's
card draws. Screenshots go to test-artifacts/ (git-ignored) for a human to look at.

Skipped, with the reason, when Chromium, chromedriver or selenium are missing
(`apt-get install -y chromium chromium-driver`; selenium is in the `dev` extra).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FORECAST = Path(sys.executable).with_name("forecast")
INTERNAL = ("chrome://", "chrome-untrusted://", "devtools://")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip(
        f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from .conftest import copy_of_run  # noqa: E402

pytestmark = pytest.mark.slow  # a full run and a browser


@pytest.fixture(scope="module")
def report(kz_towns_run, tmp_path_factory) -> Path:
    """The report of a copy of the shared kz_towns run (conftest), written by `forecast report`."""
    folder = copy_of_run(kz_towns_run[1], tmp_path_factory.mktemp("runs"))
    res = subprocess.run([str(FORECAST), "report", str(folder)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return folder / "report.html"


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="report-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # an explicit driver path: selenium-manager (which may download drivers) never runs
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _ready(driver) -> None:
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.documentElement.dataset.ready === '1'")
    )


def _go(driver, route: str) -> None:
    driver.execute_script("window.location.hash = arguments[0]", route)
    time.sleep(0.15)


def _lang(driver, lang: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f".langs button[data-lang='{lang}']").click()
    WebDriverWait(driver, 5).until(
        lambda d: d.execute_script("return document.documentElement.lang") == lang
    )


def _screenshot(driver, name: str) -> Path:
    """A full-page screenshot (the window is stretched to the page's height)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height, 600), 12000))
    time.sleep(0.2)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    return path


def _column(driver, key: str) -> list[float]:
    idx = driver.execute_script(
        "return [...document.querySelectorAll('#units-table thead th')]"
        ".findIndex(th => th.dataset.key === arguments[0])",
        key,
    )
    return driver.execute_script(
        "return [...document.querySelectorAll('#units-table tbody tr')]"
        ".map(tr => parseFloat(tr.children[arguments[0]].dataset.value))",
        idx,
    )


def test_report_in_chromium(report: Path, browser):
    d = browser
    url = report.as_uri()
    d.get(url)
    _ready(d)
    _lang(d, "en")
    units = d.execute_script(
        "return JSON.parse(document.getElementById('report-data').textContent)"
        ".units.map(u => [u.id, u.boundary])"
    )
    assert units

    # the overview: a row per unit, a map, the category counts
    rows = d.find_elements(By.CSS_SELECTOR, "#units-table tbody tr")
    assert len(rows) == len(units)
    assert d.find_elements(By.CSS_SELECTOR, "#map svg a.mapdot")
    assert len(d.find_elements(By.CSS_SELECTOR, "#catcards .catcard")) >= 3
    _screenshot(d, "report-overview-en.png")

    # clicking a column header sorts the table, clicking again reverses it
    header = d.find_element(By.CSS_SELECTOR, "#units-table th[data-key='latest']")
    header.click()
    values = _column(d, "latest")
    assert values == sorted(values) and values[0] < values[-1]
    assert (
        d.find_element(By.CSS_SELECTOR, "#units-table th[data-key='latest']").get_attribute(
            "aria-sort"
        )
        == "ascending"
    )
    d.find_element(By.CSS_SELECTOR, "#units-table th[data-key='latest']").click()
    assert _column(d, "latest") == sorted(values, reverse=True)

    # switching language changes the visible text (and the number format)
    title_en = d.find_element(By.ID, "title").text
    body_en = d.find_element(By.TAG_NAME, "body").text
    _lang(d, "ru")
    title_ru = d.find_element(By.ID, "title").text
    body_ru = d.find_element(By.TAG_NAME, "body").text
    assert title_ru != title_en and "Перспективы" in title_ru
    assert "Диверсификация" in body_ru and "Diversify" not in body_ru
    assert "Diversify" in body_en
    # Russian number format: decimal comma, a (no-break) space before % (webdriver shows a space)
    assert re.search(r"\d,\d %", body_ru) and not re.search(r"\d\.\d%", body_ru)
    assert not _latin_names(d, "ru")
    _screenshot(d, "report-overview-ru.png")

    # Kazakh: its own words and number format (decimal comma, % without a space), Cyrillic names
    _lang(d, "kk")
    body_kk = d.find_element(By.TAG_NAME, "body").text
    assert "Әртараптандыру" in d.find_element(By.ID, "catcards").text
    assert "Диверсификация" not in body_kk and "Diversify" not in body_kk
    assert re.search(r"\d,\d%", body_kk) and not re.search(r"\d\.\d%", body_kk)
    assert not _latin_names(d, "kk")
    assert "{" not in body_kk  # every template filled
    for lang in ("kk", "ru", "en"):  # one formatter: the table reads as the sentences do
        _lang(d, lang)
        _numbers_agree_with_the_sentences(d, lang)
        _track_record_block(d, lang)
    _lang(d, "kk")
    _screenshot(d, "report-overview-kk.png")

    # the map: region borders (a 2022 region among them) and the growth points, labelled
    assert d.find_elements(By.CSS_SELECTOR, "#map svg path.region[data-region='Ulytau']")
    assert len(d.find_elements(By.CSS_SELECTOR, "#map svg path.region")) == 20
    labels = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#map svg text.citylabel")]
    assert "Қарағанды" in labels and len(labels) == len(
        d.find_elements(By.CSS_SELECTOR, "#map svg g.cities rect.city")
    )
    _lang(d, "ru")

    # every unit's card draws: chart, drivers, reasons; in Russian, then one in English
    for uid, _ in units:
        _go(d, f"#unit/{uid}")
        card = d.find_element(By.CSS_SELECTOR, "article.unit")
        assert card.get_attribute("data-id") == uid
        assert d.find_elements(By.CSS_SELECTOR, "#chart-population svg.fan circle.obs")
        assert d.find_elements(By.CSS_SELECTOR, "#drivers svg rect.wfbar")
        assert d.find_elements(By.CSS_SELECTOR, "#reasons li")
    pick = next((uid for uid, boundary in units if boundary), units[0][0])
    _go(d, f"#unit/{pick}")
    assert "Пограничный случай" in d.find_element(By.ID, "reasons").text or not any(
        b for _, b in units
    )
    assert not _latin_names(d, "ru")
    _screenshot(d, "report-unit-ru.png")
    _lang(d, "kk")
    assert not _latin_names(d, "kk")
    assert "Шекаралық жағдай" in d.find_element(By.ID, "reasons").text or not any(
        b for _, b in units
    )
    assert "{" not in d.find_element(By.TAG_NAME, "main").text  # every template filled
    _screenshot(d, "report-unit-kk.png")
    _lang(d, "en")
    assert "Boundary case" in d.find_element(By.ID, "reasons").text or not any(b for _, b in units)
    _screenshot(d, "report-unit-en.png")
    for lang in ("ru", "kk"):  # the method page too: coverage table, data warnings, sources
        _lang(d, lang)
        _go(d, "#method")
        assert not _latin_names(d, lang)
        assert "{" not in d.find_element(By.TAG_NAME, "main").text
    for lang in ("en", "ru", "kk"):
        _lang(d, lang)
        _origin_coverage_table(d, report.parent, lang)
    _screenshot(d, "report-method-kk.png")
    _lang(d, "en")
    _go(d, "#method")
    assert d.find_element(By.ID, "accuracy-table")
    assert d.find_element(By.ID, "policy-table")
    _screenshot(d, "report-method-en.png")

    # the headline shows the decision and the likely outcome; its number is that outcome's
    # probability, the largest of the three shown beside it
    _go(d, f"#unit/{pick}")
    decision = d.find_element(By.ID, "decision").text
    bar = d.find_element(By.CSS_SELECTOR, "#category .probbar").get_attribute("aria-label")
    shown = [int(x) for x in re.findall(r"(\d+)%", bar)]
    assert re.search(r"(\d+)% likely", decision)[1] == str(max(shown)), (decision, bar)

    # no console errors (a blocked request would show up here too, as a CSP violation)
    assert not _console_errors(d)
    # no network requests: nothing but the file itself (and inline data: URLs)
    requested = _requests_since(d, url)
    others = [u for u in requested if u.split("#")[0] != url and not u.startswith("data:")]
    assert not others, others


def test_print_to_pdf_has_the_overview_and_unit_pages(report: Path, browser):
    """Chromium's print to PDF of the #print view: the overview table, then a page per unit."""
    from pypdf import PdfReader
    from selenium.webdriver.common.print_page_options import PrintOptions

    browser.get(report.as_uri() + "?lang=ru#print")
    _ready(browser)
    opts = PrintOptions()
    opts.page_width, opts.page_height = 21.0, 29.7  # A4, in centimetres
    opts.background = True
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "report-print-ru.pdf"
    pdf.write_bytes(base64.b64decode(browser.print_page(opts)))
    pages = [p.extract_text() for p in PdfReader(pdf).pages]
    data = json.loads(
        browser.execute_script("return document.getElementById('report-data').textContent")
    )
    names = {u["name"]["ru"] for u in data["units"]}
    # the overview table (its header) on the first pages, then every unit's page heading one
    assert any("Все города с категорией" in p for p in pages[:4])
    starts = [p for p in pages if p.split("\n", 1)[0].strip() in names]
    assert {p.split("\n", 1)[0].strip() for p in starts} == names
    assert len(pages) >= len(names) + 1


def test_forecast_report_pdf(report: Path, tmp_path: Path):
    copy = tmp_path / "run"
    shutil.copytree(report.parent, copy)
    res = subprocess.run(
        [str(FORECAST), "report", str(copy), "--pdf", "--lang", "kk"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert f"wrote {copy / 'report.pdf'}" in res.stdout
    from pypdf import PdfReader

    text = PdfReader(copy / "report.pdf").pages[0].extract_text()
    assert "Халық санының болашағы" in text


TOKEN = "\u27e6"  # the start of a number token the page has not formatted
SHOWN = (
    "return document.getElementById('top').textContent + document.querySelector('main').textContent"
)


def _numbers_agree_with_the_sentences(driver, lang: str) -> None:
    """The overview table's numbers (drawn by the page) read exactly as in each unit's headline
    (written by the Python side as number tokens, formatted by the page): both come from
    numbers.js. No token is left unformatted, on the overview or on a unit's page."""
    _go(driver, "#overview")
    assert TOKEN not in driver.execute_script(SHOWN)  # text, tooltips, chart labels
    cells = driver.execute_script(
        "return [...document.querySelectorAll('#units-table tbody tr')].slice(0, 6).map(tr => ["
        "tr.dataset.id,"
        "tr.querySelector('td[data-key=latest]').firstChild.textContent,"
        "tr.querySelector('td[data-key=change]').firstChild.textContent])"
    )
    assert cells
    for uid, latest, change in cells:
        _go(driver, f"#unit/{uid}")
        headline = driver.find_element(By.CSS_SELECTOR, "p.headline").get_attribute("textContent")
        assert latest in headline and change in headline, (lang, uid, latest, change, headline)
        assert TOKEN not in driver.execute_script(SHOWN)
    _go(driver, "#method")
    assert TOKEN not in driver.execute_script(SHOWN)
    _go(driver, "#overview")


def _origin_coverage_table(driver, run: Path, lang: str) -> None:
    """The accuracy panel's "how often the range held" table (issue 11): one row per (backtest
    origin, horizon) of the run's coverage_by_origin.csv, its sentence naming every origin, and
    no number left unformatted."""
    _go(driver, "#method")
    table = pd.read_csv(run / "coverage_by_origin.csv")
    assert not table.empty, "the kz_towns run has backtest origins"
    blocks = driver.find_elements(By.CSS_SELECTOR, "#accuracy .origin-coverage")
    assert {b.get_attribute("data-target") for b in blocks} == set(table["target"])
    for block in blocks:
        mine = table[table["target"] == block.get_attribute("data-target")]
        rows = block.find_elements(By.CSS_SELECTOR, "table.origin-coverage-table tbody tr")
        assert len(rows) == len(mine), (lang, len(rows), len(mine))
        shown = [tuple(int(c.text) for c in r.find_elements(By.TAG_NAME, "td")[:2]) for r in rows]
        assert shown == sorted(zip(mine["origin"], mine["horizon"]))
        sentence = block.find_element(By.TAG_NAME, "p").text
        assert all(str(o) in sentence for o in mine["origin"].unique()), sentence
        assert "{" not in block.text and TOKEN not in block.text
        assert re.search(r"\d", sentence) and "%" in sentence
    assert TOKEN not in driver.execute_script(SHOWN)


def _track_record_block(driver, lang: str) -> None:
    """The method page's "track record of this rule" block: there, in the page's language, every
    number formatted by numbers.js (the kz_towns run's policy carries a `record:`)."""
    data = json.loads(
        driver.execute_script("return document.getElementById('report-data').textContent")
    )
    assert data["policy_record"][lang], "the run's policy has a record"
    _go(driver, "#method")
    block = driver.find_element(By.ID, "policy-record").get_attribute("textContent")
    assert data["i18n"][lang]["policy_record"]["title"] in block
    assert TOKEN not in block and "{" not in block, (lang, block)
    assert re.search(r"\d\s?%", block), (lang, block)  # the shares, as the page formats them
    _go(driver, "#overview")


def _latin_names(driver, lang: str) -> list[str]:
    """English (Latin-script) names of units, regions and cities in the page's text.

    The visible text, chart labels and the unit menu count; the tooltips of observations carry
    the source's own note (provenance, quoted as published) and are left out."""
    data = json.loads(
        driver.execute_script("return document.getElementById('report-data').textContent")
    )
    names = {u["name"]["en"] for u in data["units"]} | {u["region"]["en"] for u in data["units"]}
    if data.get("map"):
        names |= {c["name"] for c in data["map"]["cities"]}
        names |= {r["region"] for r in data["map"]["regions"]}
    for u in data["units"]:
        names |= {a["text"]["en"] for a in u["attrs"] if a.get("text")}
    text = driver.find_element(By.TAG_NAME, "body").text
    text += " ".join(
        e.get_attribute("textContent")
        for e in driver.find_elements(By.CSS_SELECTOR, "svg text, option")
    )
    assert driver.execute_script("return document.documentElement.lang") == lang
    return sorted(n for n in names if re.search(r"(?<![\w/.-])" + re.escape(n) + r"(?![\w])", text))


def test_the_checks_catch_a_network_request(report: Path, browser, tmp_path: Path):
    """Negative control: the same checks flag a copy of the report with one remote image."""
    page = report.read_text(encoding="utf-8")
    bad = tmp_path / "bad.html"
    # port 9 (discard) on localhost: Chrome refuses it, so nothing leaves the machine either way
    bad.write_text(
        page.replace('<main id="main">', '<main id="main"><img src="http://127.0.0.1:9/x.png">')
    )
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(bad.as_uri())
    _ready(browser)
    time.sleep(0.3)
    errors = _console_errors(browser)
    assert any("Content Security Policy" in e["message"] for e in errors), errors
    assert "http://127.0.0.1:9/x.png" in _requests_since(browser, bad.as_uri())


def _console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _requests_since(driver, url: str) -> list[str]:
    """Every URL the tab requested from the moment `url` was requested.

    Chrome's own start-up tab (the new-tab page) loads chrome:// and chrome-untrusted:// pages
    from inside the browser, around the same time; those internal schemes never reach a network
    and are left out. Everything else counts.
    """
    requested, started = [], False
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            req_url = msg["params"]["request"]["url"]
            started = started or req_url.split("#")[0] == url
            if started and not req_url.startswith(INTERNAL):
                requested.append(req_url)
        if started:
            assert msg["method"] != "Network.webSocketCreated", msg
    assert requested, "the performance log did not record the page: cannot prove no requests"
    return requested
