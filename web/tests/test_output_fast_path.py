"""The storefront list's plain rows (`web_product_rows_output` over `values_list`) stay equal to
`WebProductSerializer` over model instances, the serializer it replaces in the response (and the
schema): same keys and order, prices as JSON numbers, absolute image URLs or null, any text."""

from decimal import Decimal

import pytest
from django.http import QueryDict
from rest_framework.renderers import JSONRenderer

from products import selectors as product_selectors
from products.tests.factories import CategoryFactory, ProductFactory
from web.serializers import WebProductSerializer

from .conftest import image_file, url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query", ["", "?sort=price", "?sort=-price&brand=Penguin", "?min_price=1&max_price=100"]
)
def test_storefront_list_bytes_equal_the_serializer(api_client, query):
    books = CategoryFactory(name="Books", slug="books")
    with_image = ProductFactory(name="Dune", brand="Penguin", price=Decimal("19.9"), category=books)
    with_image.image.save("dune cover.png", image_file("dune.png"), save=True)
    ProductFactory(
        name="Atlas «big»", brand="Penguin", price=Decimal("1234567.5"), description="", category=None
    )
    ProductFactory(name="Free", brand="", price=Decimal("0"), description="Line\nbreak ✓")
    ProductFactory(name="Gone", is_active=False)

    response = api_client.get(url(f"/products/{query}"))
    assert response.status_code == 200
    filters = QueryDict(query.lstrip("?"))
    products = product_selectors.product_list(filters=filters, user=None)
    reference = WebProductSerializer(
        list(products), many=True, context={"request": response.wsgi_request}
    ).data
    assert response.content == JSONRenderer().render(reference)
    body = response.json()
    assert body and "Gone" not in [row["subtitle"] for row in body]
    if query == "":
        assert any(
            row["image"] and row["image"].startswith("http://testserver/media/products/") for row in body
        )
