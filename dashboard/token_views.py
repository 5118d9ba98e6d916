"""The API tokens page (/tokens): a signed-in user lists, makes and revokes their tokens.
A new token's secret is shown once, on the page that answers its creation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dashboard import access
from dashboard.access_models import ApiToken
from graph.access import narrowed, parse_patterns

EXPIRY_DAYS = (("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "a year"),
               ("", "never"))


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    expires = forms.ChoiceField(choices=EXPIRY_DAYS, initial="30", required=False)
    namespaces = forms.CharField(
        required=False, max_length=2000,
        help_text="Patterns within yours (e.g. bookinfo, team-*); empty: all of yours")

    def __init__(self, *args: Any, user_patterns: tuple[str, ...] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_patterns = user_patterns

    def clean_namespaces(self) -> str:
        text = self.cleaned_data.get("namespaces", "")
        try:
            patterns = parse_patterns(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        kept = narrowed(patterns, self.user_patterns) or ()
        outside = [p for p in patterns if p not in kept]
        if outside:
            raise forms.ValidationError(f"not within your namespaces: {', '.join(outside)}")
        return ", ".join(patterns)


@never_cache  # the page that shows a new token's secret is kept by no cache, nor history
@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    mine = access.user_patterns(request.user)
    form = TokenForm(request.POST or None, user_patterns=mine)
    secret = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires"]
        expires = timezone.now() + timedelta(days=int(days)) if days else None
        _, secret = ApiToken.issue(request.user, form.cleaned_data["name"],
                                   form.cleaned_data["namespaces"], expires)
        form = TokenForm(user_patterns=mine)
    listed = ApiToken.objects.filter(user=request.user)
    return render(request, "account/tokens.html", {
        "form": form, "secret": secret, "tokens": listed,
        "mine": "every namespace" if mine is None else ", ".join(mine) or "none",
        "now": timezone.now()})


@login_required
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
    return redirect("tokens")
