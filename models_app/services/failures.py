"""What a failed job or feature set shows: the one way an exception becomes stored text."""

import traceback

MAX_ERROR_CHARS = 8000  # the traceback's last frames fit; a runaway message does not fill the row
TRACEBACK_LINES = 6  # the innermost frames: where a bug happened


def error_text(exc: BaseException, *, own_errors: tuple[type[BaseException], ...] = (), with_traceback=False) -> str:
    """Our own errors (``own_errors``: their messages are written for the user) as they are; any
    other exception with its type and, ``with_traceback``, the last frames of its traceback."""
    if isinstance(exc, own_errors):
        text = str(exc)
    elif with_traceback:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        text = f"{type(exc).__name__}: {exc}\n\n{''.join(lines[-TRACEBACK_LINES:])}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:MAX_ERROR_CHARS]
