"""What DuckDB's errors and statements mean for the index: a lock, damage, a read-only query."""

from __future__ import annotations

import duckdb

from trackrun.errors import StoreError

#: DuckDB's message when another process holds its lock on the file (an IOException).
_LOCK_CONFLICT = ("Could not set lock on file", "Conflicting lock is held")
#: Errors that mean the index file itself is damaged, when they come from reading it (and
#: are not a lock conflict); other errors (a bad query, a full disk) are not damage.
_DAMAGE_TYPES = (
    duckdb.IOException,
    duckdb.InternalException,
    duckdb.SerializationException,
    duckdb.FatalException,
)


def is_lock_conflict(error: BaseException) -> bool:
    """True for DuckDB's own conflicting-lock error (by type and exact text, never by a word:
    a checksum error says "block at location")."""
    text = str(error)
    return isinstance(error, duckdb.IOException) and all(part in text for part in _LOCK_CONFLICT)


def is_damage(error: BaseException, index: str) -> bool:
    """True when ``error``, raised while reading the index file ``index``, means that file is
    damaged. An I/O error counts only when it names that file (a query may read others), and
    never when it is a lock conflict or a full disk."""
    if not isinstance(error, duckdb.Error) or is_lock_conflict(error):
        return False
    text = str(error)
    if "No space left on device" in text or "Disk quota exceeded" in text:
        return False
    if isinstance(error, duckdb.IOException):
        return index in text
    return isinstance(error, _DAMAGE_TYPES) or "Corrupt database file" in text


#: The statement kinds user SQL may run: queries (DuckDB parses DESCRIBE, SHOW, SUMMARIZE,
#: FROM-first and VALUES as SELECT) and EXPLAIN.
_READ_ONLY_KINDS = frozenset({"SELECT", "EXPLAIN"})


def check_read_only(text: str) -> None:
    """Raise StoreError unless ``text`` is exactly one SELECT, WITH ... SELECT or EXPLAIN
    statement (judged by DuckDB's own parser, so ``WITH x AS (...) DELETE`` is a DELETE).

    The caller still runs it on a read-only attachment: this check gives the clear error,
    the attachment is what makes it true.
    """
    try:
        statements = _parser().extract_statements(text)
    except duckdb.Error as error:
        raise StoreError(f"cannot parse the query: {str(error).strip()}") from None
    kinds = [statement.type.name for statement in statements]
    if len(kinds) != 1 or kinds[0] not in _READ_ONLY_KINDS:
        shown = ", ".join(kinds) or "nothing"
        raise StoreError(
            f"trackrun.sql runs one read-only query (SELECT, WITH ... SELECT or EXPLAIN), "
            f"not {shown}; the index is rebuilt from the run folders, so change runs through "
            "the API (tags, notes, trackrun rm) instead"
        )


_parser_connection: duckdb.DuckDBPyConnection | None = None


def _parser() -> duckdb.DuckDBPyConnection:
    # Parsing needs a connection but no database: one small in-memory one, made once.
    global _parser_connection
    if _parser_connection is None:
        _parser_connection = duckdb.connect(":memory:")
    return _parser_connection
