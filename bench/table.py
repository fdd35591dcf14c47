"""The one table format every benchmark prints (no imports with side effects)."""

from __future__ import annotations

HEADER = ("name", "figure", "unit", "baseline", "ratio", "goal", "pass/fail")


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def verdict(ok) -> str:
    return {True: "PASS", False: "FAIL", None: "-"}.get(ok, str(ok))


def render(rows: list[dict]) -> str:
    body = [[row.get("name", "?"), fmt(row.get("figure")), row.get("unit") or "",
             fmt(row.get("baseline")), fmt(row.get("ratio")), row.get("goal") or "",
             verdict(row.get("ok"))] for row in rows]
    widths = [max(len(str(r[i])) for r in [HEADER, *body]) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [HEADER, *body]
    )


def main(run, description: str, quick_help: str, argv: list[str] | None = None) -> int:
    """A single benchmark module's command line: run it, print the table."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    rows = run(quick=parser.parse_args(argv).quick)
    print(render(rows))
    return 1 if any(row.get("ok") is False for row in rows) else 0
