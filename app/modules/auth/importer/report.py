"""Counts of an import run, per table, and their rendering for the terminal and the audit log."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TableCounts", "render", "summary"]

#: Ids kept per refusal reason in the report (the count is always exact).
_IDS_SHOWN = 5
#: Refusal reasons per table in the JSON summary (and so in the audit entry, which has a size limit).
_REASONS_KEPT = 20


@dataclass
class TableCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    refused: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    refusals: dict[str, list[str]] = field(default_factory=dict)
    refusal_counts: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skip_reasons[reason] += 1

    def refuse(self, row_id: str, reason: str) -> None:
        self.refused += 1
        self.refusal_counts[reason] += 1
        ids = self.refusals.setdefault(reason, [])
        if len(ids) < _IDS_SHOWN:
            ids.append(row_id)

    @property
    def changed(self) -> int:
        return self.imported + self.updated


def render(report: dict[str, TableCounts], *, dry_run: bool) -> str:
    """A table of counts, then each skip and refusal reason with how many rows and which ids."""
    head = "would import" if dry_run else "imported"
    lines = [f"{'table':<14}{head:>14}{'updated':>10}{'unchanged':>11}{'skipped':>9}{'refused':>9}"]
    for model, c in report.items():
        lines.append(f"{model:<14}{c.imported:>14}{c.updated:>10}{c.unchanged:>11}{c.skipped:>9}{c.refused:>9}")
    for model, c in report.items():
        for reason, n in sorted(c.skip_reasons.items()):
            lines.append(f"skipped  {model}: {n} x {reason}")
        for reason, n in sorted(c.refusal_counts.items()):
            ids = ", ".join(c.refusals.get(reason, []))
            more = " ..." if n > len(c.refusals.get(reason, [])) else ""
            lines.append(f"refused  {model}: {n} x {reason} (ids: {ids}{more})")
    return "\n".join(lines)


def _top(reasons: Counter[str]) -> dict[str, int]:
    kept = dict(reasons.most_common(_REASONS_KEPT))
    rest = sum(reasons.values()) - sum(kept.values())
    return {**kept, "other reasons": rest} if rest else kept


def summary(report: dict[str, TableCounts]) -> dict[str, Any]:
    """The counts as JSON-ready data (for the audit entry and ``--json``)."""
    return {
        model: {
            "imported": c.imported, "updated": c.updated, "unchanged": c.unchanged,
            "skipped": c.skipped, "refused": c.refused,
            "refusals": _top(c.refusal_counts),
        }
        for model, c in report.items()
    }
