"""``ganzoo doctor RUN [--json]``: why a run fails, from the evidence it logged (:mod:`ganzoo.diagnosis`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.markup import escape

from ganzoo.cli.console import out
from ganzoo.diagnosis.doctor import examine


def add(sub: argparse._SubParsersAction) -> None:
    dp = sub.add_parser("doctor", help="why a run fails: each finding with its evidence, likely cause and a key=value change to try")
    dp.add_argument("run_dir", metavar="RUN")
    dp.add_argument("--json", action="store_true", help="print the findings as JSON")
    dp.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    report = examine(Path(args.run_dir))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    console = out()
    console.print(f"[bold]ganzoo doctor[/] {escape(report.run)}", soft_wrap=True)
    for i, f in enumerate(report.findings, 1):
        style = "green" if f.key == "healthy" else "yellow"
        console.print(f"\n[bold {style}]{i}. {escape(f.line())}[/]", soft_wrap=True)
        console.print(f"   [dim]evidence:[/] {escape(f.evidence)}", soft_wrap=True)
        if f.cause:
            console.print(f"   [dim]likely cause:[/] {escape(f.cause)}", soft_wrap=True)
        if f.change:
            console.print(f"   [dim]try:[/] [bold]{escape(f.change)}[/]", soft_wrap=True)
    for note in report.notes:
        console.print(f"\n[dim]note: {escape(note)}[/]", soft_wrap=True)
    return 0
