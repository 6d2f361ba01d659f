"""What the audit trail records of dissemination: one entry per dispatch fanned out (not one per
recipient), and each inbox item opened, or refused."""

from agencies.models import AuditAction, AuditEntry, Role
from dissemination.fanout import fan_out
from dissemination.models import Delivery, Dispatch
from tests.factories import UserFactory

ADDRESS = "192.0.2.44"


def test_a_fan_out_is_one_entry_with_the_count(analyst, supervisor, county_eoc, coordinator, publish):
    for number in range(3):
        UserFactory(username=f"watch{number}", agency=county_eoc, roles=[Role.EOC_COORDINATOR])
    product = publish(analyst, audience_agencies=[county_eoc])
    dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)
    assert fan_out(dispatch_id=dispatch.pk)
    [entry] = AuditEntry.objects.filter(action=AuditAction.DISSEMINATE)
    assert (entry.person, entry.agency, entry.item_type, entry.item_id, entry.item_label) == (
        supervisor,
        product.originating_agency,
        "sharing.threatproduct",
        product.pk,
        product.number,
    )
    assert entry.detail["recipients"] == 4
    assert entry.detail["dispatch"] == dispatch.pk
    assert entry.detail["dispatch_action"] == "publish"
    assert not fan_out(dispatch_id=dispatch.pk)
    assert AuditEntry.objects.filter(action=AuditAction.DISSEMINATE).count() == 1


def test_opening_an_inbox_item_is_recorded_and_someone_elses_is_refused(
    client, analyst, coordinator, agency_admin, county_eoc, publish
):
    product = publish(analyst, audience_agencies=[county_eoc])
    dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)
    fan_out(dispatch_id=dispatch.pk)
    delivery = Delivery.objects.get(dispatch=dispatch, recipient=coordinator, channel="inbox")
    client.force_login(coordinator)
    assert client.get(f"/inbox/{delivery.pk}/open/", REMOTE_ADDR=ADDRESS).status_code == 302
    [opened] = AuditEntry.objects.filter(action=AuditAction.OPEN)
    assert (opened.person, opened.item_type, opened.item_id, opened.item_label, opened.address) == (
        coordinator,
        "sharing.threatproduct",
        product.pk,
        product.number,
        ADDRESS,
    )
    client.force_login(agency_admin)
    assert client.get(f"/inbox/{delivery.pk}/open/").status_code == 404
    [refused] = AuditEntry.objects.filter(action=AuditAction.OPEN, outcome="denied")
    assert (refused.person, refused.item_type, refused.item_id) == (agency_admin, "dissemination.delivery", delivery.pk)
