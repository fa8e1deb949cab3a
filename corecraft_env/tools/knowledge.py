"""The knowledge base and the team's Slack channels."""

from __future__ import annotations

from ..world.schema import SLACK_CHANNELS
from .base import DEFAULT_LIMIT, Db, Filters, array, boolean, entity_id, enum, limit, string, timestamp, tool


@tool(
    "searchKnowledgeBase",
    "Search internal knowledge: knowledge-base articles (policy, troubleshooting, product guides; each with version "
    "and a deprecated flag) and the support team's Slack messages (team practice, ticket discussions). Text search "
    "is case-insensitive on title/body or message text.",
    {
        "query": string("Words to find."),
        "tag": string("Only articles with this tag, e.g. returns, warranty, product-guide.", max_length=60),
        "product_id": entity_id("Only articles that mention this product."),
        "article_id": entity_id("Exact article id, e.g. kb-0003."),
        "include_deprecated": boolean("Include deprecated articles (default true; they are flagged)."),
        "sources": array("Where to search (default both).", enum("Source.", ("articles", "slack")), max_items=2),
        "channel": enum("Only Slack messages from this channel.", SLACK_CHANNELS),
        "since": timestamp("Only Slack messages at or after this time."),
        "limit": limit(20),
    },
)
def search_knowledge_base(db: Db, query=None, tag=None, product_id=None, article_id=None, include_deprecated=True, sources=None,
                          channel=None, since=None, limit=20) -> dict:
    sources = set(sources or ("articles", "slack"))
    result: dict = {}
    if "articles" in sources:
        where = (Filters().contains(("title", "body"), query).has("tags", tag).has("product_ids", product_id).equals("id", article_id)
                 .compare("deprecated", "=", 0 if not include_deprecated else None))
        result["articles"] = db.all(f"SELECT * FROM knowledge_base_article{where.where()} ORDER BY id LIMIT ?", [*where.params, limit])
    if "slack" in sources:
        where = Filters().contains(("text",), query).equals("channel", channel).since("timestamp", since, "since")
        result["slack_messages"] = db.all(f"SELECT * FROM slack_message{where.where()} ORDER BY timestamp DESC, id LIMIT ?",
                                          [*where.params, limit])
    return result


TOOLS = (search_knowledge_base,)
