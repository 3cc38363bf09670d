"""Python's cyclic garbage collector for a command-line process: off while it starts, back on
(with everything start-up built frozen) for a command that runs for long.

Start-up imports about a hundred modules, and every object they make lives until the process
ends: the collector's passes over them (and the full one at exit) find nothing and cost a
noticeable share of a short command's run time (bench/README.md, "Measurements behind the
code"). A short command never turns it back on; JSON bodies hold no cycles. `watch`, `demo` and `demo serve`
run for hours, so they call `long_running()` first: the objects of start-up are frozen (never
scanned again, which also saves every later full pass) and collection resumes for what the
loop makes. In-process callers (tests) never had it off: there, both calls do nothing.
"""

from __future__ import annotations

import gc


def hold() -> None:
    """The entry point's first step: no collection while the process starts."""
    gc.disable()


def long_running() -> None:
    """Before a loop that may run for hours: collect again, start-up's objects frozen."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
