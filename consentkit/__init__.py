"""consentkit: cookie and tracking consent for ASGI applications.

Signed consent cookies, server-side proof of consent, and aggregated analytics that keep
nothing identifying.
"""

from .consent.categories import Category, Cookie, Service
from .consent.consent import Consent
from .consent.consent_mode import ConsentMode
from .errors import ConfigurationError, ConsentkitError, QueryError, StoreError
from .middleware import ConsentMiddleware
from .settings import ConsentSettings
from .store import Store, open_store

__all__ = [
    "Category",
    "ConfigurationError",
    "Consent",
    "ConsentMiddleware",
    "ConsentMode",
    "ConsentSettings",
    "ConsentkitError",
    "Cookie",
    "QueryError",
    "Service",
    "Store",
    "StoreError",
    "open_store",
]
__version__ = "0.1.0"
