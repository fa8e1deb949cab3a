"""One module per area of support work; importing this package registers every family."""

from . import (  # noqa: F401
    accounts, boundaries, builds, cancellations, catalog, chains, defects, escalations, handoffs, inbox, knowledge, orders_info,
    payments, pricing, reconcile, returns, tickets, warranty,
)
