"""When the next census re-basing is due: the re-basing risk of the intervals by calendar.

`forecast.rebasing.RebasingRisk` adds a unit's re-basing break with probability
`span / period`: a census somewhere every `period` years, its date unknown. But the date of the
last re-basing is known (the config's `rebasing_years`) and censuses keep a calendar (the UN
recommends one every ten years; Kazakhstan: 1989, 1999, 2009, 2021). `CalendarRebasingRisk`
(issue 11, opt-in `rebasing_census_window: [a, b]`) takes the next re-basing year as equally
likely to be any whole year from `last + a` to `last + b`, given that it has not happened by
the origin, and adds the break with the probability that it falls within the span: none just
after a census, all but certain once one is overdue.
"""

from __future__ import annotations

import numpy as np

from .rebasing import RebasingRisk


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


class CalendarRebasingRisk(RebasingRisk):
    """`RebasingRisk` with the probability of a re-basing within the span from the calendar
    (`census_probability`) instead of `span / period`."""

    def __init__(self, base, jumps, level: float, *, origin: int, last: int | None, window):
        super().__init__(base, jumps, 1.0, level)  # period 1: `_widen` reads p as the span
        self.origin = int(origin)
        self.last = last
        self.window = (int(window[0]), int(window[1]))

    def _widen(self, q: float, span: float) -> float:
        return super()._widen(q, census_probability(self.origin, span, self.last, self.window))
