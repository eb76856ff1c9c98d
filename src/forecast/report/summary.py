"""A minimal self-contained HTML summary of a run (the full report lives in report.html)."""

from __future__ import annotations

import html

import pandas as pd

from . import headline as hl


def _fmt(v, spec: str = ",.0f") -> str:
    return "" if pd.isna(v) else format(v, spec)


def render_summary(result) -> str:
    cats = result.categories.sort_values("change_pct")
    policy = result.policy.model_dump()
    rows = []
    for r in cats.itertuples():
        h = hl.headline(r._asdict(), policy, result.config.level)
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(r.name))}</td><td>{html.escape(str(r.region))}</td>"
            f"<td class=n>{_fmt(r.latest)} ({r.latest_year})</td>"
            f"<td class=n>{_fmt(r.forecast)}</td>"
            f"<td class=n>{r.change_pct:+.1f}% [{r.lower_pct:+.1f}%, {r.upper_pct:+.1f}%]</td>"
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
</tbody></table></body></html>
"""
