from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def links_keep_their_address(apps, schema_editor):
    """Links mailed before this release were mailed to the account's current address."""
    PasswordResetToken = apps.get_model("users", "PasswordResetToken")
    User = apps.get_model("users", "User")
    PasswordResetToken.objects.update(
        email=Subquery(User.objects.filter(pk=OuterRef("user_id")).values("email")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_user_constraints_ci"),
    ]

    operations = [
        migrations.AddField(
            model_name="passwordresettoken",
            name="email",
            field=models.EmailField(default="", max_length=254),
        ),
        migrations.RunPython(links_keep_their_address, migrations.RunPython.noop),
    ]
