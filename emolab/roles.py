"""The three roles and the checks every view and API endpoint uses.

- admin: a staff user (``is_staff``); starts training jobs, manages everything.
- researcher: member of the ``researcher`` group; reads reports, brings corpora and recordings,
  creates relabelling campaigns.
- assessor: member of the ``assessor`` group; sees only the labelling pages of their campaigns.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

ASSESSOR_GROUP = "assessor"
RESEARCHER_GROUP = "researcher"
ROLE_GROUPS = (ASSESSOR_GROUP, RESEARCHER_GROUP)


def _in_group(user, group_name: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    cache = getattr(user, "_emolab_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._emolab_groups = cache
    return group_name in cache


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


def is_researcher(user) -> bool:
    """Researchers and admins: may read reports and manage campaigns."""
    return is_admin(user) or _in_group(user, RESEARCHER_GROUP)


def is_assessor(user) -> bool:
    return _in_group(user, ASSESSOR_GROUP)


def role_context(request):
    """Template context: which navigation a user sees."""
    user = request.user
    return {
        "user_is_admin": is_admin(user),
        "user_is_researcher": is_researcher(user),
        "user_is_assessor": is_assessor(user),
    }


def researcher_required(view):
    """Page decorator: sign-in redirect for anonymous users, 403 for other roles."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_researcher(request.user):
            raise PermissionDenied("Researchers and admins only.")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied("Admins only.")
        return view(request, *args, **kwargs)

    return wrapper


class IsResearcher(BasePermission):
    """Researchers and admins."""

    message = "Researchers and admins only."

    def has_permission(self, request, view):
        return is_researcher(request.user)


class IsAdminOrReadOnlyResearcher(BasePermission):
    """Admins may do anything; researchers may only read; everyone else is refused."""

    message = "Admins only; researchers may read."

    def has_permission(self, request, view):
        if is_admin(request.user):
            return True
        return request.method in ("GET", "HEAD", "OPTIONS") and is_researcher(request.user)
