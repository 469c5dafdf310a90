"""Settings of the consentkit Django example: the least a site needs, plus consentkit's two
lines (marked below). No database: this site stores nothing of its own."""

import os
import secrets

# This example signs nothing with Django's key (no sessions, no CSRF forms), so a new one
# per start will do. A real site reads a fixed one from its environment.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "shop",
    "consentkit.django",  # consentkit: the {% consentkit_banner %} tag
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "consentkit.django.ConsentRequestMiddleware",  # consentkit: request.consent, route patterns
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            # {% consentkit_banner %} reads the request
            "context_processors": ["django.template.context_processors.request"],
        },
    },
]

DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
