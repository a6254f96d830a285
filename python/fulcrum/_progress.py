"""tqdm progress bars that appear only when someone is watching.

``progress=None`` means "when interactive": stderr is a terminal, or the code runs in a
Jupyter kernel. tqdm is Debian's python3-tqdm; without it there is simply no bar.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Bar:
    """A tqdm bar with ``update_to(done, total)`` for callbacks that report absolute counts."""

    def __init__(self, bar):
        self._bar = bar

    def update(self, n: int) -> None:
        self._bar.update(n)

    def update_to(self, done: int, total: int) -> None:
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)


@contextlib.contextmanager
def progress_bar(progress: bool | None, total: int | None, desc: str, unit: str) -> Iterator[_Bar | None]:
    """Yields a bar, or None when ``progress`` is False (or None and not interactive)."""
    if progress is None:
        progress = _interactive()
    if not progress:
        yield None
        return
    try:
        from tqdm import tqdm
        if "ipykernel" in sys.modules:
            try:  # the widget bar needs ipywidgets; without it tqdm.auto warns, so keep text
                import ipywidgets  # noqa: F401
                from tqdm.notebook import tqdm
            except ImportError:
                pass
    except ImportError:
        yield None
        return
    bar = tqdm(total=total, desc=desc, unit=unit, leave=False)
    try:
        yield _Bar(bar)
    finally:
        bar.close()
