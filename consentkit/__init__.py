"""consentkit: cookie and tracking consent for ASGI applications.

Signed consent cookies, server-side proof of consent, and aggregated analytics that keep
nothing identifying.
"""

from .compiled import prefer_source

prefer_source()  # (before the request path's modules are imported)

from .consent.categories import Category, Cookie, Service  # noqa: E402
from .consent.consent import Consent  # noqa: E402
from .consent.consent_mode import ConsentMode  # noqa: E402
from .errors import ConfigurationError, ConsentkitError, QueryError, StoreError  # noqa: E402
from .middleware import ConsentMiddleware  # noqa: E402
from .settings import ConsentSettings  # noqa: E402
from .store import Store, open_store  # noqa: E402
from .tracking import track  # noqa: E402

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
    "track",
]
__version__ = "0.1.0"
