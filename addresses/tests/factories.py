import factory

from addresses.models import Address


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory("users.tests.factories.UserFactory")
    full_name = "Ada Lovelace"
    phone = "+15555550100"
    line1 = factory.Sequence(lambda n: f"{n} Main Street")
    city = "Springfield"
    state = "IL"
    postal_code = "62701"
    country = "US"
    is_default = False
