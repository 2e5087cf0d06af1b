from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact


def lower_equals(field: str, value: str) -> Exact:
    """A filter: `field` equals `value` ignoring case, compared as the unique constraints below
    compare (LOWER() of both sides, in the database).

    `__iexact` compares UPPER() on PostgreSQL, which differs from LOWER() for some letters (the
    Kelvin sign lowers to "k" but stays itself in upper case; a dotless i, U+0131, uppers to "I"), so a
    check by `__iexact` could pass where the constraint then refuses the insert, or the reverse.
    """
    return Exact(Lower(field), Lower(Value(value)))


class NovaUserManager(UserManager):
    def get_by_natural_key(self, username):
        return self.get(lower_equals(self.model.USERNAME_FIELD, username))


class User(AbstractUser):
    """Customers and staff. Email is unique case-insensitively; username stays for login by name."""

    email = models.EmailField("email address", max_length=254)

    objects = NovaUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_unique_ci",
                violation_error_message="A user with that email address already exists.",
            ),
            # Login by username is case-insensitive (NovaUserManager.get_by_natural_key), so two
            # usernames differing only in case would make login ambiguous.
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_unique_ci",
                violation_error_message="A user with that username already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.username


class PasswordResetToken(models.Model):
    """A single-use password-reset token; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_reset_tokens")
    # The address the link was mailed to: once the account's email changes, the link is void
    # (it may sit in a mailbox the user no longer controls).
    email = models.EmailField(max_length=254, default="")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"reset token for user {self.user_id}"
