"""Fault hooks for the fault suite: ``MINHU_FAULT_KILL_AT=<point>`` makes this process SIGKILL
itself when it reaches the named point (see `POINTS`). Unset, a point costs one dict lookup."""

from __future__ import annotations

import os
import signal
import time

POINTS = (
    "after_extract",  # landings written, lease not yet taken
    "lease_acquired",  # lease held, build file not yet made
    "load",  # during load: the first batch is in the build, not the others
    "dbt",  # the parent is killed while dbt runs (dbt must die with it)
    "after_build",  # dbt done, gate not started
    "gate",  # the gate validated the build, nothing recorded yet
    "after_gate",  # the gate's record is in the build
    "before_rename",  # version checked, just before the build replaces the published file
    "after_rename",  # published, lease still held, build cleanup not done
    "before_release",  # cleanup done, lease about to be released
    "import_load",  # `minhu import`: a file is loaded into the build
    "landing",  # a landing is half written (records.jsonl written, not renamed into place)
)


def point(name: str, delay: float = 0.0) -> None:
    """SIGKILL this process at point `name` if MINHU_FAULT_KILL_AT names it (after `delay` s)."""
    if os.environ.get("MINHU_FAULT_KILL_AT") == name:
        if delay:
            time.sleep(delay)
        os.kill(os.getpid(), signal.SIGKILL)
