"""Progress reporting from the numerical core to whoever runs it (a command line bar, a Celery
task writing to the database), without the core knowing which."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # what is running: "features", "framewise", "ctc", ...
    done: int  # units finished within the stage
    total: int  # units in the stage (0 when unknown)
    detail: dict = field(default_factory=dict)  # e.g. {"fold": 2, "epoch": 13, "loss": 0.82}

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[ProgressEvent], None]


def ignore_progress(event: ProgressEvent) -> None:
    """The default callback: report nothing."""
