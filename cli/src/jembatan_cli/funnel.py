"""`jembatan funnel`: the dashboard's figures, printed for a terminal."""

from __future__ import annotations

from typing import Any

STAGE_NAMES = {
    "registered": "registered",
    "in_training": "in training",
    "certified": "certified",
    "ready": "ready",
    "placed": "placed",
    "departed": "departed",
    "repaying": "repaying",
    "settled": "settled",
}
BAR_WIDTH = 40


def render_funnel(figures: dict[str, Any]) -> list[str]:
    """The funnel as bars, the target, drop-outs, cohorts below target and arrears."""
    scope = figures["scope"]
    who = scope["agency"] or "every agency"
    programme = f", programme {scope['programme']}" if scope["programme"] else ""
    lines = [
        f"{who}{programme}, candidates registered in {scope['year']} (as of {figures['as_of']})"
    ]
    widest = max((s["reached"] for s in figures["stages"]), default=0) or 1
    for stage in figures["stages"]:
        bar = "#" * round(BAR_WIDTH * stage["reached"] / widest)
        lines.append(
            f"  {STAGE_NAMES.get(stage['stage'], stage['stage']):<12} {stage['reached']:>7,}  "
            f"{bar:<{BAR_WIDTH}}  now here {stage['now_at']:,}"
        )
    target = figures["target"]
    if target["departures_target"]:
        share = 100 * target["departed"] / target["departures_target"]
        lines.append(
            f"\nDepartures in {scope['year']}: {target['departed']:,} of "
            f"{target['departures_target']:,} ({share:.1f}% of {target['agency']}'s target)"
        )
    else:
        lines.append(
            f"\nDepartures in {scope['year']}: {target['departed']:,} (no target set for "
            f"{target['agency']})"
        )
    if figures["drop_outs"]:
        lines.append("\nDrop-outs:")
        for drop in figures["drop_outs"]:
            lines.append(
                f"  {STAGE_NAMES.get(drop['stage'], drop['stage']):<12} "
                f"{drop['kind']} ({drop['reason']}): {drop['count']:,}"
            )
    if figures["cohorts_below_target"]:
        lines.append("\nCohorts below the daily-score target:")
        for cohort in figures["cohorts_below_target"]:
            lines.append(
                f"  {cohort['cohort']} ({cohort['training_centre']}): average "
                f"{cohort['average']} < {cohort['target']}, {cohort['members_below']} of "
                f"{cohort['members']} members below"
            )
    arrears = figures["arrears"]
    in_arrears = [b for b in arrears["buckets"] if b["loans"]]
    lines.append(
        f"\nLoans in arrears ({arrears['open_loans']:,} open): "
        + (
            ", ".join(
                f"{b['bucket']} days: {b['loans']:,} (Rp {b['amount_idr']:,})" for b in in_arrears
            )
            or "none"
        )
    )
    return lines
