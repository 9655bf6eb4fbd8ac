"""Peak resident memory of the current process image.

``getrusage(...).ru_maxrss`` is inherited across fork and exec on Linux, so a "fresh" child started by
a process that once grew large reports the parent's peak. ``VmHWM`` in /proc/self/status belongs to
the process image and starts anew at exec; ru_maxrss is the fallback where /proc is absent.
"""
from __future__ import annotations


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
