"""A bar chart of first-response attainment by severity, as PNG bytes.

Drawn on a bare matplotlib Figure with the Agg canvas: no pyplot, so no global figure state
shared between threads and no display needed.
"""

from __future__ import annotations

import io

from bot.reports.figures import Report, Row


def bars(report: Report) -> list[tuple[str, float | None]]:
    """(label, attainment %) per row: the severity, led by its policy when there are several."""
    several = len({row.policy for row in report.rows}) > 1
    return [
        (f"{row.policy}\n{_label(report, row)}" if several else _label(report, row), row.attainment)
        for row in report.rows
    ]


def _label(report: Report, row: Row) -> str:
    return f"#{row.channel}" if report.by == "channel" else row.severity


def attainment_png(report: Report, title: str) -> bytes:
    # Imported here: matplotlib (with numpy and PIL) costs every process tens of MB for a
    # chart drawn once a week.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = bars(report)
    figure = Figure(figsize=(max(4.0, 1.2 * len(data) + 2), 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [label for label, _ in data]
    values = [pct or 0.0 for _, pct in data]
    drawn = axes.bar(labels, values, color="#2f7ebc")
    # A severity with no first response judged yet has no bar; say so rather than show 0%.
    axes.bar_label(drawn, labels=["n/a" if pct is None else f"{pct:.0f}%" for _, pct in data])
    axes.set_ylim(0, 110)
    axes.set_ylabel("first responses met (%)")
    axes.set_title(title, fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    if not data:
        axes.text(0.5, 0.5, "no cases", ha="center", va="center", transform=axes.transAxes)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
