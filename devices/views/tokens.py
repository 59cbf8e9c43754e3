"""The API tokens page: users create, list and revoke their own tokens; admins see and revoke everyone's.

A new token's plain text is on the page that answers its creation, once: it is
never stored, never in a redirect's URL, never in the session.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from devices import tokens
from devices.models import ApiScope, ApiToken, scopes_allowed
from devices.models.tokens import parse_networks
from devices.roles import ADMIN


def sees_all_tokens(user) -> bool:
    return user.is_superuser or user.groups.filter(name=ADMIN).exists()


class TokenForm(forms.Form):
    name = forms.CharField(max_length=ApiToken._meta.get_field("name").max_length,
                           help_text="What it is for: the script or the system that uses it.")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=())
    expires_days = forms.IntegerField(label="Expires in (days)", min_value=1, max_value=settings.API_TOKEN_MAX_DAYS,
                                      initial=settings.API_TOKEN_DEFAULT_DAYS)
    allowed_networks = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                       help_text="Optional. One address or network per line (10.0.0.0/8); empty: any.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = scopes_allowed(user)
        # Only what the role allows is offered: a token can never be made stronger than its owner.
        self.fields["scopes"].choices = [(s.value, f"{s.value}: {s.label}") for s in ApiScope if s.value in allowed]

    def clean_allowed_networks(self) -> list[str]:
        return parse_networks(self.cleaned_data["allowed_networks"])


def _tokens_of(user):
    rows = ApiToken.objects.select_related("owner", "revoked_by")
    return rows if sees_all_tokens(user) else rows.filter(owner=user)


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, user=request.user)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            token, plain = tokens.issue(request.user, data["name"], data["scopes"], days=data["expires_days"],
                                        networks=data["allowed_networks"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            created = {"token": token, "plain": plain}
            form = TokenForm(user=request.user)
    return render(request, "devices/tokens/list.html", {
        "form": form, "created": created, "tokens": _tokens_of(request.user),
        "all": sees_all_tokens(request.user),
    }, status=400 if form.errors else 200)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("owner"), pk=pk)
    if token.owner_id != request.user.pk and not sees_all_tokens(request.user):
        raise Http404("There is no API token with this number.")
    if tokens.revoke(token, by=request.user):
        messages.success(request, f"Revoked the token “{token.name}”; it no longer works.")
    else:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    return redirect("devices:tokens")
