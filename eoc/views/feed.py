"""The incident feed on the browser: the feed part of a page (filters, keyset pages, the post form,
live-update addresses), the fragment a polling page asks for, acknowledging and correcting entries,
downloading their attachments, and the EOC-wide feed."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from agencies.audit import ItemRef, record_audit, recording_denial
from agencies.models import Agency, AuditAction
from agencies.uploads import download_response

from .. import selectors
from ..forms import EntryForm, FeedFilterForm, add_service_errors
from ..models import FeedEntry, Incident
from ..services.feed import acknowledge_entry, correct_entry, may_post_to, post_entry
from .common import entry_or_404, eoc_or_404, incident_or_404, positive_int

FILTER_FIELDS = ("kind", "priority", "agency")


def _scope(incident: Incident | None, eoc: Agency | None) -> dict:
    return {"incident_id": incident.pk} if incident is not None else {"eoc_id": eoc.pk}


def may_post_here(person, *, incident: Incident | None, eoc: Agency | None) -> bool:
    if incident is not None and incident.is_closed:
        return False
    return may_post_to(person, eoc=incident.lead_eoc if incident is not None else eoc, incident=incident)


def feed_context(
    request: HttpRequest, *, incident: Incident | None = None, eoc: Agency | None = None, entry_form=None
) -> dict:
    """The feed part of the incident page or the EOC-wide feed page: a keyset page of entries the
    person may see, the filters, the post form for those who may post, and the live addresses."""
    person = request.user
    scope = _scope(incident, eoc)
    filter_form = FeedFilterForm(request.GET or None, agencies=selectors.feed_author_agencies(person=person, **scope))
    filters = filter_form.filters()
    before = positive_int(request.GET.get("before"))
    page = selectors.read_feed_page(person=person, **scope, **filters, before=before)
    _record_feed_view(request, incident=incident, eoc=eoc, entries=page.entries, part="page")
    may_post = may_post_here(person, incident=incident, eoc=eoc)
    query = urlencode({name: request.GET[name] for name in FILTER_FIELDS if request.GET.get(name)})
    if incident is not None:
        feed_url = reverse("eoc:incident-detail", args=[incident.pk])
        stream_url = reverse("eoc:incident-feed-stream", args=[incident.pk])
        fragment_url = reverse("eoc:incident-feed-fragment", args=[incident.pk])
        post_url = reverse("eoc:entry-create", args=[incident.pk])
    else:
        feed_url = reverse("eoc:eoc-feed", args=[eoc.pk])
        stream_url = reverse("eoc:eoc-feed-stream", args=[eoc.pk])
        fragment_url = reverse("eoc:eoc-feed-fragment", args=[eoc.pk])
        post_url = reverse("eoc:eoc-entry-create", args=[eoc.pk])
    return {
        "feed_page": page,
        "filter_form": filter_form,
        "filters": filters,
        "is_filtered": any(filters.values()),
        "before": before,
        "may_post": may_post,
        "entry_form": entry_form or (EntryForm() if may_post else None),
        "entry_post_url": post_url,
        # The page's own address: the same page is also shown at the post form's address when a
        # post is refused, and its filters and page links must lead back here.
        "feed_url": feed_url,
        "stream_url": stream_url,
        "fragment_url": f"{fragment_url}?{query}" if query else fragment_url,
    }


def _record_feed_view(
    request: HttpRequest, *, incident: Incident | None, eoc: Agency | None, entries: list[FeedEntry], part: str
) -> None:
    """One audit entry per feed page shown (not one per entry), naming the entries it showed."""
    record_audit(
        action=AuditAction.VIEW,
        item=incident if incident is not None else eoc,
        request=request,
        detail={"feed": part, "entries": [entry.pk for entry in entries]},
    )


def _fragment(request: HttpRequest, *, incident: Incident | None, eoc: Agency | None) -> HttpResponse:
    """The entries a polling page has not seen (`?after=<id>`), newest first, as the feed's list items."""
    person = request.user
    filter_form = FeedFilterForm(request.GET, agencies=Agency.objects.all())
    entries = selectors.feed_entries(person=person, **_scope(incident, eoc), **filter_form.filters())
    after = positive_int(request.GET.get("after")) or 0
    new_entries = selectors.feed_entries_after(entries, after=after)
    if new_entries:
        _record_feed_view(request, incident=incident, eoc=eoc, entries=new_entries, part="update")
    response = render(
        request,
        "eoc/includes/feed_entries.html",
        {
            "entries": new_entries,
            "may_post": may_post_here(person, incident=incident, eoc=eoc),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def incident_feed_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    return _fragment(request, incident=incident_or_404(request.user, pk), eoc=None)


@login_required
def eoc_feed_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    return _fragment(request, incident=None, eoc=eoc_or_404(pk))


def feed_address(entry: FeedEntry) -> str:
    """Where an entry is read: its incident's page, or its EOC's feed; at the entry itself."""
    if entry.incident_id:
        return f"{reverse('eoc:incident-detail', args=[entry.incident_id])}#entry-{entry.pk}"
    return f"{reverse('eoc:eoc-feed', args=[entry.eoc_id])}#entry-{entry.pk}"


@login_required
@require_POST
def entry_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge an entry; htmx gets the entry back as it now reads, a plain form the page again."""
    entry = entry_or_404(request.user, pk)
    acknowledge_entry(entry=entry, by=request.user)
    if request.headers.get("HX-Request"):
        shown = selectors.feed_entries(person=request.user, **_scope(entry.incident, entry.eoc)).get(pk=entry.pk)
        return render(
            request,
            "eoc/includes/feed_entry.html",
            {"entry": shown, "may_post": may_post_here(request.user, incident=entry.incident, eoc=entry.eoc)},
        )
    messages.success(request, f"Acknowledged “{entry.title}”.")
    return redirect(feed_address(entry))


@login_required
def entry_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct an entry: a new entry that references it; the original stays as it was."""
    entry = entry_or_404(request.user, pk)
    if not may_post_to(request.user, eoc=entry.eoc, incident=entry.incident):
        raise PermissionDenied("Only coordinators of the agencies taking part in the incident correct its entries.")
    form = EntryForm(request.POST or None, request.FILES or None, initial=EntryForm.initial_of(entry))
    if request.method == "POST" and form.is_valid():
        try:
            correction = correct_entry(
                entry=entry, by=request.user, content=form.to_content(), attachments=form.cleaned_data["attachments"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Correction posted: “{correction.title}”.")
            return redirect(feed_address(correction))
    shown = selectors.feed_entries(person=request.user, **_scope(entry.incident, entry.eoc)).filter(pk=entry.pk).first()
    return render(
        request,
        "eoc/entry_correct.html",
        {"entry": shown or entry, "incident": entry.incident, "form": form, "back": feed_address(entry)},
    )


@login_required
@require_GET
def entry_attachment_download(request: HttpRequest, entry_pk: int, pk: int) -> FileResponse:
    """An entry's attachment, as a download, for those who may read the entry in full; whoever may
    read only its tearline, or nothing, gets a 404."""
    refused = ItemRef.of(FeedEntry, entry_pk)
    with recording_denial(request, action=AuditAction.DOWNLOAD, item=refused, detail={"attachment_id": pk}):
        entry = FeedEntry.objects.visible_to(request.user).filter(pk=entry_pk).first()
        if entry is None or not entry.full_access:
            raise Http404("No such attachment.")
    attachment = get_object_or_404(entry.attachments, pk=pk)
    response = download_response(attachment.file, filename=attachment.filename, content_type=attachment.content_type)
    record_audit(
        action=AuditAction.DOWNLOAD,
        item=entry,
        request=request,
        detail={"attachment": attachment.filename, "attachment_id": attachment.pk},
    )
    return response


# --- The EOC-wide feed -----------------------------------------------------------------------


def eoc_feed_page(request: HttpRequest, eoc: Agency, entry_form=None) -> HttpResponse:
    feed = feed_context(request, eoc=eoc, entry_form=entry_form)
    incidents = list(selectors.eoc_incidents(person=request.user, eoc=eoc).order_by("-started_at", "-pk")[:30])
    return render(
        request,
        "eoc/eoc_feed.html",
        {
            "eoc": eoc,
            "status": selectors.activation_status(person=request.user, eoc=eoc),
            "incidents": incidents,
            **feed,
        },
    )


@login_required
def eoc_feed(request: HttpRequest, pk: int) -> HttpResponse:
    return eoc_feed_page(request, eoc_or_404(pk))


@login_required
@require_POST
def eoc_entry_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Post to the EOC-wide feed (an entry of no particular incident)."""
    eoc = eoc_or_404(pk)
    if not may_post_to(request.user, eoc=eoc, incident=None):
        raise PermissionDenied(f"Only coordinators of {eoc.name} and liaison officers post to its feed.")
    form = EntryForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            entry = post_entry(
                by=request.user, content=form.to_content(), eoc=eoc, attachments=form.cleaned_data["attachments"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Posted “{entry.title}” to the EOC-wide feed.")
            return redirect(feed_address(entry))
    return eoc_feed_page(request, eoc, entry_form=form)
