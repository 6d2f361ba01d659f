from agencies.markings import TLP, Caveat
from eoc.models import FeedEntry
from eoc.services.incidents import change_activation
from liaison.models import Relay
from liaison.services import approve_relay


def test_proposed_relay_approved_reaches_the_incident_feed(
    analyst, coordinator, liaison_officer, county_eoc, county, publish, rule, handle_events, flood
):
    rule()
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="Flood", incident=flood)
    product = publish(
        analyst, tlp=TLP.AMBER, caveats=[Caveat.LES], tearline="Expect closures.", audience_jurisdictions=[county]
    )
    handle_events()
    relay = Relay.objects.get(source_id=product.pk)
    assert relay.state == Relay.State.PROPOSED
    assert relay.incident == flood
    approve_relay(relay=relay, by=liaison_officer)
    relay.refresh_from_db()
    assert relay.state == Relay.State.DELIVERED
    entry = FeedEntry.objects.get(pk=relay.delivered_id)
    assert entry.incident == flood
    assert entry.tearline == "Expect closures."
    seen = FeedEntry.objects.visible_to(coordinator).get(pk=entry.pk)
    assert seen.full_access is False
