"""When the next census re-basing is due: the re-basing risk of the intervals by calendar.

`forecast.rebasing.RebasingRisk` adds a unit's re-basing break with probability
`span / period`: a census somewhere every `period` years, its date unknown. But the date of the
last re-basing is known (the config's `rebasing_years`) and censuses keep a calendar (the UN
recommends one every ten years; Kazakhstan: 1989, 1999, 2009, 2021). `CensusWindow`
(issue 11, opt-in `rebasing_census_window: [a, b]`) takes the next re-basing year as equally
likely to be any whole year from `last + a` to `last + b`, given that it has not happened by
the origin, and `RebasingRisk` adds the break with the probability that it falls within the span: none just
after a census, all but certain once one is overdue.
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


@dataclass(frozen=True)
class CensusWindow:
    """The chance of a re-basing within a span after `origin`, by the census calendar
    (`census_probability`): the `probability` argument of `RebasingRisk`, as
    `forecast.rebasing.NextRebasing` is for re-basings found in the data."""

    origin: int
    last: int | None
    window: tuple[int, int]

    def __call__(self, span: float) -> float:
        return census_probability(self.origin, span, self.last, self.window)
