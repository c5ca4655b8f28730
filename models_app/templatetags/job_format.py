"""Template filters of the job pages."""

from django import template

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as "1 h 5 min", "3 min 20 s" or "42 s" (the job page's elapsed and remaining time)."""
    if seconds is None:
        return "-"
    seconds = max(0, round(float(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
