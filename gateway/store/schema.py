"""Tables, as SQLAlchemy Core metadata; Alembic migrations create them.

Column sizes come from `gateway/domain/bounds.py`, as do the API models' limits.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from gateway.domain.bounds import (
    AGENCY_ID_MAX,
    AGENCY_REF_MAX,
    FLOW_ID_MAX,
    MESSAGE_ID_MAX,
    ORDER_ID_MAX,
)

metadata = MetaData()
OPEN_STATES = "state IN ('pending', 'in_flight')"  # handoffs not yet delivered or dead

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", String(ORDER_ID_MAX), primary_key=True),
    Column("origin", String(AGENCY_ID_MAX), nullable=False),
    Column("flow_id", String(FLOW_ID_MAX), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("lead_agency", String(AGENCY_ID_MAX)),
    Column("document", Text, nullable=False),
    Column("last_update_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("origin", "flow_id", name="uq_work_orders_origin_flow"),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(ORDER_ID_MAX), nullable=False, unique=True),
    Column("order_id", String(ORDER_ID_MAX), nullable=False),
    Column("agency", String(AGENCY_ID_MAX), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("lane", String(16), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("body_digest", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_until", Float),
    Column("lease_owner", String(80)),
    Column("claim", String(32)),  # token of the claim in force: fences outcomes (fence.py)
    Column("traceparent", String(64)),  # the trace the row was written in (tracing on)
    Column("last_error", Text),
    Column("last_status", Integer),
    Column("agency_ref", String(AGENCY_REF_MAX)),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float),
    # claims read one agency and lane at a time in (next_attempt_at, seq) order, and stop
    Index("ix_handoffs_due", "state", "agency", "lane", "next_attempt_at", "seq"),
    Index("ix_handoffs_fifo", "order_id", "agency", "seq"),
    # the claim's FIFO check: is an older handoff of this order and agency still open?
    Index(
        "ix_handoffs_open_fifo",
        "order_id",
        "agency",
        "seq",
        postgresql_where=text(OPEN_STATES),
        sqlite_where=text(OPEN_STATES),
    ),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("party", String(AGENCY_ID_MAX), primary_key=True),
    Column("message_id", String(MESSAGE_ID_MAX), primary_key=True),
    Column("received_at", Float, nullable=False),
    # the exact bytes the sender signed, sealed like handoff bodies (evidence bundles)
    Column("body", LargeBinary, nullable=True),
)

agency_state = Table(
    "agency_state",
    metadata,
    Column("agency", String(AGENCY_ID_MAX), primary_key=True),
    Column("disabled", Boolean, nullable=False, default=False),  # the endpoint answered 410
    Column("reason", Text),
    Column("paused", Boolean, nullable=False, default=False, server_default=false()),  # by hand
    Column("changed_by", String(80)),
    Column("updated_at", Float, nullable=False),
)

agency_standing = Table(
    "agency_standing",
    metadata,
    Column("agency", String(AGENCY_ID_MAX), primary_key=True),
    Column("announced", String(16), nullable=False),  # ok | failing | disabled | resumed
    Column("failures", Integer, nullable=False),  # in a row, since the last delivery
    Column("failing_since", Float),  # the first of those failures; NULL after a delivery
    Column("exhausted_at", Float),  # when agency_exhausted was last raised
    Column("exhausted_unreported", Integer, nullable=False),  # dead letters since then
    Column("updated_at", Float, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("at_us", BigInteger, nullable=False),
    Column("event", String(40), nullable=False),
    Column("order_id", String(ORDER_ID_MAX)),
    Column("handoff_id", String(ORDER_ID_MAX)),
    Column("party", String(AGENCY_ID_MAX)),
    Column("payload_digest", String(64)),
    Column("signature", Text),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Index("ix_audit_order", "order_id"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_checkpoints = Table(  # signed checkpoints of the chain (gateway/service/checkpoints.py)
    "audit_checkpoints",
    metadata,
    Column(
        "number",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("statement", Text, nullable=False),  # the signed statement, canonical JSON
    Column("signature", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("timestamp", Text),  # base64 RFC 3161 TimeStampResp, when a TSA is configured
    Column("leaves", Text, nullable=False),  # 16-hex prefixes of the entry hashes
    Column("witnessed", Boolean, nullable=False),
    Index("ix_audit_checkpoints_last", "last_seq", unique=True),
    Index(  # the checkpointer looks for these every pass: a handful among millions
        "ix_audit_checkpoints_unwitnessed",
        "number",
        postgresql_where=text("NOT witnessed"),
        sqlite_where=text("NOT witnessed"),
    ),
)

poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("party", String(AGENCY_ID_MAX), primary_key=True),
    Column("cursor", String(200), nullable=False),
    Column("updated_at", Float, nullable=False),
)

order_watches = (
    Table(  # an order's deadline watches: one row per order (gateway/store/watch_plan.py)
        "order_watches",
        metadata,
        Column("order_id", String(ORDER_ID_MAX), primary_key=True),
        Column(
            "plan", Text, nullable=False
        ),  # JSON: [{kind, level, agency, due_at, state, fired_at}]
        Column("next_due", Float),  # the soonest armed due_at; NULL when nothing is armed
        Index(
            "ix_order_watches_due",
            "next_due",
            postgresql_where=text("next_due IS NOT NULL"),
            sqlite_where=text("next_due IS NOT NULL"),
        ),
    )
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("owner", String(AGENCY_ID_MAX), primary_key=True),  # "self" or an agency id
    Column("key_id", String(16), primary_key=True),
    Column("scheme", String(8), nullable=False),
    Column("material", Text),  # an agency's key text; ours sealed; NULL for a configured key
    Column("state", String(12), nullable=False),  # active | retiring | retired
    Column("created_at", Float, nullable=False),
    Column("retire_at", Float),
    Column("retired_at", Float),
)

console_revocations = Table(
    "console_revocations",
    metadata,
    Column("nonce", String(64), primary_key=True),  # of a console session ended by logout
    Column("expires_at", Float, nullable=False),  # when the session would have ended anyway
)

readiness_probes = Table(
    "readiness_probes",
    metadata,
    Column("node", String(80), primary_key=True),
    Column("at", Float, nullable=False),  # rewritten by /readyz: the database takes writes
)
