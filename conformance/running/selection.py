"""`-k`: which checks run, named as `tokconf list` prints them.

    -k exposure.nonstream                 a check id: that check, every case
    -k 'exposure.nonstream[haiku]'        one check on one case
    -k 'exposure and not stream'          words joined with and / or / not and parentheses
    -k multiturn                          a word that is no id matches any part of an id, of
                                          `id[case]`, or of the check's function name

A bad expression is a UsageError naming where it breaks (exit 2, one line).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from conformance.errors import UsageError

TOKEN = re.compile(r"\s*(?:(\()|(\))|([^\s()]+))")
Matcher = Callable[["Item"], bool]


@dataclass(frozen=True)
class Item:
    check: str  # the check id
    case: str | None
    function: str = ""  # the suite function (older -k expressions named these)


class Selection:
    def __init__(self, expression: str, known_ids: Iterable[str] = ()):
        self.expression = expression
        self.known = set(known_ids)
        self._tokens = self._tokenize(expression)
        self._pos = 0
        if not self._tokens:
            raise self._error("it is empty")
        self._match = self._or()
        if self._pos < len(self._tokens):
            raise self._error(f"unexpected {self._tokens[self._pos]!r}")

    def __call__(self, item: Item) -> bool:
        return self._match(item)

    def matches(self, check: str, case: str | None, function: str = "") -> bool:
        return self._match(Item(check, case, function))

    # -- parsing ---------------------------------------------------------------
    def _error(self, why: str) -> UsageError:
        return UsageError(f"-k {self.expression!r}: {why} (a check id, id[case], words with and/or/not and parentheses)")

    def _tokenize(self, text: str) -> list[str]:
        tokens, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m:
                break
            tokens.append(m.group(0).strip())
            pos = m.end()
        return tokens

    def _peek(self) -> str | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _take(self) -> str:
        tok = self._peek()
        if tok is None:
            raise self._error("it ends where a word or '(' is expected")
        self._pos += 1
        return tok

    def _or(self) -> Matcher:
        return self._chain("or", self._and, any)

    def _and(self) -> Matcher:
        return self._chain("and", self._not, all)

    def _chain(self, word: str, operand: Callable[[], Matcher], combine: Callable) -> Matcher:
        """operand (word operand)*: one matcher, or `combine` (any, all) over them."""
        parts = [operand()]
        while self._peek() == word:
            self._take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else (lambda item: combine(p(item) for p in parts))

    def _not(self) -> Matcher:
        if self._peek() == "not":
            self._take()
            inner = self._not()
            return lambda item: not inner(item)
        return self._atom()

    def _atom(self) -> Matcher:
        tok = self._take()
        if tok == "(":
            inner = self._or()
            if self._take() != ")":
                raise self._error("a '(' is not closed")
            return inner
        if tok in (")", "and", "or", "not"):
            raise self._error(f"{tok!r} where a word or '(' is expected")
        return self._word(tok)

    def _word(self, word: str) -> Matcher:
        m = re.fullmatch(r"([^\[\]]+)\[([^\[\]]+)\]", word)
        if m:  # id[case]: exactly that check on exactly that case
            check, case = m.groups()
            return lambda item: item.check == check and item.case == case
        if "[" in word or "]" in word:
            raise self._error(f"{word!r} is not id[case]")
        if word in self.known:  # a whole id: that check alone (exposure.stream is not exposure.streamed)
            return lambda item: item.check == word
        return lambda item: (word in item.check or word in f"{item.check}[{item.case}]" or word in item.function)


def parse(expression: str | None, known_ids: Iterable[str] = ()) -> Selection | None:
    if expression is None:
        return None
    return Selection(expression, known_ids)


def check_selects_something(selection: Selection, infos, cases) -> None:
    """A -k that selects no check at all is a mistake (exit 2), not a green run of nothing."""
    for info in infos:
        for case in [c for c in cases if info.applies_to(c)] or [None]:
            if selection.matches(info.id, case.id if case else None, getattr(info, "function", "")):
                return
    raise UsageError(f"-k {selection.expression!r} selects no check (`tokconf list` prints the ids; `tokconf cases` the cases)")
