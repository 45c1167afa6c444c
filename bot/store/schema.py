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
    # 3: platform-neutral chat. One delivery per (mention, route) with the message reference
    #    the platform returned, instead of one outbox row per mention holding a channel *name*;
    #    queued notices; per-route pauses; people's names; open reply dialogs; identities that
    #    carry their platform; where a reply went; a revision for ordered redraws.
    [
        """CREATE TABLE deliveries (
            id {id},
            mention_id BIGINT NOT NULL REFERENCES mentions (id),
            platform TEXT NOT NULL,
            target TEXT NOT NULL,
            channel_id TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
            delivered_at DOUBLE PRECISION,
            last_error TEXT NOT NULL DEFAULT '',
            in_flight {bool} NOT NULL DEFAULT FALSE,
            UNIQUE (mention_id, platform, target)
        )""",
        "CREATE INDEX deliveries_due ON deliveries (delivered_at, next_attempt_at)",
        "CREATE INDEX deliveries_message ON deliveries (platform, message_id)",
        # The old outbox knew only Slack and stored the channel as configured (often a name);
        # channel_id stays empty so the Slack adapter resolves the name on first use.
        """INSERT INTO deliveries (mention_id, platform, target, channel_id, message_id,
            attempts, next_attempt_at, lease_until, delivered_at, last_error, in_flight)
           SELECT mention_id, 'slack', channel, '', chat_ts, attempts, next_attempt_at,
            lease_until, delivered_at, last_error, in_flight FROM outbox ORDER BY id""",
        "DROP TABLE outbox",
        """CREATE TABLE notices (
            id {id},
            platform TEXT NOT NULL,
            target TEXT NOT NULL,
            body TEXT NOT NULL,
            thread_of BIGINT REFERENCES deliveries (id),
            created_at DOUBLE PRECISION NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
            delivered_at DOUBLE PRECISION,
            last_error TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX notices_due ON notices (delivered_at, next_attempt_at)",
        """CREATE TABLE route_health (
            platform TEXT NOT NULL,
            target TEXT NOT NULL,
            paused_until DOUBLE PRECISION NOT NULL DEFAULT 0,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            last_error_at DOUBLE PRECISION,
            PRIMARY KEY (platform, target)
        )""",
        """CREATE TABLE people (
            user_key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE dialogs (
            id TEXT PRIMARY KEY,
            mention_id BIGINT NOT NULL REFERENCES mentions (id),
            delivery_id BIGINT REFERENCES deliveries (id),
            user_key TEXT NOT NULL,
            opened_at DOUBLE PRECISION NOT NULL
        )""",
        "UPDATE mentions SET owner = 'slack:' || owner WHERE owner <> '' AND owner NOT LIKE '%:%'",
        "UPDATE transitions SET actor = 'slack:' || actor"
        " WHERE actor <> 'system' AND actor NOT LIKE '%:%'",
        "UPDATE replies SET actor = 'slack:' || actor WHERE actor NOT LIKE '%:%'",
        "UPDATE labels SET actor = 'slack:' || actor WHERE actor NOT LIKE '%:%'",
        "ALTER TABLE replies ADD COLUMN destination TEXT NOT NULL DEFAULT 'thread'",
        "ALTER TABLE mentions ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
    ],
    # 4: Microsoft Teams. The conversations the bot learnt when it was installed in a team or
    #    first @mentioned (a channel, or a person's chat with the bot), with the service URL and
    #    tenant it must post to; and each Teams user's id on Teams (what cards and new chats
    #    address), by user key.
    [
        """CREATE TABLE teams_conversations (
            conversation_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            service_url TEXT NOT NULL,
            tenant_id TEXT NOT NULL DEFAULT '',
            team_id TEXT NOT NULL DEFAULT '',
            team_name TEXT NOT NULL DEFAULT '',
            channel_name TEXT NOT NULL DEFAULT '',
            user_key TEXT NOT NULL DEFAULT '',
            removed_at DOUBLE PRECISION,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX teams_conversations_team ON teams_conversations (team_id)",
        """CREATE TABLE teams_users (
            user_key TEXT PRIMARY KEY,
            teams_id TEXT NOT NULL,
            tenant_id TEXT NOT NULL DEFAULT '',
            service_url TEXT NOT NULL DEFAULT '',
            updated_at DOUBLE PRECISION NOT NULL
        )""",
    ],
    # 5: public replies (bot/publish): the platform and account a reply was posted as, the
    #    link to it and the platform's id for it, and its deletion (undo).
    [
        "ALTER TABLE replies ADD COLUMN platform TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE replies ADD COLUMN account TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE replies ADD COLUMN link TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE replies ADD COLUMN remote_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE replies ADD COLUMN deleted_at DOUBLE PRECISION",
        "ALTER TABLE replies ADD COLUMN deleted_by TEXT NOT NULL DEFAULT ''",
    ],
    # 6: the team workflow (bot/team). `team_once` holds one row per thing that must happen
    #    once across restarts and replicas (a reminder for one opening of an alert, a digest,
    #    a spike alert): inserting the row is the compare-and-set. Notices can ping people and
    #    be dropped when their mention moved on. Mutes, and muted mentions marked as such.
    [
        """CREATE TABLE team_once (
            key TEXT PRIMARY KEY,
            mention_id BIGINT REFERENCES mentions (id),
            at DOUBLE PRECISION NOT NULL
        )""",
        "ALTER TABLE notices ADD COLUMN ping TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE notices ADD COLUMN for_mention BIGINT REFERENCES mentions (id)",
        "ALTER TABLE notices ADD COLUMN while_status TEXT NOT NULL DEFAULT ''",
        """CREATE TABLE mutes (
            id {id},
            brand TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            actor TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            until DOUBLE PRECISION,
            lifted_at DOUBLE PRECISION
        )""",
        "ALTER TABLE mentions ADD COLUMN muted_by BIGINT",
        # Reach over time (points, comments, boosts) where a source gives it.
        """CREATE TABLE reach (
            mention_id BIGINT NOT NULL REFERENCES mentions (id),
            at DOUBLE PRECISION NOT NULL,
            value BIGINT NOT NULL
        )""",
        "CREATE INDEX reach_mention ON reach (mention_id, at)",
    ],
    # 7: volume bounds (issue 11): what the bounds held back (stored, not alerted), for the
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
