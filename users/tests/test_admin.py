import pytest

from users.models import PasswordResetToken, User
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_user_changelist_lists_and_searches(admin_client):
    UserFactory(email="findme@example.com", username="findme")
    UserFactory(email="hidden@example.com", username="hidden")

    response = admin_client.get("/admin/users/user/", {"q": "findme"})

    assert response.status_code == 200
    assert b"findme@example.com" in response.content
    assert b"hidden@example.com" not in response.content


def test_user_filters_work(admin_client):
    UserFactory(email="staffer@example.com", is_staff=True)
    UserFactory(email="customer@example.com")

    response = admin_client.get("/admin/users/user/", {"is_staff__exact": "0"})

    assert response.status_code == 200
    assert b"customer@example.com" in response.content
    assert b"staffer@example.com" not in response.content


def test_admin_adds_a_user_with_an_email(admin_client):
    response = admin_client.post(
        "/admin/users/user/add/",
        {
            "email": "added@example.com",
            "username": "added",
            "first_name": "",
            "last_name": "",
            "usable_password": "true",
            "password1": "Admin-made-pass-1",
            "password2": "Admin-made-pass-1",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="added")
    assert user.email == "added@example.com"
    assert user.check_password("Admin-made-pass-1")


def test_admin_add_refuses_an_email_taken_in_another_case(admin_client):
    UserFactory(email="taken@example.com")

    response = admin_client.post(
        "/admin/users/user/add/",
        {
            "email": "TAKEN@example.com",
            "username": "another",
            "usable_password": "true",
            "password1": "Admin-made-pass-1",
            "password2": "Admin-made-pass-1",
        },
    )

    assert response.status_code == 200
    assert b"A user with that email address already exists." in response.content
    assert not User.objects.filter(username="another").exists()


def test_reset_tokens_are_view_only_and_never_show_the_hash(admin_client, user):
    token = PasswordResetToken.objects.create(user=user, token_hash="f" * 64, expires_at="2999-01-01T00:00Z")

    changelist = admin_client.get("/admin/users/passwordresettoken/")
    detail = admin_client.get(f"/admin/users/passwordresettoken/{token.pk}/change/")
    add = admin_client.get("/admin/users/passwordresettoken/add/")

    assert changelist.status_code == 200
    assert user.email.encode() in changelist.content
    assert b"pending" in changelist.content
    assert detail.status_code == 200
    for response in (changelist, detail):
        assert b"f" * 64 not in response.content
        assert b"token_hash" not in response.content
    assert add.status_code == 403
    response = admin_client.post(f"/admin/users/passwordresettoken/{token.pk}/change/", {"used_at": ""})
    assert response.status_code == 403
