"""Sign-in lock-out (django-axes): the backend that checks it and the page a locked-out user sees.

Axes counts failed sign-ins per username and address (settings: AXES_*) and, once the limit is
reached, refuses the next ones before the password is even checked. The page it then shows is
the sign-in page itself (the site's or the admin's), answered 429 with Retry-After: the username
stays filled in and the message says how long to wait.
"""

import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' check, first among the backends. A call without a request is not a sign-in over
    HTTP (the test client's ``login``, a script): axes would refuse it outright, this leaves it to
    the password backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_remaining(request, credentials) -> timedelta:
    """Time until this username may sign in again from this address: the cool-off counts from the
    last failure that was recorded (failures during the lock-out are not, see settings)."""
    cool_off = get_cool_off(request) or timedelta(0)
    last_failure = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials), ip_address=request.axes_ip_address
    ).aggregate(last=Max("attempt_time"))["last"]
    if last_failure is None:
        return cool_off
    return max(timedelta(0), last_failure + cool_off - timezone.now())


def _wait_text(remaining: timedelta) -> str:
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _locked_form(form_class, message: str):
    class LockedOutForm(form_class):
        # Checking the password again would count another failure; the form only reports.
        def clean(self):
            raise forms.ValidationError(message, code="locked_out")

    return LockedOutForm


def lockout_response(request, original_response=None, credentials=None):
    remaining = lockout_remaining(request, credentials)
    message = (
        "Too many failed sign-ins for this username from your address. "
        f"Try again in {_wait_text(remaining)}, or ask an admin to unlock the account."
    )
    if request.path_info == reverse("admin:login"):
        template, form_class = "admin/login.html", AdminAuthenticationForm
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.POST and REDIRECT_FIELD_NAME not in request.GET:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index")
    else:
        template, form_class = "registration/login.html", AuthenticationForm
        context = {REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME, "")}
    form = _locked_form(form_class, message)(request, data=request.POST)
    form.is_valid()  # fills the errors: the message above, never a password check
    response = render(request, template, {**context, "form": form, "lockout": message}, status=429)
    response["Retry-After"] = str(max(1, math.ceil(remaining.total_seconds())))
    return response
