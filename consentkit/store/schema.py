"""Versioned schema migrations, written once for every backend.

``{blob}``, ``{id}`` and ``{without_rowid}`` are spelled per backend; everything else is
portable SQL. A migration is never edited once released: a change is a new entry at the end.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE ck_pageviews (
                site TEXT NOT NULL,
                hour INTEGER NOT NULL,
                country TEXT NOT NULL,
                device TEXT NOT NULL,
                browser TEXT NOT NULL,
                os TEXT NOT NULL,
                page TEXT NOT NULL,
                pageviews BIGINT NOT NULL,
                anonymous_pageviews BIGINT NOT NULL,
                visitors {blob} NOT NULL,
                PRIMARY KEY (site, hour, country, device, browser, os, page)
            ){without_rowid}""",
            """CREATE TABLE ck_daily (
                site TEXT NOT NULL,
                day INTEGER NOT NULL,
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                pageviews BIGINT NOT NULL,
                visitors {blob} NOT NULL,
                PRIMARY KEY (site, day, kind, value)
            ){without_rowid}""",
            """CREATE TABLE ck_bots (
                site TEXT NOT NULL,
                hour INTEGER NOT NULL,
                pageviews BIGINT NOT NULL,
                PRIMARY KEY (site, hour)
            )""",
            """CREATE TABLE ck_decisions (
                id {id},
                site TEXT NOT NULL,
                subject TEXT NOT NULL,
                decided_at BIGINT NOT NULL,
                policy_version TEXT NOT NULL,
                action TEXT NOT NULL,
                categories TEXT NOT NULL,
                language TEXT NOT NULL,
                config_hash TEXT NOT NULL
            )""",
            "CREATE INDEX ck_decisions_subject ON ck_decisions (site, subject)",
            "CREATE INDEX ck_decisions_time ON ck_decisions (site, decided_at)",
            """CREATE TABLE ck_consent_stats (
                site TEXT NOT NULL,
                hour INTEGER NOT NULL,
                country TEXT NOT NULL,
                device TEXT NOT NULL,
                browser TEXT NOT NULL,
                action TEXT NOT NULL,
                category TEXT NOT NULL,
                decisions BIGINT NOT NULL,
                granted BIGINT NOT NULL,
                PRIMARY KEY (site, hour, country, device, browser, action, category)
            ){without_rowid}""",
            """CREATE TABLE ck_banner_configs (
                config_hash TEXT PRIMARY KEY,
                config TEXT NOT NULL
            )""",
        ),
    ),
)

LATEST = MIGRATIONS[-1][0]
