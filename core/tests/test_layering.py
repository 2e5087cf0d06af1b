"""The dependency direction between apps, read from the source with `ast` (non-test code only):
orders -> payments -> core, one way; pricing and products.stock are leaves below cart and orders."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package (or module path) -> top-level packages its non-test code must never import
FORBIDDEN = {
    "payments": {"orders", "cart", "web"},
    "pricing": {"orders", "cart", "payments", "products", "web"},
    "products": {"orders", "cart", "payments", "web"},
    "core": {"orders", "cart", "payments", "web", "pricing", "addresses", "products"},
    "cart": {"orders", "payments", "web"},
    "promotions": {"orders", "cart", "payments", "web"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages `path` imports, however deep the import sits (late imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def source_files(target: str) -> list[Path]:
    path = ROOT / target
    if path.is_file():
        return [path]
    return [p for p in path.rglob("*.py") if "tests" not in p.parts and "migrations" not in p.parts]


@pytest.mark.parametrize("target", sorted(FORBIDDEN))
def test_no_import_against_the_dependency_direction(target):
    files = source_files(target)
    assert files, f"{target} has no source files"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[target]) for path in files
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_the_checker_sees_late_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from orders import services\n    import cart.models\n")
    assert imported_packages(module) == {"orders", "cart"}


def _web_sources() -> list[Path]:
    return source_files("web")


def test_the_storefront_profile_opens_no_transaction():
    """web/ only translates shapes: transactions belong to the services it calls."""
    offenders = []
    for path in _web_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
            if "transaction" in names and node.module == "django.db":
                offenders.append(str(path.relative_to(ROOT)))
            if isinstance(node, ast.Attribute) and node.attr == "atomic":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_storefront_profile_renders_no_error_body():
    """Errors are raised and rendered by core.exceptions.api_exception_handler only: no view in
    web/ builds a Response with a 4xx/5xx status."""
    offenders = []
    for path in _web_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Response"):
                continue
            for keyword in node.keywords:
                text = ast.unparse(keyword.value)
                if keyword.arg == "status" and ("HTTP_4" in text or "HTTP_5" in text or "exc." in text):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_max_id_is_defined_once():
    definitions = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "MAX_ID" for t in node.targets):
                definitions.append(str(path.relative_to(ROOT)))
    assert definitions == ["core/ids.py"]
