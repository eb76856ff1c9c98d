"""town-prospects: forecast, explain and categorise the prospects of towns."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("town-prospects")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
