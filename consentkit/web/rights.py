"""The visitor's rights: see (``GET /consentkit/me``), export (``GET /consentkit/me/export``)
and erase (``POST /consentkit/me/erase``) what the server holds about them.

A browser that asks for HTML gets the privacy center (``pages.py``) instead of JSON, and
the erasure form's answer as a page that says what was erased.

The visitor is known only by the decision ID inside their signed decision cookie; the ledger
names them by a keyed hash of it. Without a genuine decision cookie there is nothing linked
to this browser, and the answer says so. Erasure anonymises their ledger records
irreversibly (the chain still verifies; see docs/ledger.md) and expires consentkit's cookies
and every cookie the site's categories declare.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import anyio.to_thread
from starlette.responses import JSONResponse, Response
from starlette.types import Receive

from ..consent.categories import NECESSARY
from ..consent.cookies import DECISION_COOKIE, ID_COOKIE, cookie_names
from ..consent.decisions import DecisionRecorder
from ..errors import StoreError
from ..ledger.chain import visitor_record
from ..ledger.records import DecisionRecord
from ..ledger.spool import DecisionSpool
from ..store import Store
from ..visit.request import COOKIE, Visit
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .origin import same_origin
from .pages import PrivacyPages, wants_html

EXPORT_FIELDS = ("decided_at", "policy_version", "action", "categories", "language", "config_hash")
EXPORT_FORMATS = ("csv", "json")
FORM = "application/x-www-form-urlencoded"


class VisitorRights:
    """See, export and erase: what ``me``, ``me/export`` and ``me/erase`` answer."""

    def __init__(
        self,
        recorder: DecisionRecorder,
        store: Store,
        spool: DecisionSpool | None,
        pages: PrivacyPages,
        limits: BodyLimits,
    ) -> None:
        self.recorder = recorder
        self.store = store
        self.spool = spool
        self.pages = pages
        self.limits = limits
        self.site = recorder.site

    def subjects(self, visit: Visit) -> list[str]:
        """The visitor's names in the ledger: one per secret key (rotation), newest first."""
        decision_id = visit.consent.decision_id  # kept by an outdated decision too
        return self.recorder.subjects.every(decision_id) if decision_id else []

    def _records_of(self, subjects: list[str]) -> list[dict[str, Any]]:
        # Oldest key first, then a stable sort by time: within one second, older key first.
        records = [r for s in reversed(subjects) for r in self.store.subject_records(self.site, s)]
        if self.spool is not None:  # decided while the store was away, and not stored yet
            records += [waiting_record(r) for r in self.spool.waiting_for(self.site, subjects)]
        return sorted(records, key=lambda record: str(record["decided_at"]))

    def _erase(self, subjects: list[str]) -> int:
        erased = self.spool.forget(self.site, subjects) if self.spool is not None else 0
        return erased + sum(self.store.erase_subject(self.site, s) for s in subjects)

    async def records(self, visit: Visit) -> list[dict[str, Any]]:
        subjects = self.subjects(visit)
        if not subjects:
            return []
        try:
            return await anyio.to_thread.run_sync(self._records_of, subjects)
        except StoreError:
            raise BadRequest(503, "your records cannot be read now; please retry") from None

    async def see(self, visit: Visit, receive: Receive) -> Response:
        if wants_html(visit):
            try:
                records = await self.records(visit)
            except BadRequest as error:
                return self.pages.refused(visit, error)
            return self.pages.me(visit, records, identified=bool(self.subjects(visit)))
        records = await self.records(visit)
        return JSONResponse(
            {
                "identified": bool(self.subjects(visit)),
                "records": records,
                "held": "your consent decisions; analytics keep no record of you "
                "(see the site's privacy page)",
            },
            headers=NO_STORE,
        )

    async def export(self, visit: Visit, receive: Receive) -> Response:
        wanted = visit.query("format") or "csv"
        if wanted not in EXPORT_FORMATS:
            raise BadRequest(400, "format must be csv or json", "format")
        records = await self.records(visit)
        download = {
            "Content-Disposition": f'attachment; filename="consent-records.{wanted}"',
            **NO_STORE,
        }
        if wanted == "json":
            return JSONResponse({"records": records}, headers=download)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(EXPORT_FIELDS)
        for record in records:
            writer.writerow(
                [
                    " ".join(record[f]) if f == "categories" else _cell(record[f])
                    for f in EXPORT_FIELDS
                ]
            )
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=download)

    async def erase_request(self, visit: Visit, receive: Receive) -> Response:
        """``POST me/erase``: JSON ``{"erased": n}``, or a page for the privacy center's form."""
        page = wants_html(visit) and visit.media_type == FORM
        try:
            same_origin(visit)  # erasing is a change: never from another site
            body = await self.limits.read(visit, receive)
            if body.strip():  # an erasure needs no body; one that is sent must be well-formed
                if visit.media_type == FORM:
                    self.limits.form(body)
                elif visit.media_type in ("application/json", ""):
                    self.limits.json_object(body)
                else:
                    raise BadRequest(415, "send no body, application/json or a form")
            erased = await self.erase_records(visit)
        except BadRequest as error:
            if page:
                return self.pages.refused(visit, error)
            raise
        expired = self.expired(visit)
        if page:
            names = {value.partition("=")[0] for value in expired}
            held = [name for name in cookie_names(visit.header(COOKIE)) if name in names]
            response = self.pages.erased(visit, erased, held)
        else:
            response = JSONResponse({"erased": erased}, headers=NO_STORE)
        response.raw_headers += [(b"set-cookie", value.encode("latin-1")) for value in expired]
        return response

    def expired(self, visit: Visit) -> list[str]:
        """The ``Set-Cookie`` values that remove consentkit's and the categories' cookies."""
        secure, cookies = visit.secure, self.recorder.cookies
        expired = [cookies.expire(name, secure=secure) for name in (DECISION_COOKIE, ID_COOKIE)]
        declared = [c.name for c in self.recorder.categories.all if c.name != NECESSARY]
        expired += self.recorder.expiry.headers(declared, visit.header(COOKIE), secure=secure)
        return expired

    async def erase_records(self, visit: Visit) -> int:
        """Erase this visitor's records (the store's and the spool's); how many there were."""
        subjects = self.subjects(visit)
        erased = 0
        if subjects:
            try:
                erased = await anyio.to_thread.run_sync(self._erase, subjects)
            except StoreError:
                raise BadRequest(
                    503, "your records could not be erased now; nothing was changed, please retry"
                ) from None
        return erased


def waiting_record(record: DecisionRecord) -> dict[str, Any]:
    """A spooled record as ``/me`` shows stored ones (the banner shown follows once stored)."""
    return visitor_record(
        decided_at=record.decided_at,
        policy_version=record.policy_version,
        action=record.action,
        categories=record.categories,
        language=record.language,
        config_hash=record.config_hash,
        config=None,
    )


def _cell(value: object) -> str:
    text = str(value)
    # A spreadsheet runs a cell that starts with = + - @ as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
