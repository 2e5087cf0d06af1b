import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The production hasher (PBKDF2, ~1M iterations) makes every login/registration in a test
    # take a noticeable fraction of a second; what these tests check does not depend on it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
