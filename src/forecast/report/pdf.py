"""report.pdf from report.html with headless Chromium (when it is installed).

The page's ``#print`` view lays out the overview and then every unit's page, each from a new A4
sheet (see the print stylesheet in ``report.css``); Chromium prints it to PDF. The page makes no
network request, so printing needs none either.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import ForecastError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def write_pdf(html_path: Path, lang: str = "en", browser: str | None = None) -> Path:
    """Print `html_path` (the #print view in `lang`) to report.pdf beside it."""
    html_path = Path(html_path).resolve()
    exe = browser or find_browser()
    if exe is None:
        raise ForecastError(
            "no PDF written: headless Chromium is not installed "
            "(Debian: apt-get install chromium); report.html prints to PDF from any browser"
        )
    out = html_path.with_name("report.pdf")
    with tempfile.TemporaryDirectory(prefix="forecast-pdf-") as profile:
        tmp = Path(profile) / "report.pdf"
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--virtual-time-budget=20000",
            f"--print-to-pdf={tmp}",
            f"{html_path.as_uri()}?lang={lang}#print",
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise ForecastError(f"no PDF written: {exe} took over {TIMEOUT_S} s") from exc
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            tail = (done.stderr or "").strip().splitlines()[-3:]
            raise ForecastError(f"no PDF written: {exe} failed ({'; '.join(tail)})")
        shutil.move(str(tmp), out)
    return out
