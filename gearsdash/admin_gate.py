"""The Django admin's login page, for someone already logged in to the console.

Django's admin sends a logged-in user without staff status to its own login
form, which reads as if they were logged out. They get the "Not allowed" page
instead, naming the account they are logged in with.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache


@login_not_required  # the admin's login form stays open to someone not logged in
@never_cache
def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    user = request.user
    if user.is_authenticated and not (user.is_active and user.is_staff):
        return render(request, "403.html", {"reason": "The administration pages are for staff accounts only."},
                      status=403)
    return admin.site.login(request, extra_context)
