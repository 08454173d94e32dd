"""The sandbox's switches: one dataclass, changeable at runtime with ``Sandbox.configure``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class SandboxOptions:
    """How the sandbox behaves. Every field can be changed while it runs (``configure``)."""

    seed_path: Path | None = None
    """JSON seed file; ``None`` = the bundled ``importer/data/seed.json``."""
    token: str = "sandbox-token"
    """The API token of the seed's ``me_user_id`` (Basic ``TOKEN:api_token``)."""
    rate_limit: float | None = None
    """Requests per second per user (GCRA leaky bucket); over it: 429 + ``Retry-After``."""
    rate_burst: int = 1
    """Bucket capacity: requests allowed back to back before the rate applies."""
    rate_tolerance: float = 0.0
    """Seconds a request may come early and still pass the rate meter (GCRA tolerance τ, on top
    of the burst); 0 = the strict meter."""
    quota: int | None = None
    """Requests per user per organization in a sliding ``quota_window``; over it: 402."""
    quota_window: float = 3600.0
    me_quota: int | None = None
    """Separate bucket for ``/me...`` requests (Toggl: 30 per hour)."""
    latency: float = 0.0
    """Seconds added before every API answer."""
    fail_500: float = 0.0
    """Probability that a write (a create, update or delete of a time entry, and a valid create
    of a project, client or task) answers 500 without applying anything."""
    fail_reset: float = 0.0
    """Probability that the connection of a write is reset (RST) before it is applied."""
    fail_drop: float = 0.0
    """Probability that a write is applied and then the connection closed without an answer
    (not for a write refused with a 4xx)."""
    apply_delay: float = 0.0
    """Seconds a create, update or delete of a time entry is held before it is applied (a slow
    commit, a proxy holding the request); it is applied even if the client has gone."""
    apply_delay_share: float = 1.0
    """Probability that a write is held ``apply_delay`` (thrown with the fault dice)."""
    random_seed: int = 0
    """Seed of the fault dice: the same seed and the same requests give the same faults."""
    page_size_cap: int | None = None
    """Lower every page size (projects, tasks, tags, reports) to at most this many items."""


OPTION_NAMES = frozenset(field.name for field in dataclasses.fields(SandboxOptions))

_NUMBERS = {
    "rate_limit": float,
    "rate_burst": int,
    "rate_tolerance": float,
    "quota": int,
    "quota_window": float,
    "me_quota": int,
    "latency": float,
    "fail_500": float,
    "fail_reset": float,
    "fail_drop": float,
    "apply_delay": float,
    "apply_delay_share": float,
    "random_seed": int,
    "page_size_cap": int,
}
_OPTIONAL = frozenset({"seed_path", "rate_limit", "quota", "me_quota", "page_size_cap"})


def checked_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Option changes with their types checked and converted; ``ValueError`` says what is wrong."""
    unknown = sorted(set(changes) - OPTION_NAMES)
    if unknown:
        raise ValueError(f"unknown sandbox option(s): {', '.join(unknown)}")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            if name not in _OPTIONAL:
                raise ValueError(f"{name} cannot be null")
            clean[name] = None
        elif name == "seed_path":
            clean[name] = Path(value)
        elif name == "token":
            if not isinstance(value, str) or not value:
                raise ValueError("token must be a non-empty string")
            clean[name] = value
        else:
            clean[name] = _number(name, value)
    return clean


def _number(name: str, value: Any) -> float | int:
    kind = _NUMBERS[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if kind is int and not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    number = kind(value)
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    if (name.startswith("fail_") or name == "apply_delay_share") and number > 1:
        raise ValueError(f"{name} is a probability between 0 and 1")
    if name in {"rate_limit", "rate_burst", "quota_window", "page_size_cap"} and number == 0:
        raise ValueError(f"{name} must be above 0")
    return number


def options_json(options: SandboxOptions) -> dict[str, Any]:
    """The options as JSON-ready values (``token`` left out)."""
    data = dataclasses.asdict(options)
    data.pop("token")
    data["seed_path"] = None if options.seed_path is None else str(options.seed_path)
    return data
