"""A minimal self-contained HTML summary of a run (the full report lives in report.html).

English only. Its numbers are tokens (:mod:`.text`) formatted in the page by the report's one
number formatter, ``numbers.js``, inlined with the English separators.
"""

from __future__ import annotations

import html
import json
from importlib import resources

from . import headline as hl
from . import text as tx

SCRIPT = """<script>
{numbers}
(function () {{
  var f = ReportNumbers.formatter({words});
  document.querySelectorAll("td").forEach(function (td) {{ td.textContent = f.render(td.textContent); }});
}})();
</script>"""


def _script() -> str:
    en = tx.ui("en")
    words = {"num": en["num"], "unit_pp": en["unit_pp"], "unit_km": en["unit_km"]}
    numbers = resources.files("forecast").joinpath("report/numbers.js").read_text("utf-8")
    return SCRIPT.format(numbers=numbers, words=json.dumps(words, ensure_ascii=False))


def render_summary(result) -> str:
    cats = result.categories.sort_values("change_pct")
    policy = result.policy.model_dump()
    rows = []
    for r in cats.itertuples():
        h = hl.headline(r._asdict(), policy, result.config.level)
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(r.name))}</td><td>{html.escape(str(r.region))}</td>"
            f"<td class=n>{tx.num(r.latest)} ({r.latest_year})</td>"
            f"<td class=n>{tx.num(r.forecast)}</td>"
            f"<td class=n>{tx.pct(r.change_pct)} [{tx.pct(r.lower_pct)}, {tx.pct(r.upper_pct)}]</td>"
            f"<td>{html.escape(r.category)}{' *' if r.boundary else ''}</td>"
            f"<td>{html.escape(hl.headline_text(h, r._asdict(), policy, 'en'))}</td>"
            f"<td>{html.escape(str(r.reasons))}</td>"
            "</tr>"
        )
    level = int(round(result.config.level * 100))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>town-prospects: {html.escape(result.data.name)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}
td.n{{text-align:right;white-space:nowrap}}</style></head><body>
<h1>{html.escape(result.data.name)}: forecasts as of {result.forecaster.origin_}</h1>
<p>Population at +{result.policy.horizon} years with the {level}% interval; category from policy
<code>{html.escape(result.policy.name)}</code>. * = boundary case.</p>
<table><thead><tr><th>Unit</th><th>Region</th><th>Latest</th><th>Forecast</th><th>Change</th>
<th>Category</th><th>Decision and most likely outcome</th><th>Why</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
{_script()}
</body></html>
"""
