"""Requests in real voices: the framework re-voices every family's request as one of several personas.

A family writes the core of its request, what is asked and about what. ``FamilyVoice`` strips the core's own
greeting and sign-off and has a persona write the message around it: a terse one-liner, a chatty note with an
irrelevant aside, an upset customer, someone writing in a second language, a message forwarded with the earlier
one quoted, a formal letter. Customers write to a shop; employees write to a colleague. Persona and phrasing are
drawn from a random generator seeded per candidate (family, world seed, candidate number), so the same seed gives
the same bytes; a draw whose skeleton (``realism.WorldIndex.skeleton``: entities masked) repeats a task the family
already kept is drawn again, so a family does not send two requests that differ only in the entities they name.

Persona text names no entity, figure, date, time of day, policy term or product condition: only the requester's
own name and e-mail (which the inbox header shows anyway). What the core asks, and the facts it states, are left
as written: personas only re-word courtesy ("please"), contractions and the opening verb of a request.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from ..tasks.realism import WorldIndex

VOICE_TRIES = 16  # draws per candidate before a repeated skeleton is accepted
QUOTE_SUBJECT_WORDS = 6  # a forwarded message's subject: the first words of the original, as mail clients do
_SENTENCE_END = re.compile(r"[.!?:](?=\s|$)")


@dataclass(frozen=True)
class Sender:
    kind: str  # "customer" or "employee"
    name: str
    email: str
    department: str = ""  # an employee's

    @property
    def first(self) -> str:
        return self.name.split()[0]


# -- the core: the family's request without its own greeting and sign-off -------------------------------------------
_GREETING = re.compile(r"^(?:hi|hello|hey|dear|good day)\b[^\n,!.?]{0,30}[,!.]\s*", re.IGNORECASE)
_SIGN_OFF = re.compile(r"(?:\n+|(?<=[.!?])\s+|^)(?:many thanks|thanks|thank you|cheers|best|regards|kind regards)\b"
                       r"[^\n.?]{0,40}[.!]?\s*$", re.IGNORECASE)


def core_of(request: str, sender: Sender) -> str:
    """The request without a leading greeting, a trailing thanks or sign-off, or a trailing line naming the sender."""
    body = request.strip()
    for name in (sender.name, sender.first):
        if body.endswith("\n" + name):
            body = body[: -len(name)].rstrip()
    body = _SIGN_OFF.sub("", body).rstrip() or body
    stripped = _GREETING.sub("", body, count=1)
    return _capitalised(stripped) if stripped.strip() else body


def _capitalised(text: str) -> str:
    """The text with its first letter in capitals, unless it opens with an id, an e-mail address or a code."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return text[:1].upper() + text[1:] if first.isalpha() or first[:-1].isalpha() else text


# -- re-wordings of the core -----------------------------------------------------------------------------------------
Rewording = tuple[re.Pattern, str]


def _words(*pairs: tuple[str, str]) -> tuple[Rewording, ...]:
    """Whole-word replacements (``old`` is a regular expression); a match at a capital keeps the capital."""
    return tuple((re.compile(rf"\b{old}\b", re.IGNORECASE), new) for old, new in pairs)


_FULL_FORMS = _words(
    ("can't", "cannot"), ("won't", "will not"), ("don't", "do not"), ("doesn't", "does not"), ("didn't", "did not"),
    ("isn't", "is not"), ("aren't", "are not"), ("wasn't", "was not"), ("haven't", "have not"), ("I'm", "I am"),
    ("I've", "I have"), ("I'd", "I would"), ("I'll", "I will"), ("it's", "it is"), ("that's", "that is"),
    ("what's", "what is"), ("there's", "there is"), ("they're", "they are"), ("we're", "we are"),
    ("you're", "you are"), ("who's", "who is"), ("anything's", "anything is"), ("let's", "let us"))
_FORMAL = _FULL_FORMS + _words(("can you", "could you"), ("I want to", "I would like to"), ("please(?= [a-z])", "kindly"))
_SECOND_LANGUAGE = _FULL_FORMS + _words(("could you(?: please)?", "is it possible you"),
                                         ("can you(?: please)?", "please can you"), ("I would like", "I want"))
_UPSET = _words(("could you(?: please)?", "can you please just"), ("I'd like", "I want"), ("I would like", "I want"))
_TERSE = ((re.compile(r",?\s*\bplease\b(?=[.?!])", re.IGNORECASE), ""),
          (re.compile(r"(?:(?<=^)|(?<=[.!?]\s)|(?<=\n))please,?\s+(?=\w)", re.IGNORECASE), ""),
          (re.compile(r"\bplease\s+", re.IGNORECASE), ""),
          *_words(("could you", "can you"), ("I would like", "I want"), ("I'd like", "I want")))
_SENTENCE_START = re.compile(r"(?:^|(?<=[.!?]\s)|(?<=\n))([a-z]+\b)(?![@.\w-])")


def reword(text: str, rewordings: tuple[Rewording, ...]) -> str:
    """``text`` with each re-wording applied, and sentences it left opening in lower case capitalised."""
    for pattern, new in rewordings:
        text = pattern.sub(lambda match: _same_case(match.group(0), new), text)
    return _SENTENCE_START.sub(lambda match: _capitalised(match.group(1)), text)


def _same_case(old: str, new: str) -> str:
    if not new or new.startswith("I "):
        return new
    return new[:1].upper() + new[1:] if old[:1].isupper() else new[:1].lower() + new[1:]


# -- what personas say around the core -------------------------------------------------------------------------------
# Irrelevant details: nothing about the products, their condition, money, dates or times of day.
CUSTOMER_ASIDES = (
    "typing this on my phone in a noisy café", "with the dog trying to sit on the keyboard",
    "a friend from my climbing gym pointed me your way", "still getting the hang of this whole PC hobby",
    "sitting in a waiting room with nothing better to do", "the rain here just won't stop, so I'm catching up on admin",
    "I found your address on a forum thread", "on a train with patchy signal, so bear with me",
    "my nephew is the one who got me into all this", "big fan of your newsletter, by the way",
    "the cat is very interested in this e-mail", "juggling this with a toddler on my lap",
    "borrowing my sister's laptop to write this", "my neighbour swears by your shop",
)
EMPLOYEE_ASIDES = (
    "the shared inbox is a zoo", "my laptop is crawling along", "squeezing this in between calls",
    "covering the queue for a teammate", "the coffee machine is broken again, so bear with me",
    "still catching up after the team offsite", "the chat is too noisy for this one", "my headset just died mid-call",
)


def _chatty(core: str, sender: Sender, rng: random.Random) -> str:
    asides = CUSTOMER_ASIDES if sender.kind == "customer" else EMPLOYEE_ASIDES
    hello = rng.choice(("Hi", "Hey", "Hello", "Hiya") if sender.kind == "customer" else ("Hey", "Hi", "Yo"))
    thanks = rng.choice(("Thanks so much", "Cheers and thanks", "Thanks a bunch", "Many thanks")
                        if sender.kind == "customer" else ("Cheers", "Owe you one", "Thanks a million", "Ta"))
    return f"{hello}, {sender.first} here, {rng.choice(asides)}.\n\n{core}\n\n{thanks}, {sender.first}"


def _terse(core: str, sender: Sender, rng: random.Random) -> str:
    sign = rng.choice(("", "{first}", "- {first}", "thx, {first}", "ta, {first}") if sender.kind == "employee"
                      else ("", "{first}", "- {first}", "{first} (on my phone)"))
    body = reword(core, _TERSE)
    return f"{body}\n{sign.format(first=sender.first)}" if sign else body


def _upset(core: str, sender: Sender, rng: random.Random) -> str:
    if sender.kind == "customer":
        opening = rng.choice((
            "{first} here, and I'm honestly pretty frustrated right now.", "It's {name}, and I'm not impressed so far.",
            "{first} again, and I'm losing patience with this.", "This is {name}, and this is turning into a headache.",
            "My name is {name} and I really didn't expect to have to write this."))
        closing = rng.choice(("Still waiting, {first}", "Frustrated, {name}", "A not very happy {first}",
                              "Waiting on a straight answer, {first}"))
    else:
        opening = rng.choice((
            "{first} here, sorry to chase, this one is getting urgent.", "{first} here, this has bounced around long enough.",
            "It's {first}, I'm getting pinged about this constantly.", "{first} here, bit of a fire on my side."))
        closing = rng.choice(("Cheers, {first}", "Much appreciated, {first}", "Thanks for jumping on it, {first}"))
    names = {"first": sender.first, "name": sender.name}
    return f"{opening.format(**names)}\n\n{reword(core, _UPSET)}\n\n{closing.format(**names)}"


def _second_language(core: str, sender: Sender, rng: random.Random) -> str:
    opening = rng.choice(("Hello, I am {first} and I write to you for help.", "Good day, my name is {name}.",
                          "Hello, here is {first} writing.", "Dear team, I am {name}."))
    closing = rng.choice(("Thank you in advance and sorry for my English, {first}",
                          "Many thanks for the help, {name}", "Thank you very much, {name}",
                          "I wait your answer, thank you, {first}"))
    return (f"{opening.format(first=sender.first, name=sender.name)}\n{reword(core, _SECOND_LANGUAGE)}\n"
            f"{closing.format(first=sender.first, name=sender.name)}")


def _formal(core: str, sender: Sender, rng: random.Random) -> str:
    if sender.kind == "customer":
        addressee = rng.choice(("Dear CoreCraft team", "Dear Sir or Madam", "To the CoreCraft support team", "Good day"))
        salutation = f"{addressee}, my name is {sender.name} and I am writing to you about the following."
        closing = rng.choice(("Kind regards", "Yours sincerely", "With thanks", "Best regards"))
    else:
        addressee = rng.choice(("Hi team", "Hello all", "Dear colleagues"))
        salutation = f"{addressee}, this is {sender.name} from {sender.department.replace('_', ' ')}."
        closing = rng.choice(("Best", "Regards", "Thanks in advance"))
    return f"{salutation}\n\n{reword(core, _FORMAL)}\n\n{closing}, {sender.name}"


def _forwarded(core: str, sender: Sender, rng: random.Random) -> str:
    """A note over a forwarded earlier message of the sender's own, quoted (sent moments before, so any
    relative date in it means what it meant)."""
    note = rng.choice((
        "{first} again, forwarding this as I sent it to the wrong address first:",
        "Sending this on to you, {first} here, I think it landed in the sales inbox by mistake:",
        "{first} here, resending below as I'm not sure the first one went through:",
        "Forwarding my message from a minute ago, {first} here, it bounced from the old address:")
        if sender.kind == "customer" else (
        "{first} here, moving this over from the team chat so it doesn't get lost:",
        "Forwarding my note below, {first} here, I sent it to the wrong list:",
        "{first} here, re-sending this, the chat thread got buried:"))
    words = core.split()[:QUOTE_SUBJECT_WORDS]
    subject = " ".join(words)
    cut = _SENTENCE_END.search(subject)  # a subject line holds at most the opening sentence
    subject = subject[: cut.start() + 1] if cut else subject + (" …" if len(core.split()) > QUOTE_SUBJECT_WORDS else "")
    quoted = "\n".join(f"> {line}" for line in f"{core}\n{sender.first}".splitlines() if line.strip())
    return (f"{note.format(first=sender.first)}\n\nFrom: {sender.name} <{sender.email}>\nSubject: {subject}\n\n"
            f"{quoted}")


Persona = Callable[[str, Sender, random.Random], str]
PERSONAS: dict[str, Persona] = {"terse": _terse, "chatty": _chatty, "upset": _upset, "second_language": _second_language,
                                "formal": _formal, "forwarded": _forwarded}


def speak(request: str, sender: Sender, rng: random.Random) -> tuple[str, str]:
    """One draw: ``(persona name, the request in that persona's voice)``."""
    persona = rng.choice(sorted(PERSONAS))
    return persona, PERSONAS[persona](core_of(request, sender), sender, rng)


def wording(options: tuple[str, ...], *key: str) -> str:
    """One of ``options``, chosen by a stable hash of ``key`` (the entities a request is about): for a family whose
    entity picks must not shift with one more draw from its RNG."""
    from .core import family_seed  # core imports this module

    return options[family_seed("/".join(key)) % len(options)]


def sender_of(conn: sqlite3.Connection, requester: dict) -> Sender:
    if requester["type"] == "customer":
        name, email = conn.execute("SELECT name, email FROM customer WHERE id = ?", (requester["id"],)).fetchone()
        return Sender("customer", name, email)
    row = conn.execute("SELECT name, email, department FROM employee WHERE id = ?", (requester["id"],)).fetchone()
    return Sender("employee", *row)


class FamilyVoice:
    """Voices one family's candidates on one world, remembering the skeletons of the tasks it keeps."""

    def __init__(self, family_name: str, conn: sqlite3.Connection, seed: int) -> None:
        self.family_name, self.conn, self.seed = family_name, conn, seed
        self.index = WorldIndex.on(conn, seed)
        self.kept: set[str] = set()

    def voiced(self, request: str, requester: dict, candidate: int) -> str:
        """The request in a persona's voice whose skeleton no kept task of the family has (after at most
        ``VOICE_TRIES`` draws; the last draw otherwise)."""
        from .core import family_seed  # core imports this module

        rng = random.Random(family_seed(f"{self.family_name}/voice/{self.seed}/{candidate}"))
        sender = sender_of(self.conn, requester)
        for _ in range(VOICE_TRIES):
            _, text = speak(request, sender, rng)
            if self.index.skeleton(text) not in self.kept:
                break
        return text

    def keep(self, request: str) -> None:
        self.kept.add(self.index.skeleton(request))
