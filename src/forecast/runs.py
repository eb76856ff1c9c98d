"""Run folders: where runs go, and how a run claims a folder of its own.

A run writes its outputs into a hidden folder ``<root>/<dataset>/.<name>.partial`` and renames
it to ``<root>/<dataset>/<name>`` only when every output exists, so a reader never sees half a
run. The name is ``<UTC time>_asof<YEAR>`` with ``-2``, ``-3``... added when another run took it
in the same second; the claim is an exclusive ``mkdir`` of the partial folder, so two processes
can never end up in the same folder.

The partial folder records its owner (``owner.json``: pid, host, start time). A partial folder
is *stale*, and removed when the next run starts, when its owner is a process of this host that
no longer exists, or when it is older than ``STALE_AFTER_S`` (the owner is on another host, its
pid was reused, or it predates owner records). A partial of a living run is never touched.

Where runs go: ``--runs-dir``, else the environment variable ``TOWN_PROSPECTS_RUNS``, else
``runs/`` in the working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ENV_VAR = "TOWN_PROSPECTS_RUNS"
DEFAULT_DIRNAME = "runs"
PARTIAL_SUFFIX = ".partial"
OWNER_FILE = "owner.json"
STALE_AFTER_S = 24 * 3600.0  # no run takes a day; past that a recorded pid may be reused
OWNERLESS_GRACE_S = 60.0  # a partial folder without an owner record (older versions, a crash)
MAX_SUFFIX = 1000


def root(explicit: Path | str | None = None) -> Path:
    """The folder that holds `<dataset>/<run>` folders: `explicit`, else $TOWN_PROSPECTS_RUNS,
    else `runs/` in the working directory."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser().absolute()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser().absolute()
    return Path.cwd() / DEFAULT_DIRNAME


@dataclass(frozen=True)
class RunFolder:
    """A claimed run folder: outputs go to `partial`; `commit` moves them to `final`."""

    final: Path
    partial: Path

    def commit(self) -> Path:
        (self.partial / OWNER_FILE).unlink(missing_ok=True)
        os.rename(self.partial, self.final)  # nobody else may create `final`: we hold its claim
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)


def partial_path(final: Path) -> Path:
    return final.parent / f".{final.name}{PARTIAL_SUFFIX}"


def claim(runs_root: Path, dataset: str, as_of: int, now: datetime | None = None) -> RunFolder:
    """Claim a new, unique run folder for `dataset` (an exclusive mkdir of its partial folder)
    and record this process as its owner."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    base = f"{stamp}_asof{as_of}"
    parent = runs_root / dataset
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, MAX_SUFFIX + 1):
        final = parent / (base if n == 1 else f"{base}-{n}")
        partial = partial_path(final)
        if final.exists():
            continue
        try:
            partial.mkdir()
        except FileExistsError:
            continue  # another run holds this name
        if final.exists():  # its owner committed between our two looks: not ours to take
            partial.rmdir()
            continue
        _write_owner(partial)
        return RunFolder(final=final, partial=partial)
    raise FileExistsError(f"no free run folder name for {base} under {parent}")


def _write_owner(partial: Path) -> None:
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (partial / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def is_stale(partial: Path, max_age_s: float = STALE_AFTER_S, now: float | None = None) -> bool:
    """Whether a partial folder belongs to a run that is gone (see the module docstring)."""
    now = time.time() if now is None else now
    try:
        age = now - partial.stat().st_mtime
    except FileNotFoundError:
        return False  # committed or removed meanwhile
    if age > max_age_s:
        return True
    try:
        owner = json.loads((partial / OWNER_FILE).read_text(encoding="utf-8"))
        pid, host = int(owner["pid"]), str(owner["host"])
    except FileNotFoundError:
        # a claim younger than a minute may not have written its owner yet
        return age > OWNERLESS_GRACE_S
    except (ValueError, KeyError, TypeError, OSError):
        return False  # unreadable: leave it to the age rule
    return host == socket.gethostname() and not _pid_alive(pid)


def remove_stale(runs_root: Path, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the partial folders of dead runs under `runs_root/*/`. Returns what it removed."""
    removed: list[Path] = []
    if not runs_root.is_dir():
        return removed
    for partial in sorted(runs_root.glob(f"*/.*{PARTIAL_SUFFIX}")):
        if partial.is_dir() and is_stale(partial, max_age_s):
            shutil.rmtree(partial, ignore_errors=True)
            if not partial.exists():
                removed.append(partial)
    return removed
