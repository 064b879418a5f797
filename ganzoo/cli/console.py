"""Everything the command line draws, in one place: the only module family that imports rich.

- :func:`out` and :func:`err`: consoles for results (stdout) and messages (stderr);
- :func:`show_table`: a table of plain strings;
- :class:`RichReporter`: the progress bar and notes of a training run
  (the :class:`ganzoo.training.progress.Reporter` the CLI hands to the trainer).

User-typed names and values are printed as text, never as rich markup (``markup=False`` wherever
something the user typed can appear; messages are escaped).
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


def out() -> Console:
    return Console(highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def say(text: str, style: str = "", label: str = "") -> None:
    """One message on stderr: ``label`` (e.g. "error:") in ``style``, then ``text`` as plain text."""
    console = err()
    prefix = f"[{style}]{escape(label)}[/] " if label and style else (label + " " if label else "")
    console.print(prefix + escape(text), soft_wrap=True)


def show_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "", justify: Sequence[str] = ()) -> None:
    """Print a table whose every cell is plain text."""
    table = Table(title=escape(title), caption=escape(caption) if caption else None)
    for i, col in enumerate(columns):
        table.add_column(escape(col), overflow="fold", justify=justify[i] if i < len(justify) else "left")  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(escape(str(c)) for c in row))
    out().print(table)


class RichReporter:
    """A progress bar with steps/s, ETA and the latest W and G losses; notes above it."""

    def __init__(self, show_bar: bool = True):
        self.console = Console(stderr=True, highlight=False)
        self.progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} steps/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            console=self.console,
            disable=not show_bar,
            transient=False,
        )
        self.task: Any = None

    def start(self, total: int, done: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("train", total=total, completed=done, rate="-", losses="")

    def step(self, step: int, rate: float, record: dict[str, Any]) -> None:
        losses = f"W {record.get('wasserstein', 0.0):+.3f}  G {record.get('loss_g', 0.0):+.3f}"
        self.progress.update(self.task, completed=step, rate=f"{rate:.2f}", losses=losses)

    def note(self, text: str, level: str = "info") -> None:
        prefix = "[yellow]warning:[/] " if level == "warning" else ""
        self.console.print(prefix + escape(text), soft_wrap=True)

    def close(self) -> None:
        self.progress.stop()
