"""Reply reading (``tasks.assertions``) and the reply checks built on it: facts in any format, assertion vs quotation,
whole words, and the form, facts, echo and landing checks every rubric now carries."""

from __future__ import annotations

import pytest

from corecraft_env.tasks.assertions import read_reply, states, stated_numbers
from corecraft_env.tasks.criteria import CHECKS, Episode


def facts_of(text: str) -> list[tuple[str, object, bool]]:
    return [(m.kind, m.value, m.asserted) for m in read_reply(text).mentions]


@pytest.mark.parametrize("text", ["$1,234.50", "1234.5 USD", "USD 1,234.50", "1,234.50 dollars", "US$1234.50", "$1234.5"])
def test_amounts_in_any_common_format(text):
    assert facts_of(f"Your refund is {text}.") == [("money", 1234.5, True)]


@pytest.mark.parametrize("text, expected", [
    ("2025-09-04", (2025, 9, 4)), ("September 4, 2025", (2025, 9, 4)), ("Sep 4, 2025", (2025, 9, 4)),
    ("Thursday, September 4, 2025", (2025, 9, 4)), ("Thu, Sep 4 2025", (2025, 9, 4)), ("4th of September 2025", (2025, 9, 4)),
    ("09/04/2025", (2025, 9, 4)), ("September 4th", (None, 9, 4)), ("Sept. 4", (None, 9, 4)),
])
def test_dates_in_any_common_format(text, expected):
    assert facts_of(f"It was delivered on {text}.") == [("date", expected, True)]


def test_iso_dates_without_a_year_are_read():
    from corecraft_env.tasks.assertions import parse_date

    assert parse_date("--10-30") == (None, 10, 30) and parse_date("2026-10-30") == (2026, 10, 30)


def test_a_date_without_its_year_matches_the_dated_fact():
    assert states(read_reply("It ends on October 30."), "2026-10-30")
    assert not states(read_reply("It ends on October 31."), "2026-10-30")
    assert not states(read_reply("It ends on October 30, 2025."), "2026-10-30")


def test_ids_and_numbers_inside_ids_or_names_are_not_amounts():
    assert facts_of("Order ord-250830-110 (Zentrix R5 5550, USD 170.99).") == [
        ("id", "ord-250830-110", True), ("number", 5550.0, True), ("money", 170.99, True)]
    assert stated_numbers("Refund $1,234.50 on ord-250830-110 (2025-09-01), a 16GB kit, 30 days.") == [1234.5, 30.0]


@pytest.mark.parametrize("sentence", [
    "You mentioned $60.94, but the refund is $55.40.",
    "The refund is $55.40, not $60.94.",
    "Gold would be $60.94, but you are silver: $55.40.",
    "The $60.94 you were quoted is incorrect; the refund is $55.40.",
    "The refund is $55.40 rather than $60.94.",
])
def test_a_figure_named_to_correct_it_is_not_asserted(sentence):
    asserted = {m.value for m in read_reply(sentence).of("money", asserted_only=True)}
    assert asserted == {55.40}


@pytest.mark.parametrize("sentence", [
    "The refund is $55.40 or possibly $60.94.",
    "The refund is $55.40. It might be $60.94 though.",
    "Either $55.40 or $60.94, not sure which.",
    "The refund is $55.40. It would be $60.94 otherwise.",
    "The refund is $55.40. It is not impossible that it is $60.94.",
    "The refund is $55.40. It would be $60.94.",  # "would" with no condition or contrast in its sentence asserts
])
def test_a_hedge_asserts_every_figure_it_names(sentence):
    assert {m.value for m in read_reply(sentence).of("money", asserted_only=True)} == {55.40, 60.94}


def test_words_match_whole_words_with_inflections_and_plain_statuses():
    reply = read_reply("The build fails validation; the order is now refund requested and was routed to finance.")
    assert states(reply, "fail") and states(reply, "refund_requested") and states(reply, "route")
    assert not states(read_reply("That is gold."), "old")
    assert not states(read_reply("Let us know."), "et")
    assert not states(read_reply("A trout."), "rout")


# -- the checks -----------------------------------------------------------------------------------------------------
def reply_check(reply: str, check: dict, request: str = "") -> tuple[bool, str]:
    return CHECKS["response"](Episode(conn=None, final_reply=reply, request=request), check)


def test_only_facts_rejects_unsupported_figures_but_not_corrections():
    allowed = {"only_facts": {"ids": ["ref-00221"], "amounts": [55.40], "dates": ["2025-09-04"]}}
    assert reply_check("Refund ref-00221 of $55.40 was created on Sep 4.", allowed)[0]
    assert reply_check("You mentioned $60.94, but refund ref-00221 is $55.40.", allowed)[0]
    passed, reason = reply_check("Refund ref-00221 of $55.40, or maybe $60.94.", allowed)
    assert not passed and "$60.94" in reason
    assert not reply_check("Refund ref-00222 of $55.40.", allowed)[0]
    assert not reply_check("Refund ref-00221 of $55.40 on September 5.", allowed)[0]


def test_plain_text_rejects_json_and_field_names():
    assert reply_check("Your order shipped on September 4.", {"plain_text": True})[0]
    assert not reply_check('{"order": {"id": "ord-250830-110"}}', {"plain_text": True})[0]
    assert not reply_check("created_at 2025-09-04, status delivered", {"plain_text": True})[0]
    assert reply_check("The order is refund_requested.", {"plain_text": True})[0]  # a status value, not a field name


def test_plain_text_rejects_records_flattened_to_key_value_lines():
    flattened = "Here you go.\nsku: CC-STO-0065\nname: Swiftcell SA 1TB\nbrand: Swiftcell\nprice: 140.99\nin stock: 0\nwarranty months: 60"
    passed, reason = reply_check(flattened, {"plain_text": True})
    assert not passed and "record" in reason
    assert not reply_check("It was created at: 2025-09-04, unit price: $55.40.", {"plain_text": True})[0]
    labelled = "Order number: ord-250830-110\nRefund ID: ref-00221\nCustomer ID: cust-0001\nTracking number: FE318946901100"
    assert reply_check(labelled, {"plain_text": True})[0]  # labels before ids are how people write them


def test_length_and_echo_bounds():
    request = "Can you tell me the status of my ticket about order ord-250331-101 and whether it is resolved?"
    assert not reply_check("x" * 501, {"max_chars": 500})[0]
    assert not reply_check(request, {"not_echo": True}, request)[0]
    assert reply_check("Ticket tick-0086 about order ord-250331-101 is resolved.", {"not_echo": True}, request)[0]


def test_not_numbers_and_not_contains_fail_only_on_assertion():
    assert reply_check("Gold would be 10%, but you are silver, so 5%.", {"not_numbers": [10]})[0]
    assert not reply_check("Your discount is 10%.", {"not_numbers": [10]})[0]
    assert reply_check("You said September 3, but it was placed on September 4.", {"not_contains": ["September 3"]})[0]
    assert not reply_check("It was placed on Sep 3.", {"not_contains": ["September 3"]})[0]


def test_an_allowed_insert_must_land_where_the_task_says(world0):
    from corecraft_env.tools import REGISTRY

    conn = world0.connect()
    ticket, other = (row[0] for row in conn.execute("SELECT id FROM support_ticket ORDER BY id LIMIT 2"))
    result = REGISTRY.call(conn, "createResolution", {"ticket_id": other, "outcome": "no_action", "resolved_by": "emp-0001",
                                                      "details": "x"})
    new_id = result["resolution"]["id"]
    episode = Episode(conn=conn, writes=[("resolution", new_id, "insert")])
    anywhere = {"allow": [{"table": "resolution", "ids": [new_id], "ops": ["insert"]}]}
    pinned = {"allow": [{"table": "resolution", "ids": [new_id], "ops": ["insert"], "where": {"ticket_id": ticket}}]}
    assert CHECKS["no_collateral"](episode, anywhere)[0]
    assert not CHECKS["no_collateral"](episode, pinned)[0]
