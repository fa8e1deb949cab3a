"""What a reply states: the ids, amounts, dates, percentages and numbers it names, and which of them it asserts.

Rubric reply checks read this, never raw substrings, so that a correct answer passes in any common wording
("$1,234.50", "1234.5 USD", "USD 1,234.50"; "2025-09-04", "Sep 4", "Thursday, September 4, 2025"; "refund_requested"
or "refund requested") and a figure named only to correct or refuse it ("you mentioned $60, but …", "Gold would be
10 %, but you are silver", "… not $60.94") does not count as asserted. A clause that hedges ("or", "maybe",
"might") always asserts what it names: a reply cannot dodge a wrong figure by hedging.

Spans are located with small patterns and parsed by libraries: amounts by ``price-parser``, dates by
``python-dateutil``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache

from dateutil import parser as date_parser
from price_parser import Price

MONEY_TOLERANCE = 0.005

# Entity ids by the world's prefixes, and carriers' tracking numbers (two letters and at least ten digits).
ID_PATTERN = re.compile(r"\b(?:cust|emp|ord|pay|shp|tick|ref|res|esc|kb|msg|build)-\d[\d-]*\d\b|\b[A-Z]{2}\d{10,}\b",
                        re.IGNORECASE)
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
DATE_PATTERN = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}(?:T[\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?"  # 2025-09-04, 2025-09-04T14:00:00Z
    rf"|{_WEEKDAY}{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?"  # (Thursday,) September 4(th)(, 2025)
    rf"|{_WEEKDAY}{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"  # 4(th) (of) September (2025)
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{4}})(?![\w-])",  # 09/04/2025 (US order)
    re.IGNORECASE)
_AMOUNT = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"  # 1,234.50 or 1234.5: a comma only between thousands
MONEY_PATTERN = re.compile(
    rf"(?:(?:US)?\$|USD)\s?-?{_AMOUNT}|(?<![\w.-])-?{_AMOUNT}\s?(?:USD|dollars?)\b", re.IGNORECASE)
PERCENT_PATTERN = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)
# English endings a phrase may carry and still be the same word (fail → fails, failed, failure; route → routed).
_INFLECTION = r"(?:s|es|e|ed|d|ing|ion|ions|ation|ure|ures)?"
NUMBER_PATTERN = re.compile(r"(?<![\w.-])-?\$?\d[\d,]*(?:\.\d+)?(?![\w-])")

# One scan finds every fact; where two could start at the same place, the more specific kind (listed first) wins.
# One scan finds every fact; where two could start at the same place, the more specific kind (listed first) wins.
# It runs on the lower-cased text (so do the cue patterns), which Python's re scans several times faster than with
# IGNORECASE; the sources have no upper-case escapes (\D, \S, \W, \B), so lower-casing them keeps their meaning.
_FACT_PATTERN = re.compile("|".join(f"(?P<{kind}>{pattern.pattern.lower()})" for kind, pattern in (
    ("id", ID_PATTERN), ("date", DATE_PATTERN), ("money", MONEY_PATTERN), ("percent", PERCENT_PATTERN),
    ("number", NUMBER_PATTERN))))
_DIGITS = re.compile(r"\d+(?:\.\d+)?")

# A clause ends at a sentence stop, a semicolon, a line break, a dash, or a comma before a new thought.
_CLAUSE_BREAK = re.compile(r"[.!?]+(?=\s|$)|[;\n—]|,\s+(?=but\b|however\b|although\b|though\b|whereas\b|while\b|not\b)|"
                           r"\s+(?:but|however|whereas)\s+|\s+-\s+")
# Before a figure in its clause, these make it not asserted: a negation, a quote of what someone else said,
# a counterfactual. After it, an explicit correction.
_NOT_ASSERTED_BEFORE = re.compile(
    r"\b(?:not|never|no longer|rather than|instead of|neither|nor|isn't|wasn't|aren't|doesn't|didn't|won't|can't|cannot|"
    r"mentioned|quoted|claimed|you expected|you thought|you said|you wrote|you were told|incorrect|wrong|mistaken|"
    r"were you|if you|if it|if the|had you|unlike)\b")
# "would" marks a counterfactual only in a sentence that sets up the condition or the contrast ("Gold would be 10 %,
# but you are silver"); a bare "It would be $60." asserts $60.
_COUNTERFACTUAL = re.compile(r"\bwould(?:'ve| have| be)?\b")
_CONDITION = re.compile(r"\b(?:if|but|however|whereas|unless|were|had)\b")
_SENTENCE_BREAK = re.compile(r"[.!?]+(?=\s|$)|\n")
_NOT_ASSERTED_AFTER = re.compile(
    r"\b(?:is|was|are|were)?\s*(?:not correct|isn't correct|incorrect|wrong|not right|isn't right|a mistake|mistaken|"
    r"does not apply|doesn't apply|not apply|you mentioned|you quoted|you were quoted|you expected|you saw|you were told)\b")
CUE_WINDOW = 80  # characters before a figure in which a negation, quote or counterfactual cue applies to it
# A clause that hedges asserts everything it names, whatever else it says.
_HEDGE = re.compile(r"\b(?:or|maybe|possibly|perhaps|might|may be|probably|likely|either|could be|alternatively|"
                    r"otherwise|not impossible|not unlikely|(?:can't|cannot|can not) rule out|unsure|not sure|roughly|"
                    r"approximately)\b|/")


@dataclass(frozen=True)
class Mention:
    """One fact named in the reply: its kind, normalised value, span, and whether the reply asserts it."""

    kind: str  # "id", "money", "date", "percent", "number"
    value: object  # lower-cased id; float; (year or None, month, day); float
    start: int
    end: int
    asserted: bool


class _Clauses:
    """The clauses of a text, whether each hedges, and where its not-asserting cues stand: read once, so deciding
    what a mention at a position asserts is a lookup."""

    def __init__(self, text: str) -> None:
        self.starts, self.ends = [0], []
        for match in _CLAUSE_BREAK.finditer(text):
            self.ends.append(match.start())
            self.starts.append(match.end())
        self.ends.append(len(text))
        self.hedges = [_HEDGE.search(text, s, e) is not None for s, e in zip(self.starts, self.ends)]
        sentence_starts = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(text)]
        conditional = {start for start, end in zip(sentence_starts, sentence_starts[1:] + [len(text)])
                       if _CONDITION.search(text, start, end)}
        counterfactuals = [m for m in _COUNTERFACTUAL.finditer(text)
                           if sentence_starts[bisect_right(sentence_starts, m.start()) - 1] in conditional]
        self.before = sorted((m.end(), m.start()) for m in [*_NOT_ASSERTED_BEFORE.finditer(text), *counterfactuals])
        self.after = [(m.start(), m.end()) for m in _NOT_ASSERTED_AFTER.finditer(text)]

    def asserted(self, start: int, end: int) -> bool:
        index = max(bisect_right(self.starts, start) - 1, 0)
        if self.hedges[index]:
            return True
        # Cues count only near the figure, inside its clause.
        low = max(self.starts[index], start - CUE_WINDOW)
        high = min(max(self.ends[index], end), end + CUE_WINDOW // 2)
        index = bisect_right(self.before, (start, start)) - 1  # the cues ending at or before the figure, nearest first
        while index >= 0 and self.before[index][0] >= low:
            if self.before[index][1] >= low:
                return False
            index -= 1
        index = bisect_right(self.after, (end, -1))  # the cues starting at or after its end, nearest first
        while index < len(self.after) and self.after[index][0] <= high:
            if self.after[index][1] <= high:
                return False
            index += 1
        return True


@lru_cache(maxsize=4096)
def parse_date(text: str) -> tuple[int | None, int, int] | None:
    """``(year or None, month, day)`` of one date written in any common form; None when it is not a date."""
    text = text.strip()
    if re.fullmatch(r"--\d{2}-\d{2}", text):  # ISO 8601's date without a year
        return None, int(text[2:4]), int(text[5:7])
    if re.match(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return None
        return day.year, day.month, day.day
    has_year = re.search(r"\b\d{4}\b", text) is not None
    try:
        parsed = date_parser.parse(re.sub(r"(?<=\d)(st|nd|rd|th)\b|\bof\b", "", text, flags=re.IGNORECASE),
                                   default=datetime(1900, 1, 1), dayfirst=False, fuzzy=False)
    except (ValueError, OverflowError):
        return None
    return (parsed.year if has_year else None), parsed.month, parsed.day


@lru_cache(maxsize=4096)
def parse_money(text: str) -> float | None:
    amount = Price.fromstring(text).amount_float
    return None if amount is None else abs(amount)


def _number(token: str) -> float | None:
    try:
        return float(token.replace("$", "").replace(",", ""))
    except ValueError:
        return None


@dataclass(frozen=True, eq=False)
class ReplyFacts:
    """A reply read once: its mentions and a normalised form for whole-word phrase search."""

    text: str
    mentions: tuple[Mention, ...]
    words: str  # lower case, snake_case and hyphens as spaces, single spaces

    def of(self, kind: str, asserted_only: bool = False) -> tuple[Mention, ...]:
        return self._by_kind.get((kind, asserted_only), ())

    @cached_property
    def _by_kind(self) -> dict[tuple[str, bool], tuple[Mention, ...]]:
        grouped: dict[tuple[str, bool], list[Mention]] = {}
        for mention in self.mentions:
            grouped.setdefault((mention.kind, False), []).append(mention)
            if mention.asserted:
                grouped.setdefault((mention.kind, True), []).append(mention)
        return {key: tuple(group) for key, group in grouped.items()}

    def states_id(self, entity_id: str, asserted_only: bool = False) -> bool:
        return any(m.value == entity_id.lower() for m in self.of("id", asserted_only))

    def states_date(self, wanted: tuple[int | None, int, int], asserted_only: bool = False) -> bool:
        return any(same_day(m.value, wanted) for m in self.of("date", asserted_only))

    def states_number(self, value: float, tolerance: float = MONEY_TOLERANCE, asserted_only: bool = False) -> bool:
        """The number is named as an amount, a percentage or a plain number (magnitudes: "-$5" states 5)."""
        return any(abs(abs(value) - m.value) <= tolerance for kind in ("money", "percent", "number")
                   for m in self.of(kind, asserted_only))

    def states_phrase(self, phrase: str, asserted_only: bool = False) -> bool:
        """The phrase as whole words, inflected or not ("fail" in "fails", "failed"; never "rout" in "trout"), case,
        underscores and hyphens ignored."""
        pattern = _phrase_pattern(phrase)
        if not asserted_only:
            return pattern.search(self.words) is not None
        return any(self._word_clauses.asserted(m.start(), m.end()) for m in pattern.finditer(self.words))

    @cached_property
    def _word_clauses(self) -> _Clauses:
        return _Clauses(self.words)


def _lower(text: str) -> str:
    """``text`` in lower case, character for character (a few characters lower to two, which would shift spans)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern:
    return re.compile(rf"(?<![a-z0-9]){re.escape(normalise_words(phrase))}{_INFLECTION}(?![a-z0-9])")


def same_day(stated: tuple[int | None, int, int], wanted: tuple[int | None, int, int]) -> bool:
    """Equal dates; a date written without its year matches on month and day."""
    return stated[1:] == wanted[1:] and (stated[0] is None or wanted[0] is None or stated[0] == wanted[0])


def normalise_words(text: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", text.lower()).split())


@lru_cache(maxsize=512)
def read_reply(text: str) -> ReplyFacts:
    """Every id, amount, date, percentage and number in ``text`` (cached: a rubric's criteria share one reading)."""
    lowered = _lower(text)
    clauses = _Clauses(lowered)
    mentions: list[Mention] = []

    def add(kind: str, value: object, start: int, end: int) -> None:
        mentions.append(Mention(kind, value, start, end, clauses.asserted(start, end)))

    for match in _FACT_PATTERN.finditer(lowered):
        kind, start, end = match.lastgroup, match.start(), match.end()
        span = text[start:end]
        value = (span.lower() if kind == "id" else parse_date(span) if kind == "date" else parse_money(span)
                 if kind == "money" else float(_DIGITS.search(span).group()) if kind == "percent" else _number(span))
        if value is not None:
            add(kind, abs(value) if kind == "number" else value, start, end)
        else:  # not a date or amount after all: the numbers in it still count
            for number in NUMBER_PATTERN.finditer(text, start, end):
                if (plain := _number(number.group())) is not None:
                    add("number", abs(plain), number.start(), number.end())
    return ReplyFacts(text, tuple(mentions), normalise_words(text))


@lru_cache(maxsize=4096)
def expected_fact(text: str) -> tuple[str, object] | None:
    """How a rubric's expected string is matched: ``("id", id)``, ``("date", (y, m, d))``, ``("money", amount)``,
    or None for a phrase (whole words)."""
    stripped = text.strip()
    if ID_PATTERN.fullmatch(stripped):
        return "id", stripped.lower()
    if DATE_PATTERN.fullmatch(stripped):
        parsed = parse_date(stripped)
        if parsed is not None:
            return "date", parsed
    if MONEY_PATTERN.fullmatch(stripped):
        amount = parse_money(stripped)
        if amount is not None:
            return "money", amount
    return None


def states(facts: ReplyFacts, expected: str, asserted_only: bool = False) -> bool:
    """Whether the reply states (or asserts) a rubric's expected string, read as the fact it names."""
    fact = expected_fact(expected)
    if fact is None:
        return facts.states_phrase(expected, asserted_only)
    kind, value = fact
    if kind == "id":
        return facts.states_id(value, asserted_only)
    if kind == "date":
        return facts.states_date(value, asserted_only)
    return facts.states_number(value, asserted_only=asserted_only)


def stated_numbers(text: str) -> list[float]:
    """The magnitudes of the amounts, percentages and plain numbers ``text`` names, in order (ids and dates are
    not numbers: "ord-250830-110" and "2025-09-01" name none)."""
    return [m.value for m in read_reply(text).mentions if m.kind in ("money", "percent", "number")]


# -- what an answer adds ----------------------------------------------------------------------------------------------
GENERIC_REPLY = "I will look into this and follow up with you."


def answer_facts(reply: str, request: str) -> list[Mention]:
    """The ids, amounts and dates ``reply`` states that ``request`` does not: what the answer adds."""
    asked = {(m.kind, m.value) for m in read_reply(request).mentions}
    return [m for m in read_reply(reply).mentions if m.kind in ("id", "money", "date") and (m.kind, m.value) not in asked]


def without_answer(reply: str, request: str) -> str:
    """``reply`` with the facts it adds to ``request`` cut out: the answer's words without the answer."""
    for mention in sorted(answer_facts(reply, request), key=lambda m: -m.start):
        reply = reply[: mention.start] + reply[mention.end:]
    return reply


def non_answers(reply: str, request: str) -> dict[str, str]:
    """Texts that answer nothing, which a judge criterion's deterministic fallback must not accept: the request
    itself, a generic promise, and the reference ``reply`` with its answer cut out."""
    return {"the request": request, "a generic reply": GENERIC_REPLY,
            "the reference reply without its answer": without_answer(reply, request)}
