"""Issuing and revoking API tokens, audited: the page, the command and the API's authentication call these."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from devices import audit
from devices.models import ApiToken, AuditEntry, scopes_allowed


def describe(token: ApiToken) -> str:
    """How the audit log names a token: its name and public key, never its secret."""
    return f"token {token.name!r} ({token.key}), scopes {', '.join(token.scopes) or 'none'}"


@transaction.atomic
def issue(owner, name: str, scopes, *, days: int, networks=(), by=None) -> tuple[ApiToken, str]:
    """Create a token for `owner` and return it with its plain text, which is shown once and never stored.

    Scopes beyond the owner's role are refused here as well as voided at each request.
    """
    token, plain = ApiToken.build(owner, name, scopes, days=days, networks=networks)
    beyond = sorted(set(scopes) - scopes_allowed(owner))
    if beyond:
        raise ValidationError(f"{owner.username}'s role does not allow: {', '.join(beyond)}.")
    token.full_clean(exclude=["key", "digest"])
    token.save()
    audit.record(AuditEntry.Verb.TOKEN_CREATED, by or owner, detail=f"{describe(token)} for {owner.username}")
    return token, plain


def revoke(token: ApiToken, *, by) -> bool:
    """Revoke a token that is not revoked yet; False when it already was."""
    with transaction.atomic():
        now = timezone.now()
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=by if getattr(by, "pk", None) else None)
        if changed:
            token.revoked_at = now
            audit.record(AuditEntry.Verb.TOKEN_REVOKED, by, detail=f"{describe(token)} of {token.owner.username}")
    return bool(changed)


def note_use(token: ApiToken, address: str) -> None:
    """Record a request's use of `token`; a new address is audited."""
    if token.note_use(address):
        audit.record(AuditEntry.Verb.TOKEN_NEW_ADDRESS, token.owner, detail=f"{describe(token)} from {address}")
