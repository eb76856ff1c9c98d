"""How long `forecast run` takes on the default dataset, and what it costs in CPU and memory.

Runs the command (`forecast run`, tracked to a throwaway MLflow store) under `/usr/bin/time -v`
and records wall time, the command's own "done in", user and system CPU time, peak memory, the
load average before and after (the machine is shared: wall time alone says little) and the
stage timings of the run's run.json. With `--ref SRC_DIR` (a source tree of another commit, e.g.
`git archive COMMIT | tar -x -C DIR`) the reference code runs in alternation with this one under
the same conditions, and the outputs of the two are compared byte for byte
(`scripts/compare_runs.py`). Prints a table and writes `benchmarks/results/run_time.md`.

    nice -n 10 .venv/bin/python benchmarks/run_time.py --ref /tmp/base --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from compare_runs import DEFAULT, compare  # noqa: E402

TIME_FIELDS = {
    "user_s": r"User time \(seconds\): ([\d.]+)",
    "sys_s": r"System time \(seconds\): ([\d.]+)",
    "peak_mb": r"Maximum resident set size \(kbytes\): (\d+)",
}


def _run(label: str, src: Path | None, data: str, runs: Path, mlflow_uri: str) -> dict:
    env = dict(os.environ, MLFLOW_TRACKING_URI=mlflow_uri)
    if src is not None:  # the reference code first on the path (its data and experiments too)
        env["PYTHONPATH"] = str(src / "src")
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "forecast.cli", "run"]
    cmd += ["--data", data, "--runs", str(runs)]
    load0 = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=src or ROOT)
    wall = time.perf_counter() - start
    load1 = os.getloadavg()
    if proc.returncode != 0:
        raise SystemExit(
            f"{label}: forecast run failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
        )
    row = {"code": label, "wall_s": wall, "load_1min_before": load0[0], "load_1min_after": load1[0]}
    for key, pattern in TIME_FIELDS.items():
        row[key] = float(re.search(pattern, proc.stderr).group(1))
    row["peak_mb"] /= 1024
    row["cpu_s"] = row["user_s"] + row["sys_s"]
    done = re.search(r"done in ([\d.]+)s", proc.stdout)
    row["done_in_s"] = float(done.group(1)) if done else float("nan")
    (folder,) = [p.parent for p in runs.glob("*/*/run.json")]
    row["stages"] = json.loads((folder / "run.json").read_text())["timings_s"]
    row["folder"] = folder
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="kz_annual")
    ap.add_argument("--ref", type=Path, default=None, help="source tree of the reference code")
    ap.add_argument("--ref-label", default="reference")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "run_time.md")
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        codes = [("this", None)] + ([(args.ref_label, args.ref)] if args.ref else [])
        # a first run creates the MLflow store (its tables); not timed
        _run("warm-up", None, "kz_towns", Path(tmp) / "warm", uri)
        for k in range(args.rounds):
            for label, src in codes if k % 2 == 0 else codes[::-1]:
                rows.append(_run(label, src, args.data, Path(tmp) / f"{label}{k}", uri))
                r = rows[-1]
                print(
                    f"{label:10s} round {k + 1}: wall {r['wall_s']:.1f} s, done in "
                    f"{r['done_in_s']:.1f} s, CPU {r['cpu_s']:.1f} s, load "
                    f"{r['load_1min_before']:.1f}->{r['load_1min_after']:.1f}",
                    flush=True,
                )
        same = []
        if args.ref:
            a = next(r["folder"] for r in rows if r["code"] == "this")
            b = next(r["folder"] for r in rows if r["code"] == args.ref_label)
            same = [(name, *compare(a, b, name)) for name in DEFAULT]

    stages = sorted({s for r in rows for s in r["stages"]}, key=list(rows[0]["stages"]).index)
    head = ["code", "wall s", "done in s", "CPU s (user+sys)", "peak MB", "load before/after"]
    head += [f"{s} s" for s in stages]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r["code"],
            f"{r['wall_s']:.1f}",
            f"{r['done_in_s']:.1f}",
            f"{r['cpu_s']:.1f} ({r['user_s']:.1f}+{r['sys_s']:.1f})",
            f"{r['peak_mb']:.0f}",
            f"{r['load_1min_before']:.1f} / {r['load_1min_after']:.1f}",
            *(f"{r['stages'].get(s, float('nan')):.1f}" for s in stages),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [
        f"# `forecast run --data {args.data}`: time, CPU and memory",
        "",
        "Command: `nice -n 10 .venv/bin/python benchmarks/run_time.py"
        + (f" --ref {args.ref} --ref-label {args.ref_label}" if args.ref else "")
        + f" --rounds {args.rounds}`, {stamp}, {os.cpu_count()} cores (shared machine: the load",
        "average is the 1-minute one before and after each run; CPU time is the command's own).",
        "Runs alternate between the codes so that both see the same load. MLflow tracking to a",
        "throwaway store (created by an untimed warm-up run); no `--pdf`.",
        "",
        table,
        "",
    ]
    if same:
        text += ["Outputs of the two codes compared byte for byte (`scripts/compare_runs.py`):", ""]
        text += [f"- {name}: {note}" for name, _, note in same]
        text.append("")
    args.out.write_text("\n".join(text), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
