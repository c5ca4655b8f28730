"""Filters for the log configuration in settings.LOGGING."""

import logging


class NoTracebackForForbidden(logging.Filter):
    """An ordinary 403 (a user opening a page their role does not allow) is logged by Django with
    the PermissionDenied traceback; the one line saying who was refused what is enough. Errors
    (5xx) keep their tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
