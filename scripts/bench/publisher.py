"""The outage scenario's publisher, a process of its own on the outage's Redis: it publishes products
through the real workflow at a steady pace and prints each dispatch id; with --sweep it re-queues
the fan-out of those dispatches not yet fanned out (what the periodic sweep does after its grace
period) until every one is."""

from __future__ import annotations

import argparse
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--analyst", type=int, required=True)
    parser.add_argument("--supervisor", type=int, required=True)
    parser.add_argument("--agencies", type=int, nargs="*", default=[])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--sweep", type=int, nargs="*", help="Dispatch ids to see through to the end.")
    options = parser.parse_args()
    django.setup()
    from agencies.models import Agency, User
    from dissemination.models import Dispatch
    from dissemination.tasks import enqueue, fan_out_dispatch

    from .scenarios import Cast, dispatch_of, publish

    if options.sweep is not None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            left = list(
                Dispatch.objects.filter(pk__in=options.sweep)
                .exclude(state=Dispatch.State.FANNED_OUT)
                .values_list("pk", flat=True)
            )
            if not left:
                break
            for dispatch_id in left:
                enqueue(fan_out_dispatch, dispatch_id)
            time.sleep(3)
        return
    people = User.objects.in_bulk([options.analyst, options.supervisor])
    agencies = list(Agency.objects.filter(pk__in=options.agencies))
    cast = Cast(coordinator=None, coordinators=[], partner=None, analyst=people[options.analyst],
                supervisor=people[options.supervisor], eoc=None, incident=None, fan_out_agencies=agencies)  # fmt: skip
    started, n = time.monotonic(), 0
    while time.monotonic() - started < options.seconds:
        chosen = agencies[(n * 20) % len(agencies) :][:20]
        try:
            product = publish(cast, title=f"Bench outage {n} {time.time():.0f}", agencies=chosen)
            print(f"dispatch {dispatch_of(product).pk}", flush=True)
        except Exception as error:  # a refused publish is counted, not fatal
            print(f"error {type(error).__name__}: {error}", flush=True)
        n += 1
        time.sleep(options.every)


if __name__ == "__main__":
    main()
