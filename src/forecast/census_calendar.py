"""When the next census re-basing is due: the re-basing risk of the intervals by calendar.

`forecast.rebasing.RebasingRisk` adds a unit's re-basing break with probability
`span / period`: a census somewhere every `period` years, its date unknown. But the date of the
last re-basing is known (the config's `rebasing_years`, or the last one found in the data) and
censuses keep a calendar (the UN recommends one every ten years; Kazakhstan: 1989, 1999, 2009,
2021; Russia 2002, 2010, 2021). `CensusWindow` takes the next re-basing year as equally likely
to be any whole year from `last + a` to `last + b`, given that it has not happened by the
origin, and `RebasingRisk` adds the break with the probability that it falls within the span:
none just after a census, all but certain once one is overdue. The window is the config's
`rebasing_census_window` (kz_annual: [8, 12]) or, for re-basings found in the data,
`detected_window` of their period (censuses slip late more often than early).

It is the engine's one re-basing timer (issue 11, session 5): `rebasing.NextRebasing`, which
timed detected re-basings 8-13 years after the last, did the same job and was removed (at the
Kazakh tuning origins [8, 13] instead of [8, 12]: 80% coverage 0.918 vs 0.924, median width
40.9 vs 41.1 points; benchmarks/results/kz_rebasing.md). One difference for detected
re-basings: once the window has passed, the next one is now expected the next year (chance 1
at every span), where NextRebasing took span / period; benchmarks/results/postsoviet_proxy.md
predates this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def census_probability(origin: int, span: float, last: int | None, window) -> float:
    """P(next re-basing year in (origin, origin + span]) with the next year uniform on the
    whole years `last + window[0] .. last + window[1]` after the origin (no earlier
    re-basing: `last` None, spread over the first `window[1]` years)."""
    a, b = int(window[0]), int(window[1])
    years = (
        np.arange(origin + 1, origin + b + 1) if last is None else np.arange(last + a, last + b + 1)
    )
    ahead = years[years > origin]
    if not len(ahead):  # overdue beyond the window: expected next year
        ahead = np.array([origin + 1])
    return float(np.mean(ahead <= origin + span))


def detected_window(period: float, early: int = 2, late: int = 3) -> tuple[int, int]:
    """The census window after the last re-basing found in the data, from the years between
    the ones found (`period`): `period - early` to `period + late` (a census every ten years:
    8 to 13)."""
    if not period > 0:
        raise ValueError(f"period must be positive (years between re-basings), got {period}")
    centre = round(period)
    return max(1, centre - early), centre + late


@dataclass(frozen=True)
class CensusWindow:
    """The chance of a re-basing within a span after `origin`, by the census calendar
    (`census_probability`): the `probability` argument of `RebasingRisk`."""

    origin: int
    last: int | None
    window: tuple[int, int]

    def __post_init__(self) -> None:
        a, b = self.window
        if not 1 <= a <= b:
            raise ValueError(
                f"census window must be [a, b] years after the last re-basing with "
                f"1 <= a <= b, got [{a}, {b}]"
            )
        if self.last is not None and self.last > self.origin:
            raise ValueError(
                f"the last re-basing ({self.last}) must be at or before the origin ({self.origin})"
            )

    def __call__(self, span: float) -> float:
        return census_probability(self.origin, span, self.last, self.window)
