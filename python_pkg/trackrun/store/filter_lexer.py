"""The filter language's lexer: words (bare and quoted pieces), operators, and dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from trackrun.errors import FilterError

#: Words that are never a field or a value.
KEYWORDS = ("and", "or", "not", "in")
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?"
)
# A bare word runs up to whitespace, a quote, a paren, a comma or an operator character.
_WORD = re.compile(r"""[^\s()=!<>~,'"]+""")


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "op", "(", ")", ",", "end"
    pos: int  # 0-based offset in the text
    raw: str  # the source text
    parts: tuple[tuple[str, bool], ...] = ()  # a word's adjacent pieces: (text, was quoted)

    def is_keyword(self, *words: str) -> bool:
        return (
            self.kind == "word"
            and len(self.parts) == 1
            and not self.parts[0][1]
            and self.parts[0][0].lower() in words
        )


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an "end" token; FilterError for a lone '!' or an
    unclosed quote (with the 1-based column)."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append(Token(c, i, c))
            i += 1
        elif c in "=!<>~":
            two = text[i : i + 2]
            op = two if two in ("<=", ">=", "!=", "==") else c
            if op == "!":
                raise FilterError("'!' must be followed by '='", text, i + 1)
            tokens.append(Token("op", i, "=" if op == "==" else op))
            i += len(op)
        else:
            # Adjacent bare and quoted pieces form one word, e.g. tag:"a b" or metrics."x y".max
            start, parts = i, []
            while i < n:
                if text[i] in "'\"":
                    piece, i = _read_string(text, i)
                    parts.append((piece, True))
                elif match := _WORD.match(text, i):
                    parts.append((match.group(), False))
                    i = match.end()
                else:
                    break
            tokens.append(Token("word", start, text[start:i], tuple(parts)))
    tokens.append(Token("end", n, ""))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "\"'\\":
            out.append(text[i + 1])
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise FilterError(f"unclosed quote {quote}", text, start + 1)


def parse_date(text: str) -> float | None:
    if not _DATE.fullmatch(text):
        return None
    iso = text[:-1] + "+00:00" if text.endswith("Z") else text
    # Python 3.10's fromisoformat takes only 3 or 6 fractional digits.
    iso = re.sub(r"\.(\d+)", lambda m: "." + m.group(1).ljust(6, "0"), iso)
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def describe(token: Token) -> str:
    return "the end of the input" if token.kind == "end" else repr(token.raw)
