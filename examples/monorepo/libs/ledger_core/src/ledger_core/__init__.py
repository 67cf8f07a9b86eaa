"""Double-entry ledger primitives: a local library that the service imports by name."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import yaml

__version__ = "0.3.0"


@dataclass(frozen=True)
class Entry:
    account: str
    amount: Decimal  # positive = debit, negative = credit


def balance(entries: list[Entry]) -> dict[str, Decimal]:
    """Per-account totals; a well-formed ledger's totals sum to zero."""
    totals: dict[str, Decimal] = {}
    for e in entries:
        totals[e.account] = totals.get(e.account, Decimal(0)) + e.amount
    return totals


def load(text: str) -> list[Entry]:
    """Entries from YAML: a list of {account, amount}."""
    return [Entry(str(row["account"]), Decimal(str(row["amount"]))) for row in yaml.safe_load(text)]
