"""A lender's live book: loans, loan events, loan valuations, alerts; audit_log.loan_id (issue 17).

``loans``, ``loan_events`` and ``loan_valuations`` are append-only (database triggers, as for the
assessments). ``alerts`` is not: an alert is acknowledged once (its ack columns go NULL -> set); the
acknowledgement itself is an append-only audit row. The new nullable ``audit_log.loan_id`` links an
audit row to its loan.

Revision ID: 0003_loans
Revises: 0003_audit_chain
Create Date: 2026-12-01
"""
import importlib

import sqlalchemy as sa
from alembic import op

_audit_chain = importlib.import_module("ipledge.api.migrations.versions.0003_audit_chain")

revision = "0003_loans"
down_revision = "0003_audit_chain"
branch_labels = None
depends_on = None

APPEND_ONLY = ("loans", "loan_events", "loan_valuations")


def upgrade() -> None:
    op.create_table(
        "loans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("assessment_id", sa.String(32), sa.ForeignKey("assessments.id"), nullable=False),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("drawdown_date", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("monitoring_json", sa.Text, nullable=False),
    )
    op.create_index("ix_loans_tenant_id_id", "loans", ["tenant_id", "id"])
    op.create_table(
        "loan_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("loan_id", sa.String(32), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("event_date", sa.String(10), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("loan_id", "seq", name="uq_loan_events_loan_seq"),
    )
    op.create_table(
        "loan_valuations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("loan_id", sa.String(32), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(32), nullable=True),
        sa.Column("n_events", sa.Integer, nullable=False),
        sa.Column("balance", sa.Float, nullable=False),
        sa.Column("collateral_value", sa.Float, nullable=False),
        sa.Column("ltv", sa.Float, nullable=True),
        sa.Column("pd", sa.Float, nullable=False),
        sa.Column("expected_loss", sa.Float, nullable=False),
        sa.Column("decision", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("summary_json", sa.Text, nullable=False),
        sa.Column("request_json", sa.Text, nullable=False),
        sa.Column("params_json", sa.Text, nullable=True),
        sa.Column("response_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("loan_id", "seq", name="uq_loan_valuations_loan_seq"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("loan_id", sa.String(32), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("valuation_id", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("numbers_json", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(32), nullable=True),
        sa.Column("ack_note", sa.Text, nullable=True),
        sa.CheckConstraint("status IN ('open', 'acknowledged')", name="ck_alerts_status"),
    )
    op.create_index("ix_alerts_tenant_id_id", "alerts", ["tenant_id", "id"])
    # plain nullable ADD COLUMN: no table rebuild, audit_log's append-only triggers stay (as in 0002)
    op.add_column("audit_log", sa.Column("loan_id", sa.String(32), nullable=True))

    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        elif dialect == "postgresql":  # ipledge_append_only() comes from 0001_initial
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION ipledge_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION ipledge_append_only()")
    # the application role (0003_audit_chain) gets no UPDATE/DELETE on the append-only tables
    _audit_chain.grant_app_role({"loans": "SELECT, INSERT", "loan_events": "SELECT, INSERT",
                                 "loan_valuations": "SELECT, INSERT", "alerts": "SELECT, INSERT, UPDATE"})


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.drop_column("audit_log", "loan_id")
    op.drop_index("ix_alerts_tenant_id_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("loan_valuations")
    op.drop_table("loan_events")
    op.drop_index("ix_loans_tenant_id_id", table_name="loans")
    op.drop_table("loans")
