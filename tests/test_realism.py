"""The realism measures of `corecraft tasks --stats` (corecraft_env.tasks.realism) count what they say they count."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache

from corecraft_env.tasks import Task, ToolCall
from corecraft_env.tasks.realism import WorldIndex, realism_statistics, sentences, split_realism
from corecraft_env.world import NOW


@cache
def world() -> WorldIndex:
    return WorldIndex(0)


def make_task(request: str, calls=(), reply: str = "", *, task_id: str = "t-001", family: str = "fam", split: str = "train",
              requester: str = "cust-0001") -> Task:
    return Task(id=task_id, family=family, category="information_retrieval", difficulty="easy", split=split, world_seed=0,
                requester={"type": "customer", "id": requester}, request=request, rubric_id=task_id,
                reference_tool_calls=tuple(ToolCall(name, args) for name, args in calls), reference_reply=reply)


def measures(*tasks: Task, train_ids=None) -> dict:
    return split_realism(list(tasks), {0: world()}, train_ids)


def test_sentences_split_at_stops_and_line_breaks_and_ignore_case_and_spacing():
    assert sentences("Hi there.  Where is\nmy order? Thanks!") == ["hi there.", "where is", "my order?", "thanks!"]
    report = measures(make_task("Hello. Where is my order?"), make_task("HELLO.   Where is my refund?", task_id="t-002"))
    assert (report["sentences"], report["distinct_sentences"], report["distinct_sentence_ratio"]) == (4, 3, 0.75)


def test_requests_differing_only_in_entities_share_a_skeleton():
    (p1, n1), (p2, n2) = world().conn.execute("SELECT id, name FROM product ORDER BY id LIMIT 2").fetchall()
    (c1,), (c2,) = world().conn.execute("SELECT name FROM customer ORDER BY id LIMIT 2").fetchall()
    first = f"Hi, I'm {c1} (a@b.com). Is the {n1} from ord-250101-101 (bought 2025-01-01 for $129.99, 2 units) still covered? {c1.split()[0]}"
    second = (f"Hi, I'm {c2} (x.y@mail.org). Is the {n2} from ord-240202-103 (bought March 3, 2024 for $5, 7 units) still "
              f"covered? {c2.split()[0]}")
    other = f"Hi, I'm {c2}. Can I return the {n2} from ord-240202-103?"
    assert world().skeleton(first) == world().skeleton(second)
    assert world().skeleton(first) == ("hi, i'm <person> (<email>). is the <product> from <id> (bought <date> for <amount>, "
                                       "<number> units) still covered? <person>")
    family = [make_task(r, task_id=f"t-{i:03}") for i, r in enumerate([first, second, other, other + " Thanks.", other + " Bye."])]
    report = measures(*family)
    assert report["distinct_skeletons"] == 4
    assert report["families_repeating_a_skeleton"] == ["fam"]
    assert measures(*family[:4])["families_repeating_a_skeleton"] == []  # a family under 5 tasks is not held to it
    assert measures(*family[:3], family[2])["identical_requests"] == 2


def _customer_with_an_order_line():
    return world().conn.execute(
        "SELECT c.id, c.email, o.id, l.product_id FROM customer c JOIN orders o ON o.customer_id = c.id "
        "JOIN order_line l ON l.order_id = o.id ORDER BY o.id LIMIT 1").fetchone()


def test_a_chain_of_four_dependent_lookups_from_real_world_ids():
    customer, email, order, product = _customer_with_an_order_line()
    calls = [("searchCustomers", {"email": email}),  # 1: the e-mail is in the request
             ("searchOrders", {"customer_id": customer}),  # 2: the customer id comes from call 1
             ("getOrderDetails", {"order_id": order}),  # 3: the order id from call 2
             ("getOrderDetails", {"order_id": order}),  # a repeat: its value still comes from call 2, so depth 3
             ("checkWarrantyStatus", {"order_id": order, "product_id": product})]  # 4: the product id from call 3
    deep = make_task(f"I'm {email}; is my last purchase under warranty?", calls, requester="emp-0001")
    assert world().chain_length(deep) == 4
    # Values the agent is given start no chain: the customer id in the header, the order id in the request.
    assert world().chain_length(make_task("Is my last purchase under warranty?", calls[1:], requester=customer)) == 3
    assert world().chain_length(make_task(f"Is {order} under warranty?", calls[2:], requester=customer)) == 2
    # ... even when an earlier result holds them too: the order id searchOrders returns was already in the request.
    assert world().chain_length(make_task(f"Is {order} under warranty?", calls[1:], requester=customer)) == 2
    # Writes are not lookups.
    assert world().chain_length(make_task("Close it.", [("updateTicketStatus", {"ticket_id": "tick-0001", "status": "closed"})])) == 0
    report = measures(deep, make_task(f"Is {order} under warranty?", calls[2:], task_id="t-002", requester=customer))
    assert (report["deep_chain_share"], report["longest_chain"]) == (0.5, 4)


def test_boundary_cases_are_orders_near_the_return_window_and_warranties_ending_near_now():
    today = NOW.date()
    by_age = {(today - created).days: order for order, created in world().orders.items()}
    assert world().is_boundary_case(make_task("Can I return it?", [("getOrderDetails", {"order_id": by_age[30]})]))
    assert world().is_boundary_case(make_task("Can I return it?", reply=f"Order {by_age[28]} is 28 days old."))
    assert not world().is_boundary_case(make_task("Can I return it?", [("getOrderDetails", {"order_id": by_age[33]})]))
    assert not world().is_boundary_case(make_task("Can I return it?", [("getOrderDetails", {"order_id": by_age[60]})]))

    ends = world().warranty_ends
    # An old order with one line whose warranty ends within days of now and another line whose warranty does not.
    near, other = next(((o, p), (o, q)) for (o, p), day in ends.items() for (o2, q), day2 in ends.items()
                       if o2 == o and abs((day - today).days) <= 7 and abs((day2 - today).days) > 60
                       and (today - world().orders[o]).days > 40)
    for (order, product), expected in ((near, True), (other, False)):
        task = make_task("Is it under warranty?", [("checkWarrantyStatus", {"order_id": order, "product_id": product})])
        assert world().is_boundary_case(task) is expected
    name = world().product_names[near[1]]
    assert world().is_boundary_case(make_task("?", [("getOrderDetails", {"order_id": near[0]})], f"Your {name} is covered."))
    assert measures(make_task("?", [("getOrderDetails", {"order_id": by_age[31]})]), make_task("?"))["boundary_cases"] == 1


def test_trap_words_count_whole_words_and_ET_only_in_capitals():
    requests = {
        "What's the cheapest option?": {"cheapest"},
        "Anything cheaper?": set(),
        "Orders from 9 AM ET, Eastern time, New York": {"ET", "Eastern", "New York"},
        "let et al. decide; northeastern office": set(),
        "Please list all of my orders.": {"all my orders"},
        "My account is cust-0042.": {"internal id"},
        "Ask emp-0007 and check ord-250101-101.": {"internal id"},
    }
    tasks = [make_task(r, task_id=f"t-{i:03}") for i, r in enumerate(requests)]
    counts = measures(*tasks)["trap_words"]
    assert counts == {word: sum(word in hits for hits in requests.values()) for word in counts}
    assert (counts["cheapest"], counts["ET"], counts["internal id"]) == (1, 1, 2)
    assert measures(*tasks)["requester_id_in_observation"] == 0  # the inbox header names the sender, not the id


def test_heldout_overlap_is_the_share_of_heldout_tasks_touching_a_customer_case_a_train_task_touches():
    customer, email, order, product = _customer_with_an_order_line()
    ticket, ticket_owner = world().conn.execute(
        "SELECT id, customer_id FROM support_ticket WHERE customer_id != ? ORDER BY id LIMIT 1", (customer,)).fetchone()
    staff = world().conn.execute("SELECT id FROM employee ORDER BY id LIMIT 1").fetchone()[0]
    train = [make_task(f"Where is {order}?", requester=customer)]
    heldout = [make_task(f"Is {email} still waiting on anything?", task_id="h-001", split="heldout", requester=ticket_owner),
               make_task("Under warranty?", [("checkWarrantyStatus", {"order_id": "ord-200101-998", "product_id": product}),
                                             ("searchTickets", {"ticket_id": ticket})],
                         task_id="h-002", split="heldout", requester=ticket_owner),
               make_task(f"Ask {staff} about it.", task_id="h-003", split="heldout", requester=ticket_owner)]
    # Only case entities count: the product, the employee and an id the world does not hold are not cases.
    assert world().entity_ids(heldout[1]) == {ticket, ticket_owner}
    assert world().entity_ids(heldout[0]) == {email.lower(), customer, ticket_owner}
    train_with_shared_parts = train + [make_task(f"Is {product} in stock? Ask {staff}.", [("getProduct", {"product_id": product})],
                                                 task_id="t-002", requester=customer)]
    report = realism_statistics(heldout[1:] + train, train_with_shared_parts)
    assert "heldout_entity_overlap" not in report["train"]
    assert (report["heldout"]["heldout_tasks_overlapping"], report["heldout"]["heldout_entity_overlap"]) == (0, 0.0)
    report = realism_statistics(heldout, train)  # h-001 names the e-mail of the train task's customer
    assert (report["heldout"]["heldout_tasks_overlapping"], report["heldout"]["heldout_entity_overlap"]) == (1, 0.333)
    assert list(report) == ["heldout"]


@cache
def shipped_stats() -> dict:
    result = subprocess.run([sys.executable, "-m", "corecraft_env", "tasks", "--stats", "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_stats_json_on_the_shipped_corpus_reports_realism_per_split():
    stats = shipped_stats()
    realism = stats["realism"]
    assert set(realism) == {"train", "heldout"}
    for split, report in realism.items():
        assert report["tasks"] == stats["by_split"][split]
        assert 0 < report["distinct_sentences"] <= report["sentences"]
        for ratio in ("distinct_sentence_ratio", "distinct_masked_sentence_ratio", "deep_chain_share"):
            assert 0.0 <= report[ratio] <= 1.0
        assert report["distinct_masked_sentence_ratio"] <= report["distinct_sentence_ratio"]
        assert 0 < report["distinct_skeletons"] <= report["tasks"]
        assert 1 <= report["longest_chain"] and 0 <= report["boundary_cases"] <= report["tasks"]
        assert set(report["trap_words"]) == {"cheapest", "Eastern", "ET", "New York", "all my orders", "internal id"}
        assert all(0 <= n <= report["tasks"] for n in report["trap_words"].values())
        assert report["requester_id_in_observation"] == 0  # the inbox header names the sender, not the id
        assert set(report["families_repeating_a_skeleton"]) <= set(stats["by_family"])
    assert 0 < realism["heldout"]["heldout_tasks_overlapping"] <= realism["heldout"]["tasks"]


def test_the_shipped_requests_read_like_different_people_wrote_them():
    """Issue #14's targets: varied sentences, no family of 5+ tasks sending the same request skeleton twice, no
    request word for word another's (the personas of ``taskgen/voice.py`` and the families' own phrasings)."""
    for split, report in shipped_stats()["realism"].items():
        assert report["distinct_sentence_ratio"] >= 0.6, split
        assert report["families_repeating_a_skeleton"] == [], split
        assert report["identical_requests"] == 0, split
