"""The audit trail's pages: search for system and agency admins, and the CSV export of a search.

Reading the trail is itself recorded (CJIS: any access to the audit log)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import audit
from .audit_forms import AuditFilterForm
from .audit_models import AuditAction


def _check_may_read(request: HttpRequest) -> None:
    if not audit.may_read_audit(request.user):
        raise PermissionDenied("Only system admins and agency admins read the audit trail.")


def _positive_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) > 0 else None


@login_required
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    _check_may_read(request)
    form = AuditFilterForm(request.GET)
    form.is_valid()
    filters = form.to_filters()
    before = _positive_int(request.GET.get("before"))
    entries, next_before = audit.audit_page(audit.audit_entries(admin=request.user, filters=filters), before=before)
    audit.record_audit(
        action=AuditAction.AUDIT_SEARCH, request=request, detail={**filters.as_detail(), "before": before}
    )
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "agencies/audit_trail.html",
        {
            "form": form,
            "entries": entries,
            "next_before": next_before,
            "before": before,
            "query": query.urlencode(),
            "scope": "all agencies" if request.user.is_system_admin else request.user.agency.name,
        },
    )


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The whole filtered set as CSV, streamed (an export of a year is millions of rows)."""
    _check_may_read(request)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        messages = "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponse(f"The export was not made. {messages}", status=400, content_type="text/plain")
    filters = form.to_filters()
    audit.record_audit(action=AuditAction.AUDIT_EXPORT, request=request, detail=filters.as_detail())
    rows = audit.audit_csv_rows(audit.audit_entries(admin=request.user, filters=filters))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="fusionhub-audit-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
