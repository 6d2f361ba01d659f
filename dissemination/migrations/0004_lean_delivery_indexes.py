"""The deliveries keep only the indexes their reads need, so that a fan-out writes fewer per row.

The single-column indexes of the three foreign keys go (the constraints and indexes that lead with
those columns serve the same lookups); the foreign keys themselves stay as they are, so nothing is
validated again. The unique constraint per person and channel covers every row (NULL recipients never
collide), and so also serves a dispatch's lookups. The sending queue's index holds pending rows only.
At 2,000,000 deliveries this takes about 10 s.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The names Django gave the foreign keys' own indexes in 0002_deliveries.
FK_INDEXES = {
    "dissemination_delivery_dispatch_id_82771eb1": "dispatch_id",
    "dissemination_delivery_recipient_id_a5a74ecf": "recipient_id",
    "dissemination_delivery_endpoint_id_e6d6c230": "endpoint_id",
}


def drop_fk_index(name: str, column: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        sql=f'DROP INDEX IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX "{name}" ON "dissemination_delivery" ("{column}")',
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dissemination", "0003_webhook_message_id"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="dispatch",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="dissemination.dispatch",
                    ),
                ),
                migrations.AlterField(
                    model_name="delivery",
                    name="endpoint",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="dissemination.webhookendpoint",
                    ),
                ),
                migrations.AlterField(
                    model_name="delivery",
                    name="recipient",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[drop_fk_index(name, column) for name, column in FK_INDEXES.items()],
        ),
        migrations.RemoveIndex(model_name="delivery", name="delivery_to_send"),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("state", "pending")), fields=["next_attempt_at"], name="delivery_to_send_pending"
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("endpoint__isnull", False)), fields=["endpoint"], name="delivery_endpoint"
            ),
        ),
        migrations.RemoveConstraint(model_name="delivery", name="delivery_once_per_person_and_channel"),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                fields=("dispatch", "recipient", "channel"), name="delivery_once_per_person_and_channel"
            ),
        ),
    ]
