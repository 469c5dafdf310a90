"""Versioned schema migrations, written once for every backend.

``{blob}``, ``{id}`` and ``{without_rowid}`` are spelled per backend;
everything else is portable SQL. A migration is never edited once released: a change is a
new entry at the end.
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
    (
        2,
        # Cube cells keyed by three integers, (hour, segment, page): an integer B-tree takes a
        # flush's upserts several times faster than a key of seven text columns, and a
        # segment (site, country, device, browser, OS) or a page is stored once, not in every
        # cell.
        (
            """CREATE TABLE ck_segments (
                id {id},
                site TEXT NOT NULL,
                country TEXT NOT NULL,
                device TEXT NOT NULL,
                browser TEXT NOT NULL,
                os TEXT NOT NULL,
                UNIQUE (site, country, device, browser, os)
            )""",
            """CREATE TABLE ck_pages (
                id {id},
                site TEXT NOT NULL,
                page TEXT NOT NULL,
                UNIQUE (site, page)
            )""",
            """CREATE TABLE ck_cells (
                hour BIGINT NOT NULL,
                segment_id BIGINT NOT NULL,
                page_id BIGINT NOT NULL,
                pageviews BIGINT NOT NULL,
                anonymous_pageviews BIGINT NOT NULL,
                visitors {blob} NOT NULL,
                PRIMARY KEY (hour, segment_id, page_id)
            ){without_rowid}""",
            """INSERT INTO ck_segments (site, country, device, browser, os)
                SELECT DISTINCT site, country, device, browser, os FROM ck_pageviews""",
            "INSERT INTO ck_pages (site, page) SELECT DISTINCT site, page FROM ck_pageviews",
            """INSERT INTO ck_cells
                (hour, segment_id, page_id, pageviews, anonymous_pageviews, visitors)
                SELECT v.hour, s.id, p.id, v.pageviews, v.anonymous_pageviews, v.visitors
                FROM ck_pageviews v
                JOIN ck_segments s ON s.site = v.site AND s.country = v.country
                    AND s.device = v.device AND s.browser = v.browser AND s.os = v.os
                JOIN ck_pages p ON p.site = v.site AND p.page = v.page""",
            "DROP TABLE ck_pageviews",
            # The cube as one table again, for exports and for reading it by hand.
            """CREATE VIEW ck_pageviews AS
                SELECT s.site, c.hour, s.country, s.device, s.browser, s.os, p.page,
                    c.pageviews, c.anonymous_pageviews, c.visitors
                FROM ck_cells c
                JOIN ck_segments s ON s.id = c.segment_id
                JOIN ck_pages p ON p.id = c.page_id""",
        ),
    ),
    (
        3,
        # The consent ledger becomes a hash chain (see ledger.py): each record gets its
        # position, a salted commitment to its subject (kept when the subject is erased) and
        # its chain hash; ck_ledger_head holds the last hash and the count, and where
        # retention cut the start of the chain. Rows already there are chained right after
        # this migration, in Python (SQL has no portable SHA-256).
        (
            "ALTER TABLE ck_decisions ADD COLUMN seq BIGINT",
            "ALTER TABLE ck_decisions ADD COLUMN salt TEXT",
            "ALTER TABLE ck_decisions ADD COLUMN commitment TEXT",
            "ALTER TABLE ck_decisions ADD COLUMN chain_hash TEXT",
            """CREATE TABLE ck_ledger_head (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                records BIGINT NOT NULL,
                head TEXT NOT NULL,
                purged BIGINT NOT NULL,
                base TEXT NOT NULL
            )""",
            f"INSERT INTO ck_ledger_head (id, records, head, purged, base)"
            f" VALUES (1, 0, '{'0' * 64}', 0, '{'0' * 64}')",
        ),
    ),
    (
        4,
        # The cube as compressed blocks of cells (store/cube.py): a flush appends, nothing
        # is rewritten in place, and a page view takes a few bytes instead of a row. The
        # cells of versions 1 to 3 are moved into blocks by code (store/cube_migration.py),
        # which then drops ck_cells, ck_daily, ck_segments, ck_pages and ck_pageviews.
        (
            """CREATE TABLE ck_values (
                id {id},
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                UNIQUE (kind, value)
            )""",
            """CREATE TABLE ck_blocks (
                id {id},
                site TEXT NOT NULL,
                hour BIGINT NOT NULL,
                rolled SMALLINT NOT NULL,
                cells {blob} NOT NULL
            )""",
            "CREATE INDEX ck_blocks_hours ON ck_blocks (site, hour)",
            "CREATE INDEX ck_blocks_waiting ON ck_blocks (site, rolled, id)",
            """CREATE TABLE ck_rollups (
                id {id},
                site TEXT NOT NULL,
                kind TEXT NOT NULL,
                day BIGINT NOT NULL,
                cells {blob} NOT NULL
            )""",
            "CREATE INDEX ck_rollups_days ON ck_rollups (site, kind, day)",
        ),
    ),
    (
        5,
        # A chain per site (see ledger/chain.py): decisions of different sites no longer
        # queue for the one row of ck_ledger_head. That first chain keeps its records and
        # their proofs, and is closed: each site's chain starts from its last hash
        # (ck_ledger_heads.base), and its records are marked per_site. The index is each
        # chain in order, for its verification and the purge of its start.
        # (Version 5 also counts dropped page views: ck_dropped.)
        (
            "ALTER TABLE ck_decisions ADD COLUMN per_site SMALLINT NOT NULL DEFAULT 0",
            """CREATE TABLE ck_ledger_heads (
                site TEXT PRIMARY KEY,
                records BIGINT NOT NULL,
                head TEXT NOT NULL,
                purged BIGINT NOT NULL,
                base TEXT NOT NULL
            )""",
            "CREATE INDEX ck_decisions_chains ON ck_decisions (site, id)",
            # Page views a buffer dropped while its flushes fell behind, by the hour they
            # were reported in: queries report them (meta.dropped_pageviews).
            """CREATE TABLE ck_dropped (
                site TEXT NOT NULL,
                hour BIGINT NOT NULL,
                pageviews BIGINT NOT NULL,
                PRIMARY KEY (site, hour)
            )""",
        ),
    ),
    (
        6,
        # Each page-view buffer's highest stored flush (analytics/batch.py, Flush): a flush
        # retried after a commit whose answer was lost is found stored, not counted twice.
        # One row per buffer (process), kept 30 days after its last flush.
        (
            """CREATE TABLE ck_flushes (
                writer TEXT PRIMARY KEY,
                seq BIGINT NOT NULL,
                hour BIGINT NOT NULL
            )""",
        ),
    ),
)

LATEST = MIGRATIONS[-1][0]
LEDGER_CHAIN = 3  # the version whose store code chains the ledger rows written before it
CUBE_BLOCKS = 4  # the version whose store code moves the cube of versions 1-3 into blocks
