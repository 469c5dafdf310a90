"""Jinja2 helpers: the banner tag, and a consent form that works without JavaScript.

Optional: needs Jinja2 (``pip install "consentkit[jinja]"``). Nothing else in consentkit
imports this module. Register the helpers once, with the same options you give
``ConsentMiddleware``::

    from starlette.templating import Jinja2Templates
    import consentkit.jinja

    templates = Jinja2Templates(directory="templates")
    consentkit.jinja.install(templates.env, categories=CATEGORIES)

and use them in a template::

    <head>{{ consentkit_banner() }}</head>
    <body>... {{ consentkit_noscript() }}</body>

``consentkit_banner()`` is the one script tag of the JavaScript banner.
``consentkit_form(request)`` is a plain HTML form, one checkbox per category and the buttons
Accept all / Reject all / Save, that posts form-encoded to ``{prefix}/consent``; the middleware
records the decision and answers ``303 See Other`` back to the page. ``consentkit_noscript()``
is the same form inside ``<noscript>``, for pages that also use the JavaScript banner.
Every text and title is HTML-escaped.

``privacy_template(env, "privacy.html")`` renders the visitor's pages (the privacy center
at ``/consentkit/me`` and the cookie policy at ``/consentkit/cookies``) with your own
template, for ``ConsentMiddleware(privacy_template=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .consent.categories import DEFAULT_CATEGORIES, NECESSARY, Category, CategorySet
from .consent.consent import Consent
from .errors import ConfigurationError
from .locales.texts import BannerTexts
from .web.origin import is_local_path
from .web.pages import PrivacyPage

try:
    import jinja2
    from markupsafe import Markup
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('consentkit.jinja needs Jinja2: pip install "consentkit[jinja]"') from error

if TYPE_CHECKING:
    from jinja2.runtime import Context

__all__ = ["ConsentForms", "install", "privacy_template"]

_LOCKED, _TICKED, _OPEN = Markup(" checked disabled"), Markup(" checked"), Markup("")
_BUTTONS = (("accept_all", "accept_all"), ("reject_all", "reject_all"), ("custom", "save"))


class ConsentForms:
    """Renders the banner tag and the no-JavaScript consent form for one site.

    ``prefix``, ``categories``, ``languages``, ``default_language`` and ``texts`` mean what
    they mean for ``ConsentMiddleware``; pass the same values, so that the form offers the
    categories the middleware accepts and speaks the language the banner would. Invalid
    options raise ``consentkit.ConfigurationError`` here, at start-up.
    """

    def __init__(
        self,
        *,
        prefix: str = "/consentkit",
        categories: Sequence[Category | str] = DEFAULT_CATEGORIES,
        languages: list[str] | None = None,
        default_language: str = "en",
        texts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ConfigurationError("prefix must start with '/' and not end with it")
        self.prefix = prefix
        self.categories = CategorySet.build(categories).all
        self.texts = BannerTexts(
            languages=languages, default_language=default_language, overrides=texts
        )

    def banner(self, *, nonce: str | None = None) -> Markup:
        """The banner's script tag: ``<script src="/consentkit/banner.js" defer></script>``.

        ``nonce`` adds a CSP nonce attribute, for policies that allow scripts by nonce only.
        """
        if nonce is None:
            return Markup('<script src="{}/banner.js" defer></script>').format(self.prefix)
        return Markup('<script src="{}/banner.js" defer nonce="{}"></script>').format(
            self.prefix, nonce
        )

    def form(
        self,
        request: Any,
        next: str | None = None,
        *,
        categories: Sequence[Category | str] | None = None,
        texts: Mapping[str, str] | None = None,
    ) -> Markup:
        """A consent form that needs no JavaScript, in the visitor's language.

        ``request`` is the current request (Starlette/FastAPI ``Request``, or anything with
        ``.headers`` and the consent at ``.state.consent`` or ``.scope["state"]["consent"]``);
        its consent ticks the boxes of the granted categories, and its ``Accept-Language``
        picks the language. ``categories`` replaces the configured list for this form (it
        must stay a subset of the middleware's); ``texts`` overrides some texts of the chosen
        language, e.g. ``{"save": "Save my choice"}``.

        ``next`` (a same-site path such as ``"/account"``) is where the visitor returns after
        choosing; without it, the page in ``Referer`` (or ``/`` when the browser sends none).
        """
        language = self.texts.negotiate(_header(request, "accept-language"))
        strings = dict(self.texts.texts[language])
        if texts:
            strings.update(texts)
        shown = self.categories if categories is None else CategorySet.build(categories).all
        consent = _consent_of(request)
        parts = [
            Markup(
                '<form class="consentkit-form" method="post" action="{}/consent"'
                ' lang="{}" dir="{}">'
            ).format(self.prefix, language, self.texts.direction(language)),
            Markup('<p class="consentkit-form-title"><strong>{}</strong></p>').format(
                strings["title"]
            ),
            Markup('<p class="consentkit-form-desc">{}</p>').format(strings["description"]),
        ]
        if consent.gpc:
            parts.append(
                Markup('<p class="consentkit-form-gpc">{}</p>').format(strings["gpc_notice"])
            )
        if next is not None:
            if not is_local_path(next):
                raise ValueError(f"next must be a path on this site, like '/page', not {next!r}")
            parts.append(Markup('<input type="hidden" name="next" value="{}">').format(next))
        parts.append(Markup("<fieldset><legend>{}</legend>").format(strings["preferences"]))
        for category in shown:
            required = category.name == NECESSARY
            ticked = required or consent.allows(category.name)
            field_id = f"consentkit-form-{category.name}"
            described = (
                Markup(' aria-describedby="{}-desc"').format(field_id)
                if category.description
                else _OPEN
            )
            parts.append(
                Markup(
                    '<div class="consentkit-form-category">'
                    '<input type="checkbox" id="{id}" name="categories" value="{name}"'
                    "{state}{described}>"
                    ' <label for="{id}">{title}</label>'
                ).format(
                    id=field_id,
                    name=category.name,
                    state=_LOCKED if required else _TICKED if ticked else _OPEN,
                    described=described,
                    title=category.title,
                )
            )
            if category.description:
                parts.append(
                    Markup('<p id="{}-desc">{}</p>').format(field_id, category.description)
                )
            # A category's services, each of which may be ticked alone (the category
            # ticked allows them all).
            for service in category.services:
                parts.append(
                    Markup(
                        '<div class="consentkit-form-service">'
                        '<input type="checkbox" id="consentkit-form-{name}" name="services"'
                        ' value="{name}"{state}> <label for="consentkit-form-{name}">{title}'
                        "</label></div>"
                    ).format(
                        name=service.name,
                        state=_TICKED if consent.allows(service.name) else _OPEN,
                        title=service.title,
                    )
                )
            parts.append(Markup("</div>"))
        parts.append(Markup('</fieldset><div class="consentkit-form-buttons">'))
        for action, key in _BUTTONS:
            parts.append(
                Markup('<button type="submit" name="action" value="{}">{}</button>').format(
                    action, strings[key]
                )
            )
        parts.append(Markup("</div></form>"))
        return Markup("").join(parts)

    def noscript(
        self,
        request: Any,
        next: str | None = None,
        *,
        categories: Sequence[Category | str] | None = None,
        texts: Mapping[str, str] | None = None,
    ) -> Markup:
        """:meth:`form` inside ``<noscript>``: shown only where JavaScript does not run."""
        inner = self.form(request, next, categories=categories, texts=texts)
        return Markup("<noscript>{}</noscript>").format(inner)


def install(
    env: jinja2.Environment,
    *,
    prefix: str = "/consentkit",
    categories: Sequence[Category | str] = DEFAULT_CATEGORIES,
    languages: list[str] | None = None,
    default_language: str = "en",
    texts: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Register ``consentkit_banner``, ``consentkit_form`` and ``consentkit_noscript``.

    The options are those of ``ConsentMiddleware`` that the form needs; give the same values.
    In templates, ``consentkit_form()`` and ``consentkit_noscript()`` take the request from
    the template's ``request`` variable (Starlette's ``Jinja2Templates`` provides it), or
    explicitly: ``consentkit_form(request, next="/account")``. They accept the keyword
    arguments of :meth:`ConsentForms.form`. ``consentkit_banner(nonce=...)`` adds a CSP nonce.
    """
    forms = ConsentForms(
        prefix=prefix,
        categories=categories,
        languages=languages,
        default_language=default_language,
        texts=texts,
    )
    env.globals["consentkit_banner"] = forms.banner
    env.globals["consentkit_form"] = _with_request(forms.form)
    env.globals["consentkit_noscript"] = _with_request(forms.noscript)


def privacy_template(env: jinja2.Environment, name: str) -> Callable[[PrivacyPage], str]:
    """The visitor's pages rendered by your template ``name``, for
    ``ConsentMiddleware(privacy_template=...)``.

    The template gets ``page``, a ``consentkit.web.pages.PrivacyPage`` (its ``kind``,
    ``title``, ``language``, ``direction``, ``texts``, ``links``, ``categories``,
    ``decisions`` ...), and ``content``, consentkit's own rendering of the page's main part,
    ready to put inside your layout. The template is loaded now, so a missing one fails at
    start-up; the environment must autoescape it (``Jinja2Templates`` does).
    """
    template = env.get_template(name)
    autoescape = env.autoescape(name) if callable(env.autoescape) else env.autoescape
    if not autoescape:
        raise ConfigurationError(
            f"the template {name!r} must be autoescaped: create the environment with "
            "autoescape=jinja2.select_autoescape() (Jinja2Templates does)"
        )

    def render(page: PrivacyPage) -> str:
        # consentkit built the content from escaped text (web/page_html.py).
        return template.render(page=page, content=Markup(page.content))  # noqa: S704

    return render


def _with_request(render: Callable[..., Markup]) -> Callable[..., Markup]:
    @jinja2.pass_context
    def helper(context: Context, request: Any = None, *args: Any, **kwargs: Any) -> Markup:
        if request is None:
            request = context.get("request")
            if request is None:
                raise TypeError(
                    f"{render.__name__}() needs the request: pass it, or render the template"
                    " with a 'request' variable"
                )
        return render(request, *args, **kwargs)

    helper.__name__ = f"consentkit_{render.__name__}"
    helper.__doc__ = render.__doc__
    return helper


def _header(request: Any, name: str) -> str | None:
    headers = getattr(request, "headers", None)
    value = headers.get(name) if headers is not None else None
    return value if isinstance(value, str) else None


def _consent_of(request: Any) -> Consent:
    state = getattr(request, "state", None)
    consent = getattr(state, "consent", None)
    if consent is None:
        scope = getattr(request, "scope", None)
        if isinstance(scope, Mapping):
            scope_state = scope.get("state")
            if isinstance(scope_state, Mapping):
                consent = scope_state.get("consent")
    if isinstance(consent, Consent):
        return consent
    # Without the middleware (or before it ran) nothing is granted.
    return Consent.undecided()
