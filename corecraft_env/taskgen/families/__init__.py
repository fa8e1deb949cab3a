"""One module per area of support work; importing this package registers every family."""

from . import builds, cancellations, escalations, inbox, knowledge, orders_info, pricing, returns, tickets, warranty  # noqa: F401
