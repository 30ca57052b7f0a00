"""audit chain keyed with HMAC (key id per entry); on PostgreSQL the least-privilege role and audit_prune()

Revision ID: audit_0003_keyed
Revises: audit_0002_spool

On PostgreSQL this also
- creates ``audit_prune(keep_from, cutoff, pruned)``, a SECURITY DEFINER function (owned by the role
  running the migration) through which an app role without DELETE on ``audit_log`` prunes it;
- when the migrating role may create roles: creates the NOLOGIN role named by
  ``MODULES__AUDIT__APP_ROLE`` (default ``saas_app``) that may read and write every table except
  ``audit_log``, where it may only SELECT and INSERT, and execute ``audit_prune``. Run the app as a
  LOGIN role that is a member of it (docs/operations.md, "Least privilege on PostgreSQL").
Entries written before this revision keep ``key_id`` NULL and verify as legacy SHA-256 entries once
``MODULES__AUDIT__LEGACY_UNTIL`` is set to the last of them, which the upgrade prints.

Formerly 0009_audit_keyed of the single chain (migrations/env.py adopts such databases).
"""
import os
import re

from alembic import op
import sqlalchemy as sa


revision = 'audit_0003_keyed'
down_revision = 'audit_0002_spool'
branch_labels = None
depends_on = None

ADVISORY_LOCK_KEY = 0x6175646974  # app.modules.audit.chain.ADVISORY_LOCK_KEY

PRUNE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_prune(keep_from bigint, cutoff timestamptz, pruned jsonb)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_id bigint;
    last_hash text;
    head text;
    deleted bigint;
BEGIN
    PERFORM pg_advisory_xact_lock({ADVISORY_LOCK_KEY});
    IF cutoff > now() - interval '1 day' THEN
        RAISE EXCEPTION 'audit_prune: the cutoff must be at least a day old';
    END IF;
    IF EXISTS (SELECT 1 FROM audit_log WHERE id < keep_from AND created_at >= cutoff) THEN
        RAISE EXCEPTION 'audit_prune: entries before % are younger than the cutoff', keep_from;
    END IF;
    SELECT id, hash INTO last_id, last_hash FROM audit_log WHERE id < keep_from ORDER BY id DESC LIMIT 1;
    IF last_id IS NULL THEN
        RETURN 0;
    END IF;
    SELECT hash INTO head FROM audit_log ORDER BY id DESC LIMIT 1;
    SELECT count(*) INTO deleted FROM audit_log WHERE id < keep_from;
    IF pruned->>'action' IS DISTINCT FROM 'audit.pruned'
       OR pruned->>'prev_hash' IS DISTINCT FROM head
       OR (pruned->'details'->>'anchor_id')::bigint IS DISTINCT FROM last_id
       OR pruned->'details'->>'anchor_hash' IS DISTINCT FROM last_hash
       OR (pruned->'details'->>'deleted')::bigint IS DISTINCT FROM deleted THEN
        RAISE EXCEPTION 'audit_prune: the audit.pruned entry does not describe this prune';
    END IF;
    DELETE FROM audit_log WHERE id < keep_from;
    INSERT INTO audit_log (entry_id, actor_id, action, resource_type, resource_id, details, organization_id,
                           ip, user_agent, request_id, created_at, key_id, prev_hash, hash)
    SELECT entry_id, actor_id, action, resource_type, resource_id, details, organization_id,
           ip, user_agent, request_id, created_at, key_id, prev_hash, hash
    FROM jsonb_populate_record(NULL::audit_log, pruned);
    RETURN deleted;
END $$;
REVOKE ALL ON FUNCTION audit_prune(bigint, timestamptz, jsonb) FROM PUBLIC;
"""


def _app_role() -> str:
    role = os.environ.get("MODULES__AUDIT__APP_ROLE", "saas_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise RuntimeError(f"MODULES__AUDIT__APP_ROLE={role!r} is not a role name; expected [a-z_][a-z0-9_]*")
    return role


def _least_privilege_role(role: str) -> None:
    bind = op.get_bind()
    allowed = bind.execute(sa.text(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar()
    exists = bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    if not exists and not allowed:
        print(f"audit: the role {role} was not created (the migrating role may not create roles); "
              "least-privilege mode is not available")
        return
    # Roles are shared by the whole server: another database's migration may create it at the same time.
    op.execute(f"""
DO $$ BEGIN
    CREATE ROLE {role} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
""")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}")
    op.execute(f"GRANT EXECUTE ON FUNCTION audit_prune(bigint, timestamptz, jsonb) TO {role}")


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=32), nullable=True))
    last = op.get_bind().execute(sa.text("SELECT max(id) FROM audit_log")).scalar()
    if last is not None:
        print(f"audit: entries up to id {last} were written before keys; set MODULES__AUDIT__LEGACY_UNTIL={last} "
              "so that `flask audit verify` accepts them (as unkeyed legacy entries)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PRUNE_FUNCTION)
        _least_privilege_role(_app_role())


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        role = _app_role()
        exists = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
        if exists:  # the role is the server's; only this database's grants go
            op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {role}")
            op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {role}")
            op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
            op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
            op.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")
        op.execute("DROP FUNCTION IF EXISTS audit_prune(bigint, timestamptz, jsonb)")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('key_id')
