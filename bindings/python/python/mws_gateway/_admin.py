"""The admin operations' request bodies, shared by the sync and async admins."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Dict, Optional, Tuple, Union

Amount = Union[int, float, str, Decimal]

# (operation, account or key id, body), as _native.Gateway.admin takes them.
Op = Tuple[str, Optional[str], Optional[Dict[str, Any]]]


def create_account(name: str) -> Op:
    return ("create_account", None, {"name": name})


def account(account_id: str) -> Op:
    return ("account", account_id, None)


def add_credits(account_id: str, amount_usd: Amount) -> Op:
    # Numbers pass as JSON numbers (the core reads up to 9 decimals from their
    # text); a Decimal passes as its exact text.
    amount: Union[int, float, str] = (
        str(amount_usd) if isinstance(amount_usd, Decimal) else amount_usd
    )
    return ("add_credits", account_id, {"amount_usd": amount})


def set_plan(account_id: str, plan: Optional[str]) -> Op:
    return ("set_plan", account_id, {"plan": plan})


def create_key(account_id: str, name: str, rpm: Optional[int], tpm: Optional[int]) -> Op:
    body: Dict[str, Any] = {"name": name}
    if rpm is not None:
        body["rpm"] = rpm
    if tpm is not None:
        body["tpm"] = tpm
    return ("create_key", account_id, body)


def list_keys(account_id: str) -> Op:
    return ("list_keys", account_id, None)


def set_key_throttle(key_id: str, rpm: Optional[int], tpm: Optional[int]) -> Op:
    # Both fields always: the key's throttle becomes exactly (rpm, tpm), None
    # meaning no limit of its own.
    return ("set_key_throttle", key_id, {"rpm": rpm, "tpm": tpm})


def revoke_key(key_id: str) -> Op:
    return ("revoke_key", key_id, None)


def usage(account_id: str) -> Op:
    return ("usage", account_id, None)


def deployments() -> Op:
    return ("deployments", None, None)
