"""Swagger UI and ReDoc are served from the app itself (drf-spectacular-sidecar): the pages load
their scripts, styles and icons from our static URLs, each of which exists, and name no other host."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)\"""")


@pytest.mark.parametrize(
    ("path", "bundle"),
    [
        ("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_pages_load_every_asset_from_our_static_files(path, bundle, settings):
    response = Client().get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET.findall(html)
    static = f"/{settings.STATIC_URL.strip('/')}/"
    assert f"{static}{bundle}" in assets
    for asset in assets:
        assert asset.startswith(static), asset  # no CDN, no font service, no other host
        assert finders.find(asset.removeprefix(static)), asset
    assert not re.search(r"https?://(?!localhost|testserver)", html.split("<body", 1)[0])
