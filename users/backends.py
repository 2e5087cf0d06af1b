"""Authentication backends (settings.AUTHENTICATION_BACKENDS), in order:

1. `LockoutBackend`: django-axes' lockout check. It authenticates nobody; it refuses an HTTP login
   attempt from a username or client IP that failed too often (AXES_* settings).
2. `EmailOrUsernameBackend`: Django's model backend, with the login identifier read as an email or
   a username (case-insensitive), as the API's `/api/token/` does, so staff can sign in to the
   admin with either.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend

from .models import User
from .selectors import user_get_by_login_identifier


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check, for logins made over HTTP only: an `authenticate()` call without a request
    (a management command, the shell, a data migration) has nothing to lock out and is not an attack
    surface, where axes itself would raise `AxesBackendRequestParameterRequired`."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class EmailOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        identifier = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if not identifier or password is None:
            return None
        user = user_get_by_login_identifier(identifier=identifier)
        if user is None:
            # Run the hasher once anyway, so an unknown identifier takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def lockout_username(request, credentials) -> str:
    """AXES_USERNAME_CALLABLE: the account a login attempt names, whichever way it was typed (email or
    username, any case), so switching spelling does not buy fresh attempts; an unknown identifier
    counts under itself, lower-cased."""
    identifier = (credentials or {}).get("username")
    if identifier is None:
        identifier = request.POST.get("username", "") if hasattr(request, "POST") else ""
    identifier = str(identifier).strip()
    user = user_get_by_login_identifier(identifier=identifier) if identifier else None
    return (user.get_username() if user is not None else identifier).lower()
