"""Run one command and write its wall time, CPU and peak RSS as JSON: `launch.py OUT TIMEOUT -- CMD...`.

The benchmark harness starts every measured command through this small process because Linux
carries the parent's memory high-water mark into a child's ru_maxrss at exec: from a harness
that once held a 200 MB body, even `python -c pass` would report 200 MB. From here (~8 MB,
standard library only, run with -I -S) the carried-over mark stays below any Python child's own.
"""

import json
import os
import signal
import sys
import time


def main() -> int:
    out, timeout, sep, *argv = sys.argv[1:]
    assert sep == "--" and argv, "usage: launch.py OUT TIMEOUT -- CMD..."
    start = time.perf_counter()
    pid = os.fork()  # fork, not vfork/posix_spawn: those carry this process's own peak too
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
    signal.setitimer(signal.ITIMER_REAL, float(timeout))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    result = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_kib": usage.ru_maxrss,  # KiB on Linux
        "code": os.waitstatus_to_exitcode(status),
    }
    with open(out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
