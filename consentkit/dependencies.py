"""Reading the visitor's consent from a handler, for FastAPI's ``Depends`` and others.

```python
from fastapi import Depends, FastAPI
from consentkit import Consent
from consentkit.dependencies import current_consent

@app.get("/")
async def home(consent: Consent = Depends(current_consent)): ...
```
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from .consent.consent import Consent
from .errors import ConfigurationError


def current_consent(connection: HTTPConnection) -> Consent:
    """The ``Consent`` that ``ConsentMiddleware`` put on this request or websocket."""
    consent = connection.scope.get("state", {}).get("consent")
    if not isinstance(consent, Consent):
        raise ConfigurationError(
            "no consent on this request: add ConsentMiddleware to the application "
            "(app.add_middleware(ConsentMiddleware, ...))"
        )
    return consent
