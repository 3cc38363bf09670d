"""Files bulkop writes at paths it is given by the environment: regular files only, never a wait."""

from __future__ import annotations

import os
import stat


def append_regular(path: str, text: str) -> None:
    """Append `text` to the regular file at `path` (created if absent).

    A FIFO, a device, a directory or a socket there (directly or through a link) is refused
    with an OSError whose strerror says what it is, before a byte is written. The open never
    blocks: without O_NONBLOCK, opening a FIFO with no reader waits forever.
    """
    from bulkop.config import irregular_kind

    if kind := irregular_kind(path):
        raise _refused(kind)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags, 0o666)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # replaced between the check and the open
            raise _refused(irregular_kind(path) or "not a regular file")
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _refused(kind: str) -> OSError:
    import errno

    return OSError(errno.EINVAL, f"it is {kind}, not a regular file; nothing was written")
