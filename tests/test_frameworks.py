"""What every framework relies on, in-process: header names in any case, apps that do not
speak lifespan, route templates from each framework, and raw paths without identifiers.

The same behaviour through real servers (uvicorn in a subprocess) is in test_examples.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from support import CATEGORIES, SECRET, set_cookies, visit

from consentkit import ConfigurationError, ConsentMiddleware, open_store
from consentkit.errors import ConfigurationWarning

pytestmark = pytest.mark.anyio

PAGES = {"metrics": ["pageviews"], "dimensions": ["event:page"], "date_range": "all"}


def options(store_url: str, **extra: object) -> dict[str, object]:
    return {
        "secret_key": SECRET,
        "store": store_url,
        "categories": CATEGORIES,
        "flush_interval": 3600,
        **extra,
    }


def counted_pages(store_url: str) -> dict[str, int]:
    store = open_store(store_url)
    try:
        rows = store.query(PAGES)["results"]
    finally:
        store.close()
    return {row["dimensions"][0]: row["metrics"][0] for row in rows}


async def django_like(scope, receive, send):
    """An ASGI app as Django is: title-case header names, and no lifespan."""
    if scope["type"] != "http":
        raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"Content-Type", b"text/html; charset=utf-8"),
                (b"Vary", b"Accept-Language"),
                (b"Set-Cookie", b"_fbp=fb.1.2; Path=/"),
                (b"Set-Cookie", b"sessionid=abc; Path=/"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"<p>page</p>"})


async def test_title_case_headers_are_enforced_and_varied(store_url):
    app = ConsentMiddleware(django_like, **options(store_url))
    async with visit(app) as browser:
        before = await browser.get("/page")
        assert "_fbp" not in set_cookies(before)  # declared marketing cookie, not granted
        assert "sessionid" in set_cookies(before)  # undeclared: allowed by default
        assert before.headers["vary"] == "Accept-Language, Cookie"
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        after = await browser.get("/page")
        assert "_fbp" in set_cookies(after)
    assert counted_pages(store_url) == {"/page": 1}


async def test_an_app_without_lifespan_still_gets_start_up_and_the_last_flush(store_url):
    app = ConsentMiddleware(django_like, **options(store_url))
    async with LifespanManager(app) as manager:  # raises if start-up is never completed
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as browser:
            await browser.post("/consentkit/consent", json={"action": "accept_all"})
            for _ in range(3):
                await browser.get("/orders/12345")
        assert counted_pages(store_url) == {}  # buffered (flush_interval=3600)
    assert counted_pages(store_url) == {"/orders/{id}": 3}  # flushed at shutdown


async def test_an_app_that_returns_from_lifespan_at_once_is_covered_too(store_url):
    async def silent(scope, receive, send):
        if scope["type"] == "lifespan":
            return
        await django_like(scope, receive, send)

    app = ConsentMiddleware(silent, **options(store_url))
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.get("/x")
    assert counted_pages(store_url) == {"/x": 1}


async def test_an_app_whose_start_up_fails_still_fails(store_url):
    async def broken(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    app = ConsentMiddleware(broken, **options(store_url))
    incoming = [{"type": "lifespan.startup"}]
    told: list[dict] = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        told.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert told == [{"type": "lifespan.startup.failed", "message": "no database"}]


@pytest.mark.parametrize(
    ("path", "stored"),
    [
        ("/users/alice@example.com", "/users/{id}"),
        ("/users/alice%40example.com/settings", "/users/{id}/settings"),
        ("/orders/8f14e45fceea167a5a36dedd4bea2543", "/orders/{id}"),
        ("/orders/12345/lines/7", "/orders/{id}/lines/{id}"),
        ("/t/550e8400-e29b-41d4-a716-446655440000", "/t/{id}"),
        ("/reset/eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIn0", "/reset/{id}"),
        ("/blog/hello-world", "/blog/hello-world"),
        ("/docs/python-3-12-notes", "/docs/python-3-12-notes"),
    ],
)
async def test_raw_paths_are_stored_without_identifiers(sqlite_url, path, stored):
    app = ConsentMiddleware(django_like, **options(sqlite_url))
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.get(path)
    assert counted_pages(sqlite_url) == {stored: 1}
    raw = Path(sqlite_url.removeprefix("sqlite:///"))
    blob = b"".join(p.read_bytes() for p in raw.parent.glob(raw.name + "*"))
    for secret in ("alice", "8f14e45f", "12345", "550e8400", "eyJhbGci"):
        if secret in path:
            assert secret.encode() not in blob


async def test_the_page_option_names_the_page(store_url):
    def page(scope):
        return "/custom" if scope["path"].startswith("/x") else None

    app = ConsentMiddleware(django_like, **options(store_url, page=page))
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.get("/x/1")
        await browser.get("/y/22222")
    assert counted_pages(store_url) == {"/custom": 1, "/y/{id}": 1}


async def test_litestar_route_templates_are_counted(store_url):
    from litestar import Litestar, MediaType, get
    from litestar.params import FromPath

    @get("/items/{item_id:int}", media_type=MediaType.HTML)
    async def item(item_id: FromPath[int]) -> str:
        return f"<p>{item_id}</p>"

    app = ConsentMiddleware(Litestar([item]), **options(store_url))
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.get("/items/1")
        await browser.get("/items/2")
    assert counted_pages(store_url) == {"/items/{item_id}": 2}


async def test_starlette_route_templates_are_counted_without_convertors(store_url):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Mount, Route

    async def item(request):
        return HTMLResponse("<p>item</p>")

    inner = Starlette(routes=[Route("/items/{item_id:int}", item)])
    app = Starlette(routes=[Mount("/shop", app=inner)])
    app.add_middleware(ConsentMiddleware, **options(store_url))
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.get("/shop/items/1")
        await browser.get("/shop/items/2")
    assert counted_pages(store_url) == {"/shop/items/{item_id}": 2}


async def test_litestar_middleware_list_fails_at_start_up_saying_what_to_do(store_url):
    from litestar import Litestar, get
    from litestar.middleware import DefineMiddleware

    @get("/")
    async def home() -> str:
        return "home"

    with pytest.raises(ConfigurationError, match=r"ConsentMiddleware\(Litestar\("):
        Litestar([home], middleware=[DefineMiddleware(ConsentMiddleware, **options(store_url))])


async def test_quart_url_rules_are_counted(store_url):
    from quart import Quart, request

    quart = Quart(__name__)

    @quart.get("/items/<int:item_id>")
    async def item(item_id: int) -> str:
        return f"<p>{item_id} {request.scope['state']['consent'].decided}</p>"

    quart.asgi_app = ConsentMiddleware(quart.asgi_app, **options(store_url))  # type: ignore
    async with visit(quart) as browser:  # type: ignore[arg-type]
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        response = await browser.get("/items/3")
        assert response.text == "<p>3 True</p>"
    assert counted_pages(store_url) == {"/items/{item_id}": 1}


def test_a_short_secret_fails_at_start_up_with_how_to_make_one(sqlite_url):
    with pytest.raises(ConfigurationError, match=r"at least 32 characters.*token_urlsafe"):
        ConsentMiddleware(None, secret_key="change-me", store=sqlite_url)  # type: ignore
    with pytest.raises(ConfigurationError, match="at least 32"):
        ConsentMiddleware(None, secret_key=[SECRET, "short"], store=sqlite_url)  # type: ignore


def test_no_analytics_category_warns_that_nothing_will_be_counted(sqlite_url):
    with pytest.warns(ConfigurationWarning, match="no page view will ever be counted"):
        ConsentMiddleware(
            None,
            secret_key=SECRET,
            store=sqlite_url,  # type: ignore
            categories=["marketing"],
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ConsentMiddleware(
            None,
            secret_key=SECRET,
            store=sqlite_url,  # type: ignore
            categories=["marketing"],
            count_refused=True,
        )


def test_servers_and_adapters_see_an_asgi_3_app(sqlite_url):
    """The middleware's ``__call__`` hands page requests' awaitables straight to the
    server; what servers inspect to tell ASGI 3 from ASGI 2 or WSGI is still a coroutine
    function: uvicorn (asyncio's test), hypercorn (inspect's, on ``app.__call__``), asgiref
    (Django, Channels) and Litestar."""
    import asyncio
    import inspect

    import uvicorn
    from asgiref.compatibility import is_double_callable
    from litestar.utils.predicates import is_async_callable
    from starlette.applications import Starlette

    middleware = ConsentMiddleware(Starlette(), **options(sqlite_url))
    assert inspect.iscoroutinefunction(middleware.__call__)
    assert asyncio.iscoroutinefunction(middleware.__call__)
    config = uvicorn.Config(middleware)
    config.load()
    assert config.interface == "asgi3"
    assert not is_double_callable(middleware)
    assert is_async_callable(middleware)
