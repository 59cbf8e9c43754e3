"""API tokens: a random secret shown once, kept only as a keyed hash, with scopes, an expiry and networks.

The secret is `gd_<key>_<secret>`: the key (public, unique) finds the row, the
secret's HMAC (keyed from SECRET_KEY, see `ApiToken.digest_of`) proves it.
What a token may do is its scopes *and* what its owner's role allows at the
moment of the request (`devices.api.auth`): a demoted user's tokens lose their
power at once, without anyone editing them.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from devices.validators import validate_one_line

PREFIX = "gd_"
KEY_LENGTH = 12  # hex characters of the public key
# The HMAC's salt: the same SECRET_KEY keys nothing else with this purpose.
_DIGEST_SALT = "gearsdash.api-token"
# last_used_at is written at most this often: a busy script is not one UPDATE per request.
LAST_USED_EVERY = timedelta(minutes=1)


class ApiScope(models.TextChoices):
    DEVICES_READ = "devices:read", "Read devices"
    DEVICES_WRITE = "devices:write", "Create, change and delete devices"
    ACTIONS_WRITE = "actions:write", "Queue, cancel and retry actions and bulk jobs"
    EXEMPTIONS_WRITE = "exemptions:write", "Exempt and unexempt devices"
    REMEDIATION_READ = "remediation:read", "Read remediation links"
    AUDIT_READ = "audit:read", "Read the audit log"


# The role permission each scope needs (devices.roles): a scope the owner's role lacks is void.
SCOPE_PERMISSION: dict[str, str] = {
    ApiScope.DEVICES_READ: "devices.view_device",
    ApiScope.DEVICES_WRITE: "devices.change_device",
    ApiScope.ACTIONS_WRITE: "devices.trigger_actions",
    ApiScope.EXEMPTIONS_WRITE: "devices.trigger_actions",
    ApiScope.REMEDIATION_READ: "devices.view_device",
    ApiScope.AUDIT_READ: "devices.view_device",
}


def scopes_allowed(user) -> set[str]:
    """The scopes `user`'s role grants now (none for an inactive user)."""
    if not getattr(user, "is_active", False):
        return set()
    return {scope for scope, perm in SCOPE_PERMISSION.items() if user.has_perm(perm)}


def parse_networks(text: str) -> list[str]:
    """Networks one per line (or separated by spaces or commas), as canonical CIDR; ValidationError names a bad one."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValidationError(f"{item[:60]!r} is not an IP address or network (like 10.0.0.0/8).") from None
    return list(dict.fromkeys(networks))


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ApiToken(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, validators=[validate_one_line])
    key = models.CharField(max_length=KEY_LENGTH, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False, help_text="HMAC-SHA256 of the secret; the secret is never stored.")
    scopes = models.JSONField(default=list)
    allowed_networks = models.JSONField(default=list, blank=True, help_text="CIDRs; empty: any address.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="api_token_named"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="api_token_expires_after_creation"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({PREFIX}{self.key}…)"

    @staticmethod
    def digest_of(secret: str) -> str:
        return salted_hmac(_DIGEST_SALT, secret, algorithm="sha256").hexdigest()

    @classmethod
    def build(cls, owner, name: str, scopes, *, days: int, networks=()) -> tuple[ApiToken, str]:
        """A new token (not saved) and its one-time plain text `gd_<key>_<secret>`."""
        unknown = sorted(set(scopes) - set(ApiScope.values))
        if unknown:
            raise ValidationError(f"Unknown scope(s): {', '.join(unknown)}.")
        if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
            raise ValidationError(f"A token expires in 1 to {settings.API_TOKEN_MAX_DAYS} days.")
        key, secret = secrets.token_hex(KEY_LENGTH // 2), secrets.token_urlsafe(32)
        token = cls(owner=owner, name=name, key=key, digest=cls.digest_of(secret),
                    scopes=sorted(set(scopes)), allowed_networks=list(networks),
                    expires_at=timezone.now() + timedelta(days=days))
        return token, f"{PREFIX}{key}_{secret}"

    @staticmethod
    def split(plain: str) -> tuple[str, str] | None:
        """(key, secret) of a presented token, or None when it is not one of ours in shape."""
        if not plain.startswith(PREFIX):
            return None
        key, _, secret = plain[len(PREFIX):].partition("_")
        if len(key) != KEY_LENGTH or not secret:
            return None
        return key, secret

    def matches(self, secret: str) -> bool:
        return constant_time_compare(self.digest, self.digest_of(secret))

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_usable() else "expired"

    def admits(self, address: str) -> bool:
        """Whether a request from `address` may use this token (no networks: any)."""
        if not self.allowed_networks:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(net) for net in self.allowed_networks)

    def effective_scopes(self) -> set[str]:
        """Its scopes, capped by what the owner's role allows now."""
        return set(self.scopes) & scopes_allowed(self.owner)

    def note_use(self, address: str, now: datetime | None = None) -> bool:
        """Record a use, at most once a minute per token; True when `address` differs from the last one recorded.

        A conditional UPDATE, so concurrent requests write it once.
        """
        now = now or timezone.now()
        new_address = bool(address) and address != self.last_used_from
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
        if new_address:
            stale |= ~Q(last_used_from=address) | Q(last_used_from__isnull=True)
        written = ApiToken.objects.filter(stale, pk=self.pk).update(last_used_at=now, last_used_from=address or None)
        if written:
            self.last_used_at, self.last_used_from = now, address or None
        return bool(written) and new_address


# How long a token's Idempotency-Key is remembered.
IDEMPOTENCY_TTL = timedelta(hours=24)


class IdempotentRequest(models.Model):
    """A POST made with an Idempotency-Key: what was asked (a fingerprint) and, once done, what was answered.

    `status_code` is null while the first request is in flight: a repeat then gets 409.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    created_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    location = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="one_request_per_idempotency_key")]
        indexes = [models.Index(fields=["token", "created_at"], name="idempotency_age_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in flight'})"
