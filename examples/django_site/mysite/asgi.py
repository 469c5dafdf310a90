"""The ASGI application, wrapped in consentkit's middleware.

Run it from the folder above this one (any secret of 32 characters or more)::

    export CONSENTKIT_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    uvicorn mysite.asgi:application

consentkit needs Django served over ASGI (uvicorn, hypercorn, daphne): under WSGI there is
no middleware around Django to read and enforce the visitor's consent.
"""

import os

from django.core.asgi import get_asgi_application

from consentkit import Category, ConsentMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

CATEGORIES = [
    Category("analytics", title="Analytics", description="Counts visits without identifying you."),
    Category(
        "marketing", title="Marketing", description="Measures ad campaigns.", cookies=["_fbp"]
    ),
]

application = ConsentMiddleware(
    get_asgi_application(),
    secret_key=os.environ["CONSENTKIT_SECRET"],
    store=os.environ.get("CONSENTKIT_STORE", "sqlite:///consentkit.sqlite3"),
    categories=CATEGORIES,
)
