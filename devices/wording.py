"""What the console says before an action that changes what the cloud enforces, one wording per kind.

The device page's button, each list row's menu, the page that asks without
JavaScript and the bulk confirmation all read this table, so the warning is
the same wherever an operator meets it, and a kind that needs asking is asked
everywhere (the views' check and the templates' hx-confirm come from here).
"""

from __future__ import annotations

from devices.models import ActionKind

CONFIRM_WARNINGS: dict[str, str] = {
    ActionKind.EXEMPT_ALL: "The cloud will stop reporting all issues until the exemption is removed.",
}


def needs_confirming(kind: str) -> bool:
    return kind in CONFIRM_WARNINGS


def confirm_warning(kind: str) -> str:
    """The sentence said before `kind` is queued; empty for a kind queued without asking."""
    return CONFIRM_WARNINGS.get(kind, "")
