"""SQLite: new messages wait in a queue for the full-text index instead of entering it at once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:20:00.000000

Adding its messages to the FTS5 index cost each update about 0.1 ms of its 3, as the
index wrote a segment per tiny transaction. New messages now only note their id in
`conversation_events_unindexed`; `bot.storage.search_index.index_new_messages` adds them
to the index in batches (every second beside the WAL checkpoint, and before every search,
so a search still finds everything). Deleting or changing a message takes it out of the
index only if it is in it. PostgreSQL's GIN index is unchanged.
"""

from __future__ import annotations

from importlib import import_module

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The triggers of 0004, put back by the downgrade.
_OLD_TRIGGERS = [
    statement
    for statement in import_module("bot.migrations.versions.0004_staff_dashboard").SQLITE_FTS
    if statement.startswith("CREATE TRIGGER")
]
# Only a message in the index may be deleted from it: FTS5 takes an external-content
# 'delete' on trust, and one for a message it never had corrupts the index.
_NEW_TRIGGERS = [
    "CREATE TRIGGER conversation_events_fts_ai AFTER INSERT ON conversation_events BEGIN "
    "INSERT INTO conversation_events_unindexed(event_id) VALUES (new.id); END",
    "CREATE TRIGGER conversation_events_fts_ad AFTER DELETE ON conversation_events BEGIN "
    "INSERT INTO conversation_events_fts(conversation_events_fts, rowid, body) "
    "SELECT 'delete', old.id, old.body WHERE NOT EXISTS "
    "(SELECT 1 FROM conversation_events_unindexed WHERE event_id = old.id); "
    "DELETE FROM conversation_events_unindexed WHERE event_id = old.id; END",
    "CREATE TRIGGER conversation_events_fts_au AFTER UPDATE OF body ON conversation_events BEGIN "
    "INSERT INTO conversation_events_fts(conversation_events_fts, rowid, body) "
    "SELECT 'delete', old.id, old.body WHERE NOT EXISTS "
    "(SELECT 1 FROM conversation_events_unindexed WHERE event_id = old.id); "
    "INSERT OR IGNORE INTO conversation_events_unindexed(event_id) VALUES (new.id); END",
]
_DROP_TRIGGERS = [
    f"DROP TRIGGER IF EXISTS conversation_events_fts_{suffix}" for suffix in ("ai", "ad", "au")
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Every message is in the index already (the old triggers put it there): none waits.
    op.execute("CREATE TABLE conversation_events_unindexed (event_id INTEGER PRIMARY KEY)")
    for statement in _DROP_TRIGGERS + _NEW_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO conversation_events_fts(rowid, body) SELECT e.id, e.body "
        "FROM conversation_events_unindexed AS u JOIN conversation_events AS e ON e.id = u.event_id"
    )
    for statement in _DROP_TRIGGERS + _OLD_TRIGGERS:
        op.execute(statement)
    op.execute("DROP TABLE conversation_events_unindexed")
