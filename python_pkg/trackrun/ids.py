"""Run ids (time-sortable, validated by one pattern), prefix checks and readable run names."""

from __future__ import annotations

import re
import secrets
import time

from trackrun.errors import InvalidRunIdError

#: A run id: UTC date and time of creation, then 6 random hex digits, e.g. ``20261126-031302-7f3a9c``.
#: Lexicographic order is creation order (to the second).
RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_PREFIX_PATTERN = re.compile(r"^[0-9a-f-]{1,22}$")

_ADJECTIVES = [
    "amber",
    "agile",
    "bold",
    "brisk",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "daring",
    "deft",
    "eager",
    "fancy",
    "fierce",
    "gentle",
    "golden",
    "grand",
    "happy",
    "hasty",
    "humble",
    "jolly",
    "keen",
    "lively",
    "lucid",
    "mellow",
    "merry",
    "misty",
    "nimble",
    "noble",
    "plucky",
    "proud",
    "quiet",
    "rapid",
    "royal",
    "rustic",
    "shiny",
    "silent",
    "sleek",
    "smooth",
    "snowy",
    "solar",
    "spry",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wild",
    "witty",
    "zesty",
]
_NOUNS = [
    "badger",
    "bison",
    "otter",
    "falcon",
    "heron",
    "ibis",
    "jaguar",
    "koala",
    "lemur",
    "lynx",
    "marten",
    "moose",
    "newt",
    "ocelot",
    "orca",
    "osprey",
    "panda",
    "pelican",
    "puffin",
    "quokka",
    "raven",
    "salmon",
    "seal",
    "sparrow",
    "stoat",
    "swan",
    "tapir",
    "tern",
    "tiger",
    "toucan",
    "trout",
    "walrus",
    "wombat",
    "yak",
    "zebra",
    "comet",
    "delta",
    "ember",
    "fjord",
    "glacier",
    "harbor",
    "meadow",
    "nebula",
    "pebble",
    "quartz",
    "river",
    "summit",
    "tundra",
    "willow",
]


def new_run_id(now: float | None = None) -> str:
    """Return a fresh run id for the UTC time ``now`` (default: the current time)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(3)}"


def new_run_name() -> str:
    """Return a short readable name such as ``brisk-otter-42``."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(90) + 10}"


def is_run_id(text: str) -> bool:
    """True when ``text`` is a complete, well-formed run id."""
    return bool(RUN_ID_PATTERN.match(text))


def check_run_id(text: str) -> str:
    """Return ``text`` if it is a complete run id, else raise InvalidRunIdError."""
    if not is_run_id(text):
        raise InvalidRunIdError(
            f"{text!r} is not a run id; run ids look like 20261126-031302-7f3a9c "
            "(see `trackrun ls`)"
        )
    return text


def check_run_id_prefix(text: str) -> str:
    """Return ``text`` if it can be the start of a run id, else raise InvalidRunIdError.

    Only digits, lowercase hex letters and dashes pass, so a checked prefix is safe to use
    in a file path or a LIKE pattern.
    """
    if not _PREFIX_PATTERN.match(text):
        raise InvalidRunIdError(
            f"{text!r} is not a run id or a prefix of one; run ids look like "
            "20261126-031302-7f3a9c (see `trackrun ls`)"
        )
    return text
