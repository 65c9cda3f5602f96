"""The change feed: which runs changed, and which went away, between two change tokens."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

#: Every run's state at the moment a change token was current, as a hash per run id.
Snapshot = dict[str, int]

#: One hash per run of what the panel shows of it that can change: status, its time, the
#: last event (params and metrics arrive as events), the end, the name and note, and the
#: tags. Hashed by DuckDB so a snapshot of 10k runs is two columns, not 10k Python tuples.
SIGNATURES_SQL = (
    "SELECT r.run_id, hash(r.status, r.status_at, r.last_event_at, r.ended_at, r.name, "
    "r.note, t.tags) AS h "
    "FROM runs r LEFT JOIN (SELECT run_id, string_agg(tag, ',' ORDER BY tag) AS tags "
    "FROM tags GROUP BY run_id) t USING (run_id)"
)


def signatures(columns: dict[str, Any]) -> Snapshot:
    """A snapshot from SIGNATURES_SQL's columns (``fetchnumpy()``)."""
    return dict(zip(columns["run_id"].tolist(), columns["h"].tolist(), strict=True))


class ChangeFeed:
    """Snapshots of the store under the last few change tokens, to answer "what changed
    since TOKEN" without the client holding the whole run list.

    A snapshot is taken right *after* its token is read, so it may already hold changes
    newer than the token: a client may then get a row twice, never miss one. Thread-safe.
    """

    def __init__(self, keep: int = 8) -> None:
        self._keep = keep
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def knows(self, token: str) -> bool:
        with self._lock:
            return token in self._snapshots

    def remember(self, token: str, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` as the state under ``token`` (the oldest one beyond ``keep`` goes)."""
        with self._lock:
            self._snapshots.setdefault(token, snapshot)
            self._snapshots.move_to_end(token)
            while len(self._snapshots) > self._keep:
                self._snapshots.popitem(last=False)

    def diff(self, since: str, token: str) -> tuple[list[str], list[str]] | None:
        """(changed or new run ids, deleted run ids) from ``since`` to ``token``.

        None when ``since`` is not remembered (too old, from another server, or made up):
        the client must then refetch what it shows. ``token`` must be remembered.
        """
        with self._lock:
            old = self._snapshots.get(since)
            new = self._snapshots[token]
        if old is None:
            return None
        changed = sorted(run_id for run_id, sig in new.items() if old.get(run_id) != sig)
        deleted = sorted(run_id for run_id in old if run_id not in new)
        return changed, deleted
