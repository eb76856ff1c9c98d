"""Error and warning classes raised by the package.

Each bad-data problem is one :class:`Problem` (file, rule, where, detail); a
:class:`DataValidationError` carries all problems found in one pass so that the user sees
every issue at once rather than one per run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.rule}: {self.where}: {self.detail}"


class ForecastError(Exception):
    """Base class for errors the CLI reports as a message, without a traceback."""


class DataValidationError(ForecastError, ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        head = f"{len(lines)} problem(s) in the dataset:"
        super().__init__("\n".join([head, *("  - " + line for line in lines)]))


class WorkbookLayoutError(DataValidationError):
    """A published workbook (e.g. a BNS sheet) whose layout the importer cannot read: names the
    file and the sheet."""


class ConfigError(ForecastError, ValueError):
    """A configuration or policy file is invalid."""


class NotFittedError(ForecastError, RuntimeError):
    """A model was used before `fit`."""


class InsufficientHistoryError(ForecastError):
    """Too little history to fit something (a target, a calibration origin, intervals): the
    caller decides whether that skips a step or stops the run."""


class AdditivityError(ForecastError):
    """The parts of a forecast (SHAP values, decomposition) do not add up to it."""


class DataWarning(UserWarning):
    """Base class for warnings about suspicious (but legal) data."""


class SuspiciousJumpWarning(DataWarning):
    """A unit's value changes by more than the allowed share between two observations."""


class ColumnNameWarning(DataWarning):
    """A column whose name looks meant for a contract column (`employmnet`, `latitude`): it is
    read as one more indicator or attribute, and the contract column stays missing."""


class UnitWithoutRowsWarning(DataWarning):
    """A unit of units.csv with no row in the panel: it gets no forecast and no category."""


class SparseHistoryWarning(DataWarning):
    """A unit has too few observations for some forecasting methods."""
