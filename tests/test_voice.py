"""Personas re-voice a family's request (corecraft_env.taskgen.voice) without changing what it asks or states."""

from __future__ import annotations

import random
from functools import cache

import pytest

from corecraft_env.taskgen.core import read_only_world
from corecraft_env.taskgen.voice import (_FORMAL, _TERSE, PERSONAS, FamilyVoice, Sender, core_of, reword, sender_of,
                                         speak)
from corecraft_env.tasks.assertions import read_reply
from corecraft_env.tasks.realism import TRAP_WORDS, WorldIndex

CUSTOMER = Sender("customer", "Rhonda Pierce", "rhonda.pierce@example.com")
EMPLOYEE = Sender("employee", "Jaime Lopez", "jaime.lopez@corecraft.com", "billing_payment")
CORE = ("I want to return the Frostline Liquid 360 from order ord-250825-112. It's still sealed in the original box. "
        "Could you refund $129.99 to my original payment method, please? I bought it on September 4, 2025.")


@cache
def world():
    return read_only_world(0)


def _requester(kind: str) -> dict:
    table = "customer" if kind == "customer" else "employee"
    (requester_id,) = world().execute(f"SELECT id FROM {table} ORDER BY id LIMIT 1").fetchone()
    return {"type": kind, "id": requester_id}


def _facts(text: str) -> list[tuple[str, object]]:
    return sorted((m.kind, str(m.value)) for m in read_reply(text).mentions)


def test_the_same_candidate_gets_the_same_voice_and_candidates_get_different_ones():
    requester = _requester("customer")
    first = [FamilyVoice("fam", world(), 0).voiced(CORE, requester, n) for n in range(1, 13)]
    again = [FamilyVoice("fam", world(), 0).voiced(CORE, requester, n) for n in range(1, 13)]
    assert first == again
    assert len(set(first)) >= 10  # independent draws (repeats are redrawn only against kept tasks, below)
    assert FamilyVoice("other_fam", world(), 0).voiced(CORE, requester, 1) != first[0]
    assert FamilyVoice("fam", world(), 1).voiced(CORE, requester, 1) != first[0]  # another world, another draw


@pytest.mark.parametrize("sender", [CUSTOMER, EMPLOYEE], ids=["customer", "employee"])
def test_every_persona_is_drawn(sender: Sender):
    rng = random.Random(0)
    drawn = {speak(CORE, sender, rng)[0] for _ in range(200)}
    assert drawn == set(PERSONAS)


@pytest.mark.parametrize("sender", [CUSTOMER, EMPLOYEE], ids=["customer", "employee"])
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_personas_add_no_trap_word_entity_or_figure_and_keep_the_core_facts(persona: str, sender: Sender):
    rng = random.Random(persona)
    for _ in range(40):
        text = PERSONAS[persona](CORE, sender, rng)
        assert not [word for word, pattern in TRAP_WORDS.items() if pattern.search(text)], text
        assert _facts(text) == _facts(CORE), text  # the same ids, amounts and dates: none added, none lost
        assert "Frostline Liquid 360" in text


def test_personas_of_employees_write_to_a_colleague_and_customers_to_the_shop():
    rng = random.Random(1)
    employee_texts = " ".join(PERSONAS[p](CORE, EMPLOYEE, rng) for p in PERSONAS for _ in range(20))
    customer_texts = " ".join(PERSONAS[p](CORE, CUSTOMER, rng) for p in PERSONAS for _ in range(20))
    assert "CoreCraft team" not in employee_texts and "Sir or Madam" not in employee_texts
    assert "billing payment" in employee_texts  # a colleague says which team they are on
    assert "CoreCraft" in customer_texts and "team chat" not in customer_texts


def test_a_forwarded_message_quotes_the_earlier_message_in_full():
    rng = random.Random(3)
    text = PERSONAS["forwarded"](CORE, CUSTOMER, rng)
    note, header, quote = text.split("\n\n")
    assert note.endswith(":") and "Rhonda" in note
    assert header.splitlines()[0] == "From: Rhonda Pierce <rhonda.pierce@example.com>"
    assert header.splitlines()[1] == "Subject: I want to return the Frostline …"
    lines = quote.splitlines()
    assert all(line.startswith("> ") for line in lines)
    assert "\n".join(line[2:] for line in lines) == f"{CORE}\nRhonda"


def test_the_core_loses_its_own_greeting_and_sign_off_only():
    assert core_of("Hello, I want to return it. Thanks in advance, Rhonda", CUSTOMER) == "I want to return it."
    assert core_of("Hi! What's up with my refund? Thanks, Rhonda", CUSTOMER) == "What's up with my refund?"
    assert core_of("Hello corecraft,\nwhere is my order?\nRhonda Pierce", CUSTOMER) == "Where is my order?"
    assert core_of("Thank you for the quick fix. Can I return it?", CUSTOMER) == "Thank you for the quick fix. Can I return it?"
    assert core_of("amber.turner@outlook.com asked about ord-250825-112.", EMPLOYEE) == "amber.turner@outlook.com asked about ord-250825-112."


def test_rewording_changes_courtesy_and_contractions_never_ids_or_addresses():
    assert reword("Please refund ord-250825-112 to amber.turner@outlook.com, please.", _TERSE) == \
        "Refund ord-250825-112 to amber.turner@outlook.com."
    assert reword("Hi. please, close tick-0215. ord-250825-112 is next.", _TERSE) == "Hi. Close tick-0215. ord-250825-112 is next."
    assert reword("I'm sure it's fine, but can you check? I don't know.", _FORMAL) == \
        "I am sure it is fine, but could you check? I do not know."


def test_a_family_does_not_repeat_a_skeleton_even_for_the_same_request():
    requester = _requester("employee")
    voice = FamilyVoice("fam", world(), 0)
    index = WorldIndex.on(world(), 0)
    skeletons = []
    for candidate in range(1, 31):
        request = voice.voiced(CORE, requester, candidate)
        voice.keep(request)
        skeletons.append(index.skeleton(request))
    assert len(set(skeletons)) == len(skeletons)


def test_the_sender_comes_from_the_world():
    requester = _requester("employee")
    sender = sender_of(world(), requester)
    name, email, department = world().execute("SELECT name, email, department FROM employee WHERE id = ?",
                                              (requester["id"],)).fetchone()
    assert sender == Sender("employee", name, email, department)
    assert sender.first == name.split()[0]


@pytest.mark.parametrize(("family", "criterion", "asserting"), [
    ("return_partial_line", "reply-order-date", "You ordered it on {wrong}."),
    ("return_full_order", "reply-paid", "You paid {wrong} for the order."),
])
def test_a_customer_who_gets_a_fact_wrong_is_answered_from_the_records(family: str, criterion: str, asserting: str):
    from corecraft_env.taskgen import families  # noqa: F401  (registers every family)
    from corecraft_env.taskgen.core import FAMILIES, run_family
    from corecraft_env.tasks.criteria import Episode, check_response

    checked = 0
    for generated in run_family(FAMILIES[family], world(), 0).kept:
        check = next((c["check"] for c in generated.rubric["criteria"] if c["id"] == criterion), None)
        if check is None:
            continue
        wrong = check["not_contains"][0] if "not_contains" in check else f"${check['not_numbers'][0]:,.2f}"
        assert wrong in generated.task["request"]  # the customer says it
        reference = generated.task["reference_solution"]["final_reply"]

        def passes(reply: str) -> bool:
            return check_response(Episode(world(), final_reply=reply, request=generated.task["request"]), check)[0]

        assert passes(reference)
        assert not passes(f"{reference} {asserting.format(wrong=wrong)}")  # repeating it as true fails
        assert passes(f"You mentioned {wrong}, but the order says otherwise. {reference}")  # correcting it does not
        checked += 1
    assert checked >= 1
