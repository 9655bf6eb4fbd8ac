"""Portfolio stress jobs in the database (any API worker can answer a job's status); audit_log.job_id.

``portfolio_jobs`` is NOT append-only: a job row goes queued -> running -> done | failed. The
submission itself is recorded append-only in ``audit_log`` (action ``portfolio.submit``), whose new
nullable ``job_id`` column links the audit row to its job.

Revision ID: 0002_portfolio_jobs
Revises: 0001_initial
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_portfolio_jobs"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portfolio_jobs",
        sa.Column("id", sa.String(32), primary_key=True),  # new_id(): ULID-style, sorts by creation time
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("n_loans", sa.Integer, nullable=False),
        sa.Column("paths", sa.Integer, nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("result_json", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_portfolio_jobs_status"),
    )
    op.create_index("ix_portfolio_jobs_tenant_id_id", "portfolio_jobs", ["tenant_id", "id"])
    # A plain ADD COLUMN (nullable, no default) on both SQLite and PostgreSQL: no table rebuild, so the
    # append-only triggers of audit_log stay in place and no existing row is updated.
    op.add_column("audit_log", sa.Column("job_id", sa.String(32), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops the column natively (the append-only triggers do not name it and stay).
    op.drop_column("audit_log", "job_id")
    op.drop_index("ix_portfolio_jobs_tenant_id_id", table_name="portfolio_jobs")
    op.drop_table("portfolio_jobs")
