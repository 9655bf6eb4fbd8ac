"""Tamper-evident audit: a hash chain per tenant on audit_log; on PostgreSQL an owner and an app role.

Columns (all nullable: rows written before this migration stay as they were, unchained, and
``ipledge audit verify`` reports them as such): ``seq`` (the tenant's row number), ``request_hash`` /
``response_hash`` (SHA-256 of the assessment's stored request and response JSON), ``prev_hash`` and
``row_hash`` (see ipledge.api.store.append_audit). A unique (tenant_id, seq) index refuses a forked chain.

PostgreSQL: the append-only triggers also refuse TRUNCATE; roles ``ipledge_owner`` (owns the tables,
runs migrations) and ``ipledge_app`` (what the server should log in as: SELECT/INSERT, UPDATE only
where rows change by design, no TRUNCATE, no REFERENCES/TRIGGER, and as a non-owner it cannot ALTER
a table or disable its triggers). Both are NOLOGIN groups; the README shows how to give each a
login. Roles are created only when the migrating user may (superuser or CREATEROLE); otherwise
the step is skipped with a notice and the grants apply to roles that already exist.

Revision ID: 0003_audit_chain
Revises: 0002_portfolio_jobs
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_audit_chain"
down_revision = "0002_portfolio_jobs"
branch_labels = None
depends_on = None

OWNER, APP = "ipledge_owner", "ipledge_app"
#: table -> privileges of the application role (append-only tables get no UPDATE/DELETE)
APP_GRANTS = {
    "tenants": "SELECT, INSERT",
    "api_keys": "SELECT, INSERT, UPDATE",        # revoked_at
    "assessments": "SELECT, INSERT",
    "audit_log": "SELECT, INSERT",
    "idempotency_keys": "SELECT, INSERT",
    "portfolio_jobs": "SELECT, INSERT, UPDATE",  # queued -> running -> done | failed
    "alembic_version": "SELECT",                 # the server checks the revision at start
}
COLUMNS = ("seq", "request_hash", "response_hash", "prev_hash", "row_hash")


def _create_roles_sql() -> str:
    return f"""
DO $$
DECLARE can_create boolean;
BEGIN
  SELECT rolsuper OR rolcreaterole INTO can_create FROM pg_roles WHERE rolname = current_user;
  IF NOT can_create THEN
    RAISE NOTICE 'ipledge: % may not create roles; {OWNER}/{APP} not created', current_user;
    RETURN;
  END IF;
  BEGIN CREATE ROLE {OWNER} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE {APP} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
END $$"""


def grant_app_role(tables: dict[str, str]) -> None:
    """Grant the application role its privileges on ``tables`` (for later migrations' new tables too).

    Also hands the tables to the owner role when the migrating user may do so."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    roles = {r for (r,) in bind.execute(sa.text(
        "SELECT rolname FROM pg_roles WHERE rolname IN (:o, :a)"), {"o": OWNER, "a": APP})}
    is_super = bind.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar()
    if OWNER in roles and is_super:  # the owner runs foreign-key checks and later migrations here
        op.execute(f'GRANT USAGE, CREATE ON SCHEMA "{schema}" TO {OWNER}')
    for table, privileges in tables.items():
        if OWNER in roles and is_super:
            op.execute(f'ALTER TABLE "{schema}"."{table}" OWNER TO {OWNER}')
        if APP in roles:
            op.execute(f'REVOKE ALL ON "{schema}"."{table}" FROM {APP}')
            op.execute(f'GRANT {privileges} ON "{schema}"."{table}" TO {APP}')
    if APP in roles:
        op.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {APP}')
        op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {APP}')
    if OWNER in roles and is_super:
        for (seq,) in bind.execute(sa.text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")):
            op.execute(f'ALTER SEQUENCE "{schema}"."{seq}" OWNER TO {OWNER}')


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("audit_log", sa.Column(name, sa.BigInteger if name == "seq" else sa.String(64), nullable=True))
    op.create_index("ux_audit_log_tenant_seq", "audit_log", ["tenant_id", "seq"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        for table in ("assessments", "audit_log"):
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION ipledge_append_only()")
        op.execute(_create_roles_sql())
        grant_app_role(APP_GRANTS)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        roles = {r for (r,) in bind.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname = :a"), {"a": APP})}
        if APP in roles:
            for table in APP_GRANTS:
                op.execute(f'REVOKE ALL ON "{table}" FROM {APP}')
        for table in ("assessments", "audit_log"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        # the roles stay: they are cluster-wide and may serve other schemas or databases
    op.drop_index("ux_audit_log_tenant_seq", table_name="audit_log")
    for name in reversed(COLUMNS):
        op.drop_column("audit_log", name)
