"""The versioned schema. Each migration is a list of statements; `{id}` and `{bool}` are
filled per dialect. Migrations only ever get appended: a released one is never edited."""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1: mentions, their history, replies, the outbox, feed state, labels
    [
        """CREATE TABLE mentions (
            id {id},
            brand TEXT NOT NULL,
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            url TEXT NOT NULL,
            canonical_url TEXT NOT NULL,
            text_key TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            author TEXT NOT NULL,
            published_at DOUBLE PRECISION,
            fetched_at DOUBLE PRECISION NOT NULL,
            matched_term TEXT NOT NULL,
            channel TEXT NOT NULL,
            flagged {bool} NOT NULL,
            sentiment TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            p_negative DOUBLE PRECISION NOT NULL,
            p_neutral DOUBLE PRECISION NOT NULL,
            p_positive DOUBLE PRECISION NOT NULL,
            p_complaint DOUBLE PRECISION NOT NULL,
            attention DOUBLE PRECISION NOT NULL,
            question {bool} NOT NULL,
            praise {bool} NOT NULL,
            lang TEXT NOT NULL,
            reason TEXT NOT NULL,
            scorer TEXT NOT NULL,
            status TEXT NOT NULL,
            owner TEXT NOT NULL DEFAULT '',
            UNIQUE (source, external_id)
        )""",
        "CREATE UNIQUE INDEX mentions_brand_url ON mentions (brand, canonical_url)"
        " WHERE canonical_url <> ''",
        "CREATE UNIQUE INDEX mentions_brand_text ON mentions (brand, text_key)"
        " WHERE text_key <> ''",
        "CREATE INDEX mentions_status ON mentions (status, fetched_at)",
        """CREATE TABLE transitions (
            id {id},
            mention_id BIGINT NOT NULL REFERENCES mentions (id),
            from_status TEXT NOT NULL,
            to_status TEXT NOT NULL,
            actor TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX transitions_mention ON transitions (mention_id, at)",
        """CREATE TABLE replies (
            id {id},
            mention_id BIGINT NOT NULL REFERENCES mentions (id),
            actor TEXT NOT NULL,
            body TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE outbox (
            id {id},
            mention_id BIGINT NOT NULL UNIQUE REFERENCES mentions (id),
            channel TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
            delivered_at DOUBLE PRECISION,
            chat_ts TEXT NOT NULL DEFAULT '',
            last_error TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at)",
        """CREATE TABLE feed_state (
            source TEXT PRIMARY KEY,
            etag TEXT NOT NULL DEFAULT '',
            last_modified TEXT NOT NULL DEFAULT '',
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE labels (
            id {id},
            mention_id BIGINT NOT NULL REFERENCES mentions (id),
            label TEXT NOT NULL,
            actor TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL
        )""",
    ],
    # 2: cursors for API and stream sources; feed leases so replicas share the polling;
    #    source health; in-flight deliveries
    [
        "ALTER TABLE feed_state ADD COLUMN cursor TEXT NOT NULL DEFAULT ''",
        """CREATE TABLE source_health (
            source TEXT PRIMARY KEY,
            interval_seconds DOUBLE PRECISION NOT NULL,
            polls INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            items_seen BIGINT NOT NULL DEFAULT 0,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_success_at DOUBLE PRECISION,
            last_error TEXT NOT NULL DEFAULT '',
            last_error_at DOUBLE PRECISION,
            failing_since DOUBLE PRECISION,
            ops_alerted_at DOUBLE PRECISION
        )""",
        """CREATE TABLE feed_leases (
            source TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            lease_until DOUBLE PRECISION NOT NULL
        )""",
        # Set while a delivery is under way or ended without a known outcome.
        "ALTER TABLE outbox ADD COLUMN in_flight {bool} NOT NULL DEFAULT FALSE",
    ],
    # 3 (issue 11, volume bounds): what the bounds held back (stored, not alerted), for the
    #    summary notices, handed out once; the alerts granted per brand in the last minute,
    #    counted under a per-brand row lock so that replicas share one budget
    [
        """CREATE TABLE held_back (
            id {id},
            brand TEXT NOT NULL,
            channel TEXT NOT NULL,
            source TEXT NOT NULL,
            reason TEXT NOT NULL,
            limit_value INTEGER NOT NULL,
            mentions INTEGER NOT NULL,
            hosts TEXT NOT NULL,
            first_at DOUBLE PRECISION NOT NULL,
            last_at DOUBLE PRECISION NOT NULL,
            notified_at DOUBLE PRECISION
        )""",
        "CREATE INDEX held_back_pending ON held_back (notified_at, brand, channel)",
        """CREATE TABLE brand_alerts (
            id {id},
            brand TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX brand_alerts_recent ON brand_alerts (brand, at)",
        "CREATE TABLE brand_alert_locks (brand TEXT PRIMARY KEY)",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
