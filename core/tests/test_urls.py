"""The URL configuration's order is chosen for speed (backend/urls.py: the API's parts under
prefixes of their own, the users' routes at `api/` last among them). That is only safe while no
route shadows another: every named route must resolve back to itself."""

import re

from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

_GROUP = re.compile(r"\(\?P<(\w+)>")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _named_routes(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            text = str(pattern.pattern)
            params = _GROUP.findall(text) + _CONVERTER.findall(text)
            yield f"{namespace}{pattern.name}", params


def test_every_named_route_resolves_back_to_itself():
    routes = list(_named_routes(get_resolver().url_patterns))
    assert len(routes) > 100
    checked = 0
    for name, params in routes:
        if name.startswith("admin:"):
            continue  # Django's own admin routes, mounted last under their own prefix
        path = reverse(name, kwargs=dict.fromkeys(params, 1))
        match = resolve(path)
        assert match.view_name == name, f"{path} resolves to {match.view_name}, not {name}"
        checked += 1
    assert checked > 60


def test_the_hot_catalog_routes_resolve_to_the_catalog_views():
    # The paths the storefront and the canonical API serve most, under their new includes.
    assert resolve("/api/products/").view_name == "product-list"
    assert resolve("/api/products/7/").view_name == "product-detail"
    assert resolve("/api/products/wishlist/").view_name == "wishlist-list"
    assert resolve("/api/products/options/").view_name == "product-option-facets"
    assert resolve("/api/categories/").view_name == "category-list"
    assert resolve("/api/web/products/").view_name == "web-products"
    assert resolve("/api/me/").view_name == "me"
