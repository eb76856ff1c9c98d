"""The decision-maker report: one self-contained HTML file per run (Kazakh, Russian, English).

``render_report(run_dir)`` reads the run folder (see :mod:`.rundir`), builds the report's data
(:mod:`.payload`) and returns one HTML page with the stylesheet, the script and the data inline.
The page makes no network request at all: no external script, style sheet, font, image or map
tile, and a Content-Security-Policy that forbids them, so it can be mailed, archived and opened
offline. Links to data sources are ordinary ``<a href>`` links that the reader may click.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from pathlib import Path

from .. import io
from .payload import build_payload
from .rundir import read_run

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta http-equiv="x-dns-prefetch-control" content="off">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="town-prospects {version}">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header class="top" id="top"><div class="brand"><h1>{title}</h1><p>{subtitle}</p></div></header>
<main id="main"><noscript><p>{noscript}</p></noscript></main>
<footer id="foot"></footer>
<script type="application/json" id="report-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    return resources.files("forecast").joinpath(f"report/{name}").read_text("utf-8")


def _clean(obj):
    """NaN and infinities -> None, recursively (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return _clean(obj.item())
    return obj


def embed_json(obj) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' left raw."""
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError):  # a NaN or a numpy scalar slipped through: clean and retry
        text = json.dumps(_clean(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_report(run_dir: Path) -> str:
    """The report for a run folder as one self-contained HTML page."""
    payload = build_payload(read_run(run_dir))
    meta = payload["meta"]
    en = payload["i18n"]["en"]
    title = f"{en['app_title']}: {meta['dataset_title']['en']}"
    subtitle = en["subtitle"].format(
        dataset=meta["dataset"],
        as_of=meta["as_of"] or "–",
        target_year=meta["target_year"] or "–",
    )
    return PAGE.format(
        csp=CSP,
        version=html.escape(str(meta["version"])),
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        noscript=html.escape(en["noscript"]),
        css=_asset("report.css"),
        data=embed_json(payload),
        js=_asset("numbers.js") + "\n" + _asset("report.js"),
    )


def write_report(run_dir: Path) -> Path:
    """Write run_dir/report.html (atomically) and return its path."""
    run_dir = Path(run_dir)
    text = render_report(run_dir)
    return io.write_text(text, run_dir / "report.html")
