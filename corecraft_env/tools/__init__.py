"""The 23 CoreCraft tools and the registry every consumer calls them through.

>>> from corecraft_env.tools import REGISTRY
>>> REGISTRY.call(conn, "getOrderDetails", {"order_id": "ord-250830-110"})

One module per area; each tool is one function with its JSON Schema. See ``registry.ToolRegistry`` for the
calling contract (validation, errors as results, savepoints for writes).
"""

from . import builds, customers, knowledge, orders, payments, products, tickets
from .base import Tool, ToolError
from .registry import ToolRegistry, encode_result, error_result

REGISTRY = ToolRegistry(
    [*customers.TOOLS, *orders.TOOLS, *products.TOOLS, *payments.TOOLS, *tickets.TOOLS, *builds.TOOLS, *knowledge.TOOLS]
)
READ_TOOLS = tuple(t.name for t in REGISTRY if not t.writes)
WRITE_TOOLS = tuple(t.name for t in REGISTRY if t.writes)

__all__ = ["REGISTRY", "READ_TOOLS", "WRITE_TOOLS", "Tool", "ToolError", "ToolRegistry", "encode_result", "error_result"]
