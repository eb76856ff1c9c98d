"""Categories with a track record: choose the decision rule on some past origins, score it on
others (issue 12).

    nice -n 10 .venv/bin/python benchmarks/categories.py --data ../shared/data/us_counties \\
        --policy experiments/policy_us_counties.yaml --choose 1984-1991 --report 1993-1996 \\
        --cache /tmp/cat_cache

For every origin the engine is fitted on data cut there (as in `forecast reality-check`), the
policy facts are computed and put beside the realised change at origin + horizon (cached per
origin with --cache). The rule is chosen on the --choose origins only (`forecast.rulechoice`)
and scored on the --report origins. Writes benchmarks/results/categories.md and, beside it,
categories_precision_recall.csv, categories_reliability.csv, categories_pr_curve.csv and
categories_choice.csv (the trials behind each choice).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from forecast import io, pipeline, probcal, rulechoice
from forecast import reality as rc
from forecast.markdown import table as md_table
from forecast.policy import RANGE_TAIL_FACTOR, Policy, load_policy
from forecast.trackrecord import collect

ROOT = Path(__file__).resolve().parents[1]


def years(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def targets(pr: pd.DataFrame, rel: pd.DataFrame) -> pd.DataFrame:
    """The issue's numbers on one scored set (group all)."""
    p = pr[(pr["group"] == "all")].set_index("category")
    r = rel[(rel["group"] == "all") & (rel["units"] >= 30)]
    worst = float(r["gap_points"].abs().max()) if len(r) else np.nan
    rows = [
        ("resettle precision >= 0.6", p.loc["resettle", "precision"], 0.6),
        ("resettle units called >= 10", p.loc["resettle", "called"], 10),
        (
            "recall of decliners (resettle or boundary) >= 0.5",
            p.loc["resettle or boundary", "recall"],
            0.5,
        ),
        ("diversify precision >= 0.8", p.loc["diversify", "precision"], 0.8),
    ]
    out = [{"target": n, "value": v, "met": bool(v >= t)} for n, v, t in rows]
    out.append(
        {
            "target": "reliability gap <= 10 pts in bins of 30+",
            "value": worst,
            "met": bool(worst <= 10),
        }
    )
    return pd.DataFrame(out)


def _widths(rec: pd.DataFrame) -> str:
    hw = (np.log1p(rec["upper_pct"] / 100) - np.log1p(rec["lower_pct"] / 100)) / 2
    q = np.nanpercentile(hw, [5, 50, 95])
    return f"5% {q[0]:.3f}, median {q[1]:.3f}, 95% {q[2]:.3f}"


def curve_points(curve: pd.DataFrame, chosen: float) -> pd.DataFrame:
    keep = np.isclose(curve["threshold"] * 20, np.round(curve["threshold"] * 20)) | np.isclose(
        curve["threshold"], chosen
    )
    c = curve[keep].copy()
    c["chosen"] = np.where(np.isclose(c["threshold"], chosen), "<-- chosen", "")
    return c[["threshold", "called", "precision", "recall", "chosen"]]


FIT_BLOCKS = ("probability", "resettle", "diversify", "current_state", "record")


def fit_values(chosen: Policy, fitted_on: str, record: dict) -> dict:
    """The values the procedure chose, as the policy file's blocks (to paste into
    experiments/policy_*.yaml, or written there with --write-policy)."""
    pol = chosen.model_copy(deep=True)
    pol.probability.fitted_on = fitted_on
    pol.record = record
    out = pol.model_dump(mode="json", include=set(FIT_BLOCKS))
    out["resettle"].pop("structural_drivers", None)
    if not out["probability"]["groups"]:
        for k in ("group_by", "groups", "size_breaks"):
            out["probability"].pop(k)
    pr = out["probability"]
    if pr["growth_bias"] == 0 and pr["growth_scale"] == 1:
        pr.pop("growth_bias"), pr.pop("growth_scale")
    if pr["isotonic"] is None:
        pr.pop("isotonic")
    return {k: out[k] for k in FIT_BLOCKS}


class _Dumper(yaml.SafeDumper):
    """Block style, but a list of numbers on one line (the isotonic knots, size breaks)."""


def _numbers_flow(dumper: yaml.SafeDumper, data: list):
    flow = bool(data) and all(isinstance(x, int | float) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _numbers_flow)


def write_policy(path: Path, values: dict) -> None:
    """Replace the fitted blocks of the policy file at `path` (top-level keys), keeping every
    other line (comments included) as it is."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, skip = [], False
    for line in lines:
        key = line.split(":", 1)[0] if line and not line[0].isspace() else None
        if key is not None and not line.startswith("#"):
            skip = key in values
            if skip:
                out.append(yaml.dump({key: values[key]}, sort_keys=False, Dumper=_Dumper).rstrip())
                continue
        if skip and (not line or line[0].isspace() or line.startswith("#")):
            continue
        out.append(line)
    missing = [k for k in values if not any(x.startswith(f"{k}:") for x in out)]
    for k in missing:
        out.append(yaml.dump({k: values[k]}, sort_keys=False, Dumper=_Dumper).rstrip())
    text = "\n".join(out) + "\n"
    load_policy_text(text, path)
    path.write_text(text, encoding="utf-8")


def _option_kept(trials: pd.DataFrame) -> str:
    if not len(trials):
        return "not tried"
    best = trials.loc[trials["chosen"], "calibration"]
    return f"kept: {best.iloc[0]}" if best.iloc[0] != "without options" else "none kept"


def load_policy_text(text: str, path: Path) -> Policy:
    """Validate a policy text before it replaces `path` (the error names the file)."""
    try:
        return Policy.model_validate(yaml.safe_load(text))
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise SystemExit(f"{path}: the chosen values do not make a valid policy: {exc}") from exc


def group_diagnosis(
    rec: pd.DataFrame, chosen: Policy, level: float, flag: pd.Series
) -> pd.DataFrame:
    """The realised decliners of the flagged group (e.g. monotowns) on `rec`: their probability
    of decline, range, structural share and which condition kept them off resettle / the watch
    list."""
    sub = rec[flag.reindex(rec.index).fillna(False).to_numpy(dtype=bool)]
    if sub.empty:
        return pd.DataFrame()
    p_dec, _ = probcal.calibrated(sub, chosen, level)
    dec, _ = probcal.events(sub, chosen)
    r = chosen.resettle
    struct = rulechoice._structural_ok(sub, r.min_structural_share)
    state = rulechoice._state_ok(sub, chosen.current_state)
    prob_ok = (p_dec >= r.min_probability) & (r.min_probability < 1)
    watch = p_dec >= r.boundary_probability
    why = np.where(
        prob_ok & struct & state,
        "resettle",
        np.where(
            watch,
            "watch list",
            np.where(
                struct & state,
                "probability",
                np.where(struct, "probability and state", "probability and structural share"),
            ),
        ),
    )
    out = sub.assign(p_decline=p_dec, kept_off_by=why)[dec]
    out.index.name = "unit_id"
    cols = ["name", "origin", "change_pct", "lower_pct", "upper_pct", "p_decline"]
    cols += ["structural_share", "realized_pct", "kept_off_by"]
    return out.reset_index()[["unit_id", *cols]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--policy", type=Path, required=True)
    ap.add_argument("--choose", required=True, help="origins to choose on, e.g. 1984-1991")
    ap.add_argument("--report", required=True, help="origins to report on, e.g. 1993-1996")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--group", default="mining_dependent", help="0/1 units.csv column to score")
    ap.add_argument(
        "--config", type=Path, default=None, help="engine YAML (default: the dataset's own)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "categories.md")
    ap.add_argument(
        "--write-policy",
        action="store_true",
        help="write the chosen values into the --policy file (its probability, resettle, "
        "diversify, current_state and record blocks; other lines kept)",
    )
    ap.add_argument(
        "--no-groups", action="store_true", help="pooled calibration only (no size classes)"
    )
    args = ap.parse_args(argv)
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = io.read_dataset(args.data)
    warnings.filterwarnings("ignore", module="forecast")
    cfg = pipeline.load_engine_config(args.config, dataset=args.data)
    policy = load_policy(args.policy)
    choose_o, report_o = years(args.choose), years(args.report)
    if set(choose_o) & set(report_o):
        ap.error("--choose and --report origins must not overlap")
    cfg_h = cfg.model_copy(update={"horizons": [policy.horizon]})
    record = collect(data, choose_o + report_o, policy, cfg_h, args.cache, print)
    record["country"] = data.name
    level = cfg.level
    ch_rec = record[record["origin"].isin(choose_o)]
    rp_rec = record[record["origin"].isin(report_o)]
    choice = rulechoice.choose(ch_rec, policy, level, groups=not args.no_groups)
    chosen = choice.policy

    scored = {}
    for name, rec in (("choose", ch_rec), ("report", rp_rec)):
        for variant, pol in rc.variants(chosen).items():
            scored[(name, variant)] = rc.score_record(rec, pol, level)
    pr_all, rel_all = [], []
    for (name, variant), cats in scored.items():
        pr, rel = rc.scores_by_group(cats, data.units, data.name, args.group)
        pr_all.append(pr.assign(origins=name, variant=variant))
        rel_all.append(rel.assign(origins=name, variant=variant))
    # the report origins one by one too
    for o in report_o:
        cats = scored[("report", "as configured")]
        pr, rel = rc.scores_by_group(cats[cats["origin"] == o], data.units, data.name, args.group)
        pr_all.append(pr[pr["group"] == "all"].assign(origins=str(o), variant="as configured"))
        rel_all.append(rel[rel["group"] == "all"].assign(origins=str(o), variant="as configured"))
    pr_t = pd.concat(pr_all, ignore_index=True)
    rel_t = pd.concat(rel_all, ignore_index=True)
    front = ["origins", "variant"]
    pr_t = pr_t[front + [c for c in pr_t.columns if c not in front]]
    rel_t = rel_t[front + [c for c in rel_t.columns if c not in front]]

    p_dec, p_gro = probcal.calibrated(rp_rec, chosen, level)
    dec, gro = probcal.events(rp_rec, chosen)
    struct = rulechoice._structural_ok(rp_rec, chosen.resettle.min_structural_share)
    state = rulechoice._state_ok(rp_rec, chosen.current_state)
    curves = pd.concat(
        [
            choice.resettle_curve.assign(category="resettle", origins="choose"),
            choice.diversify_curve.assign(category="diversify", origins="choose"),
            rulechoice.pr_curve(p_dec, dec, mask=struct & state).assign(
                category="resettle", origins="report"
            ),
            rulechoice.pr_curve(p_gro, gro).assign(category="diversify", origins="report"),
        ],
        ignore_index=True,
    )
    trials = pd.concat(
        [
            choice.calibration_trials.assign(step="calibration"),
            choice.structural_trials.assign(step="structural share"),
            choice.state_trials.assign(step="current state"),
            choice.group_trials.assign(step="calibration by size class"),
            choice.option_trials.assign(step="calibration options"),
        ],
        ignore_index=True,
    )
    stem = args.out.with_suffix("")
    for suffix, table in (
        ("precision_recall", pr_t),
        ("reliability", rel_t),
        ("pr_curve", curves),
        ("choice", trials),
    ):
        io.write_csv(table, stem.with_name(f"{stem.name}_{suffix}.csv"), float_format="%.4g")

    sel = lambda t, o, v="as configured": t[(t["origins"] == o) & (t["variant"] == v)]  # noqa: E731
    goal = targets(sel(pr_t, "report"), sel(rel_t, "report"))
    try:
        results = str(args.out.resolve().relative_to(ROOT))
    except ValueError:
        results = str(args.out)
    p_all = sel(pr_t, "report").query("group == 'all'").set_index("category")
    record_values = {
        "scored_on": f"origins {args.report}, outcomes to {max(report_o) + chosen.horizon}, "
        "not used for choosing",
        "resettle_called": int(p_all.loc["resettle", "called"]),
        "resettle_precision": round(float(p_all.loc["resettle", "precision"]), 3)
        if p_all.loc["resettle", "called"]
        else "none called",
        "decliners_flagged_recall": round(float(p_all.loc["resettle or boundary", "recall"]), 3),
        "diversify_called": int(p_all.loc["diversify", "called"]),
        "diversify_precision": round(float(p_all.loc["diversify", "precision"]), 3),
        "reliability_worst_gap_points": round(float(goal["value"].iloc[-1]), 1),
        "results": results,
    }
    by_size = " by size class" if chosen.probability.groups else ""
    if chosen.probability.growth_bias != 0 or chosen.probability.growth_scale != 1:
        by_size += ", per tail"
    if chosen.probability.isotonic is not None:
        by_size += ", then isotonic"
    values = fit_values(
        chosen,
        f"{data.name} origins {args.choose}, outcomes to {max(choose_o) + chosen.horizon}; "
        f"{choice.calibration_mode}{by_size}, least log loss kept consistent with the "
        f"{level:.0%} ranges (benchmarks/categories.py)",
        record_values,
    )
    values_yaml = yaml.dump(values, sort_keys=False, allow_unicode=True, Dumper=_Dumper)
    io.write_text(values_yaml, stem.with_name(f"{stem.name}_policy.yaml"))
    if args.write_policy:
        write_policy(args.policy, values)
        print(f"wrote the chosen values into {args.policy}")
    flag = (
        data.units[args.group].astype(str).isin(["1", "1.0", "True"])
        if data.units is not None and args.group in data.units
        else pd.Series(dtype=bool)
    )
    diag = group_diagnosis(rp_rec, chosen, level, flag)
    r_pt = float(chosen.resettle.min_probability)
    d_pt = float(chosen.diversify.min_probability)
    pr_cols = ["group", "value", "category", "called", "correct", "precision", "realised", "recall"]
    rel_cols = ["event", "bin", "units", "mean_probability", "realised_share", "gap_points"]
    lines = [
        "# Categories with a track record (issue 12)",
        "",
        f"- command: `{' '.join(['python', *sys.argv])}`",
        f"- data: `{data.name}`; policy horizon {chosen.horizon} years; decline < "
        f"{chosen.thresholds.decline_pct:+g}%, growth >= {chosen.thresholds.growth_pct:+g}%",
        f"- rule **chosen on origins {choose_o}** (outcomes up to {max(choose_o) + chosen.horizon}"
        f", {len(ch_rec):,} unit-origins); **scored on origins {report_o}** (outcomes up to "
        f"{max(report_o) + chosen.horizon}, {len(rp_rec):,} unit-origins), never used for "
        "choosing. Outcome windows of neighbouring origins overlap, so the origins are not "
        "independent draws (one national growth regime moves all units together).",
        f"- costs stated in the policy: a viable town told to resettle = "
        f"{chosen.choice.cost_false_resettle:g}, a declining town not told = "
        f"{chosen.choice.cost_missed_decline:g}; the watch list must catch "
        f"{chosen.choice.watch_recall:.0%} of decliners",
        f"- {time.time() - t0:.0f} s (forecasts cached per origin)",
        "",
        "## The chosen rule",
        "",
        f"- probability calibration: `{choice.calibration_mode}` (leave-one-origin-out log loss "
        f"on the choosing origins): bias {chosen.probability.bias:+.4f} (log), scale "
        f"{chosen.probability.scale:.4f}, common shock sd {chosen.probability.common_sd:.4f} "
        "(log)",
        f"- consistency with the ranges shown: on the report origins, "
        f"{probcal.contradiction_share(rp_rec, level, chosen.probability):.1%} of the units "
        f"get a calibrated chance beyond a bound of their {level:.0%} range outside "
        f"{(1 - level) / 2 / RANGE_TAIL_FACTOR:.0%}..{(1 - level) / 2 * RANGE_TAIL_FACTOR:.0%} "
        f"(the range says {(1 - level) / 2:.0%}); half-widths of the ranges (log scale) "
        f"{_widths(rp_rec)}",
        f"- resettle when P(decline) >= {r_pt:.2f} and structural share >= "
        f"{chosen.resettle.min_structural_share:g}"
        + "".join(
            f" and {c.indicator} {'>=' if c.at_least is not None else '<='} "
            f"{c.at_least if c.at_least is not None else c.at_most:g}"
            for c in chosen.current_state
        ),
        f"- watch list (boundary) when P(decline) >= {chosen.resettle.boundary_probability:.2f}",
        f"- diversify when P(growth) >= {d_pt:.2f}",
        "",
        "The values chosen, as the policy file's blocks (also in "
        f"`{stem.name}_policy.yaml`; `--write-policy` writes them into the policy file):",
        "",
        "```yaml",
        values_yaml.rstrip(),
        "```",
        "",
        "## Targets on the report origins (all units)",
        "",
        md_table(goal, floats=".3f"),
        "",
        "## Precision and recall, report origins, by group",
        "",
        md_table(sel(pr_t, "report")[pr_cols], floats=".3f"),
        "",
        "Point forecast only (uncalibrated, even odds, no conditions), report origins:",
        "",
        md_table(
            sel(pr_t, "report", "point forecast only").query("group == 'all'")[pr_cols],
            floats=".3f",
        ),
        "",
        "Each report origin alone (as configured):",
        "",
        md_table(
            pr_t[pr_t["origins"].isin([str(o) for o in report_o])][["origins", *pr_cols[2:]]],
            floats=".3f",
        ),
        "",
        "## Reliability on the report origins (all units)",
        "",
        md_table(sel(rel_t, "report").query("group == 'all'")[rel_cols], floats=".3f"),
        "",
        f"Units with {args.group} = 1:",
        "",
        md_table(
            sel(rel_t, "report").query(f"group == '{args.group}' and value == 'yes'")[rel_cols],
            floats=".3f",
        ),
        "",
        "## Precision-recall curves and where the rule sits",
        "",
        "resettle (P(decline) >= threshold, with the chosen conditions), report origins:",
        "",
        md_table(
            curve_points(curves.query("category == 'resettle' and origins == 'report'"), r_pt),
            floats=".3f",
        ),
        "",
        "diversify (P(growth) >= threshold), report origins:",
        "",
        md_table(
            curve_points(curves.query("category == 'diversify' and origins == 'report'"), d_pt),
            floats=".3f",
        ),
        "",
        "On the choosing origins, with the lowest precision of any single origin with "
        f"{chosen.choice.min_origin_calls}+ calls (the rule reads `{chosen.choice.precision_at}`"
        "; full curves in `*_pr_curve.csv`):",
        "",
        *[
            line
            for curve, point, name in (
                (choice.resettle_curve, r_pt, "resettle"),
                (choice.diversify_curve, d_pt, "diversify"),
            )
            for line in (
                md_table(
                    curve_points(curve, point)
                    .join(curve["worst_origin_precision"])
                    .assign(category=name),
                    floats=".3f",
                ),
                "",
            )
        ],
        f"## Units with {args.group} = 1 that fell below the decline threshold (report "
        "origins): what kept them off resettle and the watch list",
        "",
        md_table(diag, floats=".2f") if len(diag) else "(none)",
        "",
        "",
        "## What was tried (choosing origins)",
        "",
        "Probability calibration, log loss on each choosing origin left out (lower is better):",
        "",
        md_table(choice.calibration_trials, floats=".4f"),
        "",
        "Calibration by size class (shrunk toward the pooled fit, "
        f"{probcal.SHRINK_UNITS} unit-origins' weight), against the pooled one, each "
        "fitted on the choosing origins but one and scored on the one left out; kept only if "
        "the mean log loss falls and the worst reliability gap (bins of "
        f"{probcal.RELIABILITY_MIN_UNITS}+ of the left-out predictions) does not widen: "
        f"**{'kept' if chosen.probability.groups else 'not kept'}**",
        "",
        md_table(choice.group_trials, floats=".4f") if len(choice.group_trials) else "(not tried)",
        "",
        "Calibration options (`choice.calibration_options`: per_tail, the growth side its own "
        "shift and spread; isotonic, a monotone map of each event's probability after them, "
        "kept consistent with the ranges), each against the calibration without them, fitted "
        "on the choosing origins but one and scored on the one left out; kept only if the mean "
        "log loss falls and the worst reliability gap of the three events does not widen: "
        f"**{_option_kept(choice.option_trials)}** (growth_bias "
        f"{chosen.probability.growth_bias:+.4f}, growth_scale "
        f"{chosen.probability.growth_scale:.4f})",
        "",
        md_table(choice.option_trials, floats=".4f")
        if len(choice.option_trials)
        else "(not tried)",
        "",
        "Resettle at the cheapest threshold for each structural-share condition:",
        "",
        md_table(choice.structural_trials, floats=".3f"),
        "",
        "Current-state criteria for resettle (kept only if the cost falls pooled and at most "
        "origins where the indicator is observed):",
        "",
        md_table(choice.state_trials, floats=".3f"),
        "",
    ]
    io.write_text("\n".join(lines), args.out)
    print("\n".join(lines[:40]))
    print(goal.to_string())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
