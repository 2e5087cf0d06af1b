"""Account writes: registration, profile, passwords, password reset and refresh-token revocation.

Errors are Django `ValidationError({field: [...]})`, which the API renders as `{"field": [...]}`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from core.background import task_enqueue_on_commit
from core.emails import email_send_on_commit

from .models import PasswordResetToken, User, lower_equals
from .selectors import user_email_taken, user_username_taken
from .tasks import password_reset_send_task

logger = logging.getLogger(__name__)

EMAIL_TAKEN = "A user with that email address already exists."
USERNAME_TAKEN = "A user with that username already exists."
USERNAME_NO_AT = "A username cannot contain '@'."
OLD_PASSWORD_WRONG = "Your old password was entered incorrectly."
RESET_TOKEN_INVALID = "This password reset link is invalid or has expired."

# Characters Django's UnicodeUsernameValidator refuses (it allows letters, digits and @.+-_);
# "@" is dropped too, so a derived username never looks like an email.
_USERNAME_DISALLOWED = re.compile(r"[^\w.+-]")
_USERNAME_MAX = User._meta.get_field("username").max_length
_USERNAME_CREATE_ATTEMPTS = 5


def _password_errors(password: str, *, user: User) -> list[str]:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _username_from_email(email: str) -> str:
    """The email's local part cleaned to a valid username, with a number appended if taken."""
    local = email.rsplit("@", 1)[0]
    base = _USERNAME_DISALLOWED.sub("", local)[: _USERNAME_MAX - 10] or "user"
    # LOWER() in the database, as the unique constraint compares (users.models.lower_equals).
    taken = set(
        User.objects.annotate(lowered=Lower("username"))
        .filter(lowered__startswith=Lower(Value(base)))
        .values_list("lowered", flat=True)
    )
    if base.lower() not in taken:
        return base
    number = 1
    while f"{base}{number}".lower() in taken:
        number += 1
    return f"{base}{number}"


def _username_errors(username: str) -> list[str]:
    try:
        User._meta.get_field("username").clean(username, None)
    except ValidationError as exc:
        return list(exc.messages)
    if "@" in username:
        return [USERNAME_NO_AT]
    if user_username_taken(username=username):
        return [USERNAME_TAKEN]
    return []


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str,
    username: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Register a customer account.

    The email is unique case-insensitively (also a database constraint, which decides a race
    between two registrations of the same address: the loser gets the same 400). Without a
    username one is derived from the email's local part.
    """
    email = User.objects.normalize_email((email or "").strip())
    username = username.strip() if username is not None else None
    errors: dict[str, list[str]] = {}

    try:
        validate_email(email)
    except ValidationError as exc:
        errors["email"] = list(exc.messages)
    else:
        if user_email_taken(email=email):
            errors["email"] = [EMAIL_TAKEN]

    if username is not None and (username_errors := _username_errors(username)):
        errors["username"] = username_errors
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        try:
            User._meta.get_field(field).run_validators(value)
        except ValidationError as exc:
            errors[field] = list(exc.messages)

    user = User(
        email=email,
        username=username or _username_from_email(email),
        first_name=first_name,
        last_name=last_name,
    )
    if password_errors := _password_errors(password, user=user):
        errors["password"] = password_errors
    if errors:
        raise ValidationError(errors)

    user.set_password(password)
    for _attempt in range(_USERNAME_CREATE_ATTEMPTS):
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            # A concurrent registration won a unique constraint between our checks and the insert.
            if user_email_taken(email=email):
                raise ValidationError({"email": [EMAIL_TAKEN]})
            if username is None and user_username_taken(username=user.username):
                user.username = _username_from_email(email)
                continue
            if user_username_taken(username=user.username):
                raise ValidationError({"username": [USERNAME_TAKEN]})
            raise
        logger.info("user registered", extra={"user_id": user.pk})
        return user
    raise ValidationError({"username": [USERNAME_TAKEN]})


@transaction.atomic
def user_update_profile(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """Change the names; `None` leaves a name as it is."""
    changed: list[str] = []
    errors: dict[str, list[str]] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is None:
            continue
        try:
            User._meta.get_field(field).run_validators(value)
        except ValidationError as exc:
            errors[field] = list(exc.messages)
            continue
        setattr(user, field, value)
        changed.append(field)
    if errors:
        raise ValidationError(errors)
    if changed:
        user.save(update_fields=changed)
    return user


def user_blacklist_refresh_tokens(*, user: User) -> int:
    """Blacklist every unexpired refresh token issued to `user`; returns how many were added.

    Access tokens are not tracked by simplejwt, so one already issued stays valid until it
    expires (ACCESS_TOKEN_LIFETIME).

    Run inside a transaction: the rows are locked, in id order, before their blacklist entries are
    written, as a refresh or a logout locks its one row (users.serializers), so none of them can
    deadlock with this.
    """
    locked = list(
        OutstandingToken.objects.select_for_update()
        .filter(user=user, expires_at__gt=timezone.now())
        .order_by("id")
        .values_list("id", flat=True)
    )
    outstanding = list(
        OutstandingToken.objects.filter(id__in=locked, blacklistedtoken__isnull=True).only("id")
    )
    # ignore_conflicts: a blacklist entry written without the lock (simplejwt used directly).
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(outstanding)


def _reset_tokens_retire(*, user: User, now) -> None:
    PasswordResetToken.objects.filter(user=user, used_at__isnull=True).update(used_at=now)


@transaction.atomic
def user_change_password(*, user: User, old_password: str, new_password: str) -> User:
    """Change the password after checking the old one; signs out every refresh token of the user
    and retires pending password-reset links.

    The user's row is locked and the old password checked against it, so of two concurrent changes
    the second sees the first one's password (and fails its check) instead of both answering done.
    """
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if not user.check_password(old_password):
        raise ValidationError({"old_password": [OLD_PASSWORD_WRONG]})
    if password_errors := _password_errors(new_password, user=user):
        raise ValidationError({"new_password": password_errors})
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _reset_tokens_retire(user=user, now=timezone.now())
    revoked = user_blacklist_refresh_tokens(user=user)
    logger.info("password changed", extra={"user_id": user.pk, "revoked_count": revoked})
    return user


def tokens_flush_expired() -> int:
    """Delete what can no longer be used: refresh tokens past their expiry, with their blacklist
    entries (simplejwt's `flushexpiredtokens`), and password-reset tokens past theirs. Returns how
    many reset tokens went. Run daily by beat (`users.tasks.flush_expired_tokens`): every sign-in and
    refresh adds an outstanding token, every rotation a blacklist entry."""
    call_command("flushexpiredtokens", verbosity=0)
    deleted, _ = PasswordResetToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_reset_uid(*, user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def password_reset_request(*, email: str) -> None:
    """Queue the password-reset mail for `email`; the worker decides whether there is an account.

    The request itself neither looks the address up nor makes a token, so its answer (status, body
    and time) is the same whether or not an account uses the email, and a broker failure is logged,
    never raised (`core.background`). The address is the task's only argument and is kept out of
    task logs (`kwargsrepr`).
    """
    task_enqueue_on_commit(
        password_reset_send_task,
        kwargs={"email": (email or "").strip()},
        kwargsrepr=repr({"email": "<hidden>"}),
    )


@transaction.atomic
def password_reset_send(*, email: str) -> None:
    """In the worker: email a single-use reset link to the active account with this email, if there
    is one (nothing otherwise).

    Only the SHA-256 of the token is stored; the token itself exists only in the email.
    """
    user = User.objects.filter(lower_equals("email", (email or "").strip()), is_active=True).first()
    if user is None:
        return
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    timeout = int(getattr(settings, "PASSWORD_RESET_TIMEOUT", 3600))
    PasswordResetToken.objects.create(
        user=user,
        email=user.email,
        token_hash=_token_hash(token),
        expires_at=now + timedelta(seconds=timeout),
    )
    reset_url = f"{settings.FRONTEND_URL}/reset-password/{password_reset_uid(user=user)}/{token}"
    email_send_on_commit(
        to=[user.email],
        subject="Reset your NovaCart password",
        template="password_reset",
        context={
            "name": user.first_name or user.username,
            "reset_url": reset_url,
            "valid_minutes": max(timeout // 60, 1),
        },
    )
    logger.info("password reset requested", extra={"user_id": user.pk})


def _uid_to_pk(uid: str) -> str | None:
    try:
        return force_str(urlsafe_base64_decode(uid))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


@transaction.atomic
def password_reset_confirm(*, token: str, password: str, uid: str | None = None) -> User:
    """Set a new password with a reset token: the token is used up, every other pending reset
    link of the user is retired and all the user's refresh tokens are blacklisted.

    The token row is locked, so two concurrent confirms of the same token cannot both succeed.
    An invalid password leaves the token unused (the transaction rolls back).
    """
    invalid = ValidationError({"token": [RESET_TOKEN_INVALID]})
    if not token:
        raise invalid
    reset = (
        PasswordResetToken.objects.select_for_update()
        .filter(token_hash=_token_hash(token))
        .select_related("user")
        .first()
    )
    now = timezone.now()
    if (
        reset is None
        or reset.used_at is not None
        or reset.expires_at <= now
        or not reset.user.is_active
        or reset.email != reset.user.email  # mailed to an address the account no longer has
    ):
        raise invalid
    if uid and _uid_to_pk(uid) != str(reset.user_id):
        raise invalid

    user = reset.user
    if password_errors := _password_errors(password, user=user):
        raise ValidationError({"password": password_errors})
    user.set_password(password)
    user.save(update_fields=["password"])
    _reset_tokens_retire(user=user, now=now)
    revoked = user_blacklist_refresh_tokens(user=user)
    logger.info("password reset completed", extra={"user_id": user.pk, "revoked_count": revoked})
    return user
