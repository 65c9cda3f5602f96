"""Query results as a small column-oriented table that converts to pandas, Arrow or DuckDB on demand."""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any


class Table:
    """Rows of a query: ``columns`` maps each column name to a list of values.

    ``len(t)``, ``t["col"]`` (a column), ``t[i]`` (row i as a dict), iteration over row
    dicts; ``to_pandas()``, ``to_arrow()`` and ``to_duckdb()`` convert when those libraries
    are wanted. Displays as a table in notebooks.
    """

    def __init__(self, columns: Mapping[str, Sequence[Any]]) -> None:
        self.columns: dict[str, list[Any]] = {k: list(v) for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns have different lengths: {sorted(lengths)}")
        self._length = lengths.pop() if lengths else 0

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
        """Build a table from column ``names`` and row tuples."""
        return cls({name: [row[i] for row in rows] for i, name in enumerate(names)})

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return self.columns[key]
        if key < 0:
            key += self._length
        if not 0 <= key < self._length:
            raise IndexError(f"row {key} out of range (table has {self._length} rows)")
        return {name: values[key] for name, values in self.columns.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(self._length):
            yield {name: values[i] for name, values in self.columns.items()}

    def to_dicts(self) -> list[dict[str, Any]]:
        """All rows as a list of dicts."""
        return list(self)

    def to_arrow(self) -> Any:
        """Return a ``pyarrow.Table`` of the same columns."""
        import pyarrow as pa

        return pa.table(self.columns) if self.columns else pa.table({})

    def to_pandas(self) -> Any:
        """Return a ``pandas.DataFrame`` (pandas must be installed)."""
        import pandas as pd

        return pd.DataFrame(self.columns)

    def to_duckdb(self, connection: Any = None) -> Any:
        """Return a DuckDB relation over this table (on ``connection`` or an in-memory one)."""
        import duckdb

        con = connection if connection is not None else duckdb.connect()
        return con.from_arrow(self.to_arrow())

    def format(self, max_rows: int = 50, max_width: int = 40) -> str:
        """A plain-text table (the first ``max_rows`` rows, cells cut to ``max_width``)."""
        names = self.column_names
        shown = min(self._length, max_rows)
        # Column by column, then one str.format per row: `trackrun ls --limit 0` on a large
        # store formats a hundred thousand cells.
        cells = [[_cell(v, max_width) for v in self.columns[n][:shown]] for n in names]
        widths = [
            max(len(n), max(map(len, column), default=0))
            for n, column in zip(names, cells, strict=True)
        ]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [line.format(*names).rstrip()]
        lines += [line.format(*row).rstrip() for row in zip(*cells, strict=True)]
        if self._length > shown:
            lines.append(f"... {self._length - shown} more rows")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Table {self._length} rows x {len(self.columns)} columns>\n{self.format(20)}"

    def _repr_html_(self) -> str:
        names = self.column_names
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(_cell(self.columns[n][i], 60))}</td>" for n in names)
            + "</tr>"
            for i in range(min(self._length, 100))
        )
        more = f"<p>{self._length - 100} more rows</p>" if self._length > 100 else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as "NaN"/"Infinity"/"-Infinity", so JSON stays valid."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _cell(value: Any, max_width: int) -> str:
    kind = type(value)
    text: str
    if kind is str:
        text = value
    elif value is None:
        return ""
    elif kind is float or isinstance(value, float):
        text = f"{value:.6g}" if math.isfinite(value) else str(value)
    else:
        text = str(value)
    if "\n" in text:
        text = text.replace("\n", " ")
    return text if len(text) <= max_width else text[: max_width - 1] + "…"
