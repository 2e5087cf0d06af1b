"""Account reads that are more than a one-line queryset."""

from __future__ import annotations

from .models import User, lower_equals


def user_get_by_login_identifier(*, identifier: str) -> User | None:
    """The user a login identifier names: an email (case-insensitive) or a username (case-insensitive).

    An identifier containing "@" is tried as an email first, then as a username (Django's username
    validator allows "@", and staff accounts created with `createsuperuser` may use one).
    """
    identifier = identifier.strip()
    if not identifier:
        return None
    if "@" in identifier:
        user = User.objects.filter(lower_equals("email", identifier)).first()
        if user is not None:
            return user
    return User.objects.filter(lower_equals("username", identifier)).first()


def user_email_taken(*, email: str) -> bool:
    return User.objects.filter(lower_equals("email", email)).exists()


def user_username_taken(*, username: str) -> bool:
    return User.objects.filter(lower_equals("username", username)).exists()
