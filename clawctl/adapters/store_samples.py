"""The store's verbs for `clawctl top` recordings: a run of kind `metrics`, one sample row per agent and cycle.

Mixed into :class:`clawctl.adapters.store.Store`, which guards each verb (a damaged or locked store is
one line and exit 3). Call the writing verbs inside ``Store.write()``: one transaction per cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

SAMPLE_VERBS = ("finish_run", "add_samples", "prune_samples", "run", "samples", "sample_count")


class SampleVerbs:
    db: Database

    def finish_run(self, run_id: int, finished_at: str, status: str, summary: dict | None = None) -> None:
        """Close a run that was recorded while it went on (``record_run`` with no ``finished_at``)."""
        values: dict = {"finished_at": finished_at, "status": status}
        if summary is not None:
            values["summary"] = json.dumps(summary)
        self.db["runs"].update(run_id, values)

    def add_samples(self, run_id: int, rows: Iterable[tuple[str, str, str, dict]]) -> int:
        """One cycle's samples: ``(at, agent_id, state, figures)``; figures are stored as JSON."""
        batch = [(run_id, at, agent_id, state, json.dumps(figures, separators=(",", ":")))
                 for at, agent_id, state, figures in rows]
        # executemany, not insert_all: a cycle of 1,000 agents is recorded every second (bench/top.py)
        self.db.conn.executemany("INSERT INTO samples (run_id, at, agent_id, state, metrics) VALUES (?, ?, ?, ?, ?)",
                                 batch)
        return len(batch)

    def prune_samples(self, *, before: str | None = None, keep: int | None = None) -> int:
        """Retention: delete samples taken before ``before`` (ISO time), and all but the newest ``keep``."""
        deleted = 0
        if before is not None:
            deleted += self.db.execute("DELETE FROM samples WHERE at < ?", [before]).rowcount
        if keep is not None:
            row = self.db.execute("SELECT id FROM samples ORDER BY id DESC LIMIT 1 OFFSET ?", [keep]).fetchone()
            if row is not None:
                deleted += self.db.execute("DELETE FROM samples WHERE id <= ?", [row[0]]).rowcount
        return deleted

    def run(self, run_id: int) -> dict | None:
        """One run, its fleet's name and its decoded summary, or None."""
        rows = self.db.execute_returning_dicts(
            "SELECT r.id, r.kind, f.name AS fleet, r.started_at, r.finished_at, r.status, r.summary "
            "FROM runs r LEFT JOIN fleets f ON f.id = r.fleet_id WHERE r.id = ?", [run_id])
        if not rows:
            return None
        rows[0]["summary"] = json.loads(rows[0]["summary"] or "{}")
        return rows[0]

    def samples(self, run_id: int) -> Iterator[tuple[str, str, str, dict]]:
        """A run's samples in the order taken: ``(at, agent_id, state, figures)``."""
        cursor = self.db.execute("SELECT at, agent_id, state, metrics FROM samples WHERE run_id = ? ORDER BY id",
                                 [run_id])
        for at, agent_id, state, metrics in cursor:
            yield at, agent_id, state, json.loads(metrics or "{}")

    def sample_count(self, run_id: int | None = None) -> int:
        if run_id is None:
            return int(self.db.execute("SELECT count(*) FROM samples").fetchone()[0])
        return int(self.db.execute("SELECT count(*) FROM samples WHERE run_id = ?", [run_id]).fetchone()[0])
