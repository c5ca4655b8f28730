"""Progress bars for management commands: a tqdm bar on the command's stderr."""

from tqdm import tqdm


class RawStderr:
    """tqdm writes carriage returns; Django's OutputWrapper would end every write with a newline."""

    def __init__(self, wrapper):
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        self._wrapper.write(text, style_func=lambda message: message, ending="")

    def flush(self) -> None:
        self._wrapper.flush()


class CommandProgressBar:
    """A ``(done, total)`` callback drawn as a tqdm bar, created at the first call (when the total is known)."""

    def __init__(self, command_stderr, description: str, unit: str):
        self._stream = RawStderr(command_stderr)
        self._description = description
        self._unit = unit
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(
                total=total, initial=done, desc=self._description, unit=self._unit, file=self._stream, mininterval=0.5
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
