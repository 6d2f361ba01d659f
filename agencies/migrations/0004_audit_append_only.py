"""The audit trail is append-only: the database refuses UPDATE, DELETE and TRUNCATE of its tables.

Two doors stay, each opened only by a setting of the transaction (or, for the second, of a test
database):
- `fusionhub.audit_archiving = 'on'` lets the archive task (agencies.audit.archive_old_entries)
  delete from the live table the rows it moves, in the same statement, into the archive;
- `fusionhub.audit_allow_truncate = 'on'` lets a throw-away test database be emptied between tests
  (set on the test database only, by tests/conftest.py); production never sets it.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION fusionhub_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'agencies_auditentry'
       AND current_setting('fusionhub.audit_archiving', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'TRUNCATE' AND current_setting('fusionhub.audit_allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'The audit trail is append-only: % of % is refused.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

TRIGGERS = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION fusionhub_audit_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION fusionhub_audit_append_only();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""

TABLES = ("agencies_auditentry", "agencies_archivedauditentry")


class Migration(migrations.Migration):
    dependencies = [("agencies", "0003_audit_trail")]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS fusionhub_audit_append_only() CASCADE;"),
        *(migrations.RunSQL(TRIGGERS.format(table=table), DROP_TRIGGERS.format(table=table)) for table in TABLES),
    ]
