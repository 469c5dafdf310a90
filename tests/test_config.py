"""Bad configuration fails at start-up with a message that says what to change."""

from __future__ import annotations

import pytest

from consentkit import Category, ConfigurationError, ConsentMiddleware


def build(store_url, **options):
    settings = {"secret_key": "s" * 32, "store": store_url, **options}
    return ConsentMiddleware(None, **settings)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret_key": None}, "secret_key is required"),
        ({"secret_key": ""}, "secret_key is required"),
        ({"secret_key": []}, "secret_key is required"),
        ({"policy_version": "2026 11; drop"}, "policy_version"),
        ({"id_max_age": 800 * 86400}, "13 months"),
        ({"prefix": "consentkit"}, "prefix"),
        ({"banner_position": "top"}, "banner_position"),
        ({"categories": [Category("analytics"), Category("analytics")]}, "listed twice"),
        ({"categories": ["analytics", 3]}, "Category objects"),
        ({"trusted_proxies": ["not-a-network"]}, "trusted_proxies"),
        ({"default_language": "xx"}, "default_language"),
        ({"texts": {"tlh": {"title": "Qapla'"}}}, "lack"),
        ({"flush_interval": -1}, "flush_interval"),
        ({"flush_interval": float("nan")}, "flush_interval"),
        ({"max_body_size": -5}, "max_body_size"),
        ({"vary_cookie": "no"}, "vary_cookie must be True or False"),
        ({"site_id": ""}, "site_id"),
        ({"decision_max_age": 0}, "decision_max_age"),
        ({"k_anonymity": 0}, "k_anonymity"),
        ({"undeclared_cookies": "deny"}, "undeclared_cookies"),
        ({"page": "/fixed"}, "page must be a callable"),
        ({"cookie_domain": "exa mple.com"}, "cookie_domain"),
        ({"store": "mysql://db"}, "store"),
        ({"secret": "x" * 32}, "'secret' is not an option of ConsentMiddleware"),
    ],
)
def test_bad_options_fail_at_start_up(store_url, options, message):
    with pytest.raises(ConfigurationError, match=message):
        build(store_url, **options)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Analytics"}, "lowercase"),
        ({"name": "a b"}, "lowercase"),
        ({"name": "ads", "cookies": "_fbp"}, "list of names"),
        ({"name": "ads", "cookies": ["_fbp; Path=/"]}, "not a cookie name"),
    ],
)
def test_bad_categories_fail_when_declared(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        Category(**kwargs)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://localhost/db",
        "sqlite://relative.db",
        "sqlite:///:memory:",
        "sqlite:////no/such/directory/x.sqlite3",
        42,
    ],
)
def test_bad_store_urls_fail_at_start_up(url):
    with pytest.raises(ConfigurationError, match="store"):
        ConsentMiddleware(None, secret_key="s" * 32, store=url)


def test_a_file_that_is_not_a_database_fails_at_start_up(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigurationError, match="SQLite"):
        ConsentMiddleware(None, secret_key="s" * 32, store=f"sqlite:///{junk}")


def test_configuration_errors_are_value_errors_too(store_url):
    with pytest.raises(ValueError):
        build(store_url, secret_key="")


@pytest.mark.parametrize(
    "declaration",
    [
        {"name": "a b"},
        {"name": "_ga", "domains": ".example.com"},  # one string, not a list
        {"name": "_ga", "domains": ["exa mple.com"]},
        {"name": "_ga", "paths": ["no-slash"]},
        {"name": "_ga", "paths": ["/a;b"]},
        {"name": "_ga", "lifetime": 30},
    ],
)
def test_a_bad_cookie_declaration_fails_at_start_up(declaration):
    from consentkit import Cookie

    with pytest.raises(ConfigurationError):
        Category("marketing", cookies=[Cookie(**declaration)])


def test_cookie_declarations_and_plain_names_mean_the_same_to_enforcement():
    from consentkit import Cookie
    from consentkit.consent.categories import CategorySet

    categories = CategorySet.build(
        [
            Category(
                "analytics",
                cookies=[
                    "_ga",
                    Cookie(
                        "_ga_*",
                        purpose="Google Analytics",
                        lifetime="13 months",
                        domains=[".example.com"],
                    ),
                ],
            ),
        ]
    )
    assert categories.category_of_cookie("_ga_ABC") == "analytics"
    assert categories.category_of_cookie("_ga") == "analytics"
    assert categories.category_of_cookie("_gat") is None
    (category,) = [c for c in categories.all if c.name == "analytics"]
    assert [c.name for c in category.declared] == ["_ga", "_ga_*"]
    assert category.declared[1].domains == (".example.com",)
    assert category.declared[0].paths == ("/",)


def test_a_category_without_a_title_is_titled_after_its_name():
    assert Category("social_media").title == "Social media"


@pytest.mark.parametrize("second", [["_ga"], ["_g*"], ["_ga", "_x"]])
def test_a_cookie_declared_by_two_categories_fails_at_start_up(second):
    from consentkit.consent.categories import CategorySet

    with pytest.raises(ConfigurationError, match="belongs to one category"):
        CategorySet.build(
            [Category("analytics", cookies=["_ga"]), Category("marketing", cookies=second)]
        )
