"""The API frame: who the caller is (session or token), tokens and their revocation, the directory
lists, people managed by their agency admin, one error shape, and the OpenAPI schema and docs."""

import re
from datetime import timedelta
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from knox.crypto import hash_token
from knox.models import AuthToken

from agencies.management.commands.issue_token import Command as IssueTokenCommand
from agencies.models import AccountLockout, AuditAction, AuditEntry, Role, User
from tests.factories import PASSWORD, UserFactory
from tests.second_factor import VerifiedClient as Client
from tests.second_factor import authenticator, current_code

STRONG_PASSWORD = "lantern-orchard-basalt-92"


def token_client(token: str) -> Client:
    """A client without a session that sends the token, as a partner system would."""
    return Client(headers={"Authorization": f"Token {token}"})


def issue_token(client, username: str, password: str = PASSWORD) -> str:
    """A token for the person, asked for as a partner system does: password and authenticator code."""
    code = current_code(authenticator(User.objects.get(username__iexact=username)))
    response = client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password, "code": code},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def assert_error_shape(response, field: str | None = None) -> dict:
    """The one error body: {"errors": {field: [messages]}}, and the field named when given."""
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"}, body
    errors = body["errors"]
    assert errors
    for messages in errors.values():
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(message, str) and message for message in messages)
    if field is not None:
        assert field in errors, errors
    return errors


# --- who is calling -----------------------------------------------------------------------------


def test_me_with_a_session_shows_the_person_their_agency_and_roles(client, sign_in, supervisor):
    sign_in(supervisor)

    response = client.get("/api/v1/me/")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "supervisor"
    assert body["agency"]["acronym"] == "SFC"
    assert body["agency"]["kind"] == "fusion_center"
    assert body["roles"] == ["analyst", "supervisor"]
    assert body["is_law_enforcement"] is True
    assert "password" not in body


def test_me_with_a_token_from_the_token_endpoint(client, coordinator):
    token = issue_token(client, "coordinator")

    response = token_client(token).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["username"] == "coordinator"
    assert response.json()["agency"]["acronym"] == "CEOC"


def test_token_endpoint_takes_the_username_in_any_case(client, coordinator):
    token = issue_token(client, "COORDINATOR")

    assert token_client(token).get("/api/v1/me/").json()["username"] == "coordinator"


def test_issue_token_command_prints_a_working_token_after_the_code(coordinator):
    out = StringIO()
    code = current_code(authenticator(coordinator))

    call_command("issue_token", "coordinator", "--code", code, stdout=out, stderr=StringIO())
    token = out.getvalue().strip()

    response = token_client(token).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "coordinator"
    entry = AuditEntry.objects.get(action=AuditAction.SIGN_IN, person=coordinator)
    assert entry.detail == {"via": "issue_token command", "second_factor": "authenticator"}


def test_issue_token_command_without_a_code_is_refused_with_debug_off(coordinator, settings):
    settings.DEBUG = False
    authenticator(coordinator)
    out = StringIO()

    with pytest.raises(CommandError, match="--code"):
        call_command("issue_token", "coordinator", stdout=out, stderr=StringIO())

    assert out.getvalue() == ""
    assert not AuthToken.objects.exists()


def test_issue_token_command_counts_a_wrong_code_towards_the_lock(coordinator):
    device = authenticator(coordinator)
    for _ in range(4):
        with pytest.raises(CommandError, match="That code is not right"):
            call_command("issue_token", "coordinator", "--code", "000000", stdout=StringIO(), stderr=StringIO())
    assert AccountLockout.objects.get(username="coordinator").failure_count == 4
    failed = AuditEntry.objects.filter(action=AuditAction.SIGN_IN_FAILED, person=coordinator).first()
    assert failed.detail == {
        "username": "coordinator",
        "step": "code",
        "reason": "wrong_code",
        "via": "issue_token command",
    }

    with pytest.raises(CommandError, match="locked"):
        call_command("issue_token", "coordinator", "--code", "000000", stdout=StringIO(), stderr=StringIO())
    # Locked: the right code gets no token either, until an admin unlocks the account.
    with pytest.raises(CommandError, match="locked"):
        call_command("issue_token", "coordinator", "--code", current_code(device), stdout=StringIO(), stderr=StringIO())
    assert not AuthToken.objects.exists()


def test_issue_token_command_needs_no_code_only_with_debug_on_for_the_demo(coordinator, settings):
    settings.DEBUG = True
    out, err = StringIO(), StringIO()

    call_command("issue_token", "coordinator", stdout=out, stderr=err)

    assert token_client(out.getvalue().strip()).get("/api/v1/me/").status_code == 200
    assert "without a second factor" in err.getvalue()
    entry = AuditEntry.objects.get(action=AuditAction.SIGN_IN, person=coordinator)
    assert entry.detail["second_factor"] == "none (DEBUG on, the demo)"


def test_issue_token_command_documents_the_code():
    text = " ".join(IssueTokenCommand().create_parser("manage.py", "issue_token").format_help().split())
    assert "--code" in text
    assert "Only with DEBUG on, for the demo, may --code be left out" in text


def test_anonymous_caller_is_refused_in_the_error_shape(client, db):
    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert_error_shape(response, "non_field_errors")


def test_an_unknown_token_is_refused_in_the_error_shape(db):
    response = token_client("0" * 64).get("/api/v1/me/")

    assert response.status_code == 401
    assert_error_shape(response, "non_field_errors")


def test_token_endpoint_refuses_a_wrong_password(client, coordinator):
    response = client.post(
        "/api/v1/auth/token/", {"username": "coordinator", "password": "wrong"}, content_type="application/json"
    )

    assert response.status_code == 401
    errors = assert_error_shape(response, "non_field_errors")
    assert errors["non_field_errors"] == ["The username or password is not right."]
    assert not AuthToken.objects.exists()


def test_token_endpoint_names_each_missing_field(client, db):
    response = client.post("/api/v1/auth/token/", {}, content_type="application/json")

    assert response.status_code == 400
    errors = assert_error_shape(response)
    assert set(errors) == {"username", "password"}


# --- tokens ---------------------------------------------------------------------------------------


def test_revoked_token_no_longer_works(client, coordinator):
    token = issue_token(client, "coordinator")
    caller = token_client(token)
    assert caller.get("/api/v1/me/").status_code == 200

    response = caller.delete("/api/v1/auth/token/")

    assert response.status_code == 204
    assert not AuthToken.objects.filter(user=coordinator).exists()
    refused = caller.get("/api/v1/me/")
    assert refused.status_code == 401
    assert_error_shape(refused)


def test_revoking_one_token_leaves_the_others_working(client, coordinator):
    first = issue_token(client, "coordinator")
    second = issue_token(client, "coordinator")

    assert token_client(first).delete("/api/v1/auth/token/").status_code == 204

    assert token_client(first).get("/api/v1/me/").status_code == 401
    assert token_client(second).get("/api/v1/me/").status_code == 200


def test_revoking_needs_the_token_itself_not_a_session(client, sign_in, coordinator):
    issue_token(client, "coordinator")
    sign_in(coordinator)

    response = client.delete("/api/v1/auth/token/")

    assert response.status_code == 401
    assert_error_shape(response, "non_field_errors")
    assert AuthToken.objects.filter(user=coordinator).count() == 1


def test_tokens_are_stored_hashed(client, coordinator):
    token = issue_token(client, "coordinator")

    stored = AuthToken.objects.get(user=coordinator)
    assert stored.digest == hash_token(token)
    assert token not in {stored.digest, stored.token_key}
    # Only the short lookup prefix is kept in clear; it is not enough to sign in with.
    assert token.startswith(stored.token_key)
    assert len(stored.token_key) < len(token)
    assert token_client(stored.token_key).get("/api/v1/me/").status_code == 401


def test_expired_token_is_refused(client, coordinator):
    token = issue_token(client, "coordinator")
    AuthToken.objects.filter(user=coordinator).update(expiry=timezone.now() - timedelta(seconds=1))

    response = token_client(token).get("/api/v1/me/")

    assert response.status_code == 401
    assert_error_shape(response)


def test_token_expires_after_the_configured_lifetime(client, settings, coordinator):
    before = timezone.now()
    issue_token(client, "coordinator")

    expiry = AuthToken.objects.get(user=coordinator).expiry
    assert before + settings.REST_KNOX["TOKEN_TTL"] <= expiry <= timezone.now() + settings.REST_KNOX["TOKEN_TTL"]


def test_token_of_an_inactive_person_is_refused(client, coordinator):
    token = issue_token(client, "coordinator")
    User.objects.filter(pk=coordinator.pk).update(is_active=False)

    assert token_client(token).get("/api/v1/me/").status_code == 401


# --- tokens on the profile page -------------------------------------------------------------------


def new_token_on_profile(client) -> str:
    response = client.post("/profile/tokens/")
    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    page = client.get("/profile/").content.decode()
    match = re.search(r'<code data-testid="new-token">([^<]+)</code>', page)
    assert match, "the new token is shown on the profile page"
    return match.group(1)


def test_person_creates_a_token_on_their_profile_and_sees_it_once(client, sign_in, coordinator):
    sign_in(coordinator)

    token = new_token_on_profile(client)

    assert token_client(token).get("/api/v1/me/").json()["username"] == "coordinator"
    again = client.get("/profile/").content.decode()
    assert token not in again
    assert AuthToken.objects.get(user=coordinator).token_key in again


def test_person_revokes_their_token_on_their_profile(client, sign_in, coordinator):
    sign_in(coordinator)
    token = new_token_on_profile(client)
    key = AuthToken.objects.get(user=coordinator).token_key

    response = client.post(f"/profile/tokens/{key}/revoke/")

    assert response.status_code == 302
    assert not AuthToken.objects.filter(user=coordinator).exists()
    assert token_client(token).get("/api/v1/me/").status_code == 401
    assert "You have no API tokens." in client.get("/profile/").content.decode()


def test_person_cannot_revoke_someone_elses_token(client, sign_in, coordinator, analyst):
    _instance, analysts_token = AuthToken.objects.create(user=analyst)
    sign_in(coordinator)

    response = client.post(f"/profile/tokens/{_instance.token_key}/revoke/")

    assert response.status_code == 404
    assert token_client(analysts_token).get("/api/v1/me/").json()["username"] == "analyst"


def test_revoking_a_token_needs_a_post(client, sign_in, coordinator):
    instance, token = AuthToken.objects.create(user=coordinator)
    sign_in(coordinator)

    assert client.get(f"/profile/tokens/{instance.token_key}/revoke/").status_code == 405
    assert token_client(token).get("/api/v1/me/").status_code == 200


def test_token_limit_is_explained_on_the_profile(client, sign_in, settings, coordinator):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 1}
    sign_in(coordinator)
    new_token_on_profile(client)

    response = client.post("/profile/tokens/", follow=True)

    assert "You already have 1 live tokens" in response.content.decode()
    assert AuthToken.objects.filter(user=coordinator).count() == 1


# --- the directory --------------------------------------------------------------------------------


def test_jurisdictions_are_paginated(client, sign_in, analyst, county, other_county):
    sign_in(analyst)

    first = client.get("/api/v1/jurisdictions/?page_size=2").json()
    second = client.get(first["next"]).json()

    assert first["count"] == 3
    assert first["previous"] is None
    assert len(first["results"]) == 2
    assert second["next"] is None
    assert len(second["results"]) == 1
    names = {row["name"] for row in first["results"] + second["results"]}
    assert names == {"North Carolina", "Wake County", "Mecklenburg County"}


def test_jurisdictions_filter_by_fips_code(client, sign_in, analyst, county, other_county):
    sign_in(analyst)

    body = client.get("/api/v1/jurisdictions/?fips_code=37183").json()

    assert body["count"] == 1
    assert body["results"][0] == {
        "id": county.pk,
        "name": "Wake County",
        "kind": "county",
        "fips_code": "37183",
        "parent": county.parent_id,
    }


def test_agencies_filter_by_kind(client, sign_in, analyst, county_eoc, outside_agency):
    sign_in(analyst)

    body = client.get("/api/v1/agencies/?kind=eoc").json()

    assert body["count"] == 1
    assert [row["acronym"] for row in body["results"]] == ["CEOC"]
    assert body["next"] is None


def test_agencies_list_is_paginated_and_every_agency_is_listed(client, sign_in, analyst, county_eoc, outside_agency):
    sign_in(analyst)

    body = client.get("/api/v1/agencies/?page_size=1&ordering=acronym").json()

    assert body["count"] == 3
    assert [row["acronym"] for row in body["results"]] == ["CEOC"]
    assert "page=2" in body["next"]


def test_agency_detail_by_id(client, sign_in, coordinator, fusion_center):
    sign_in(coordinator)

    body = client.get(f"/api/v1/agencies/{fusion_center.pk}/").json()

    assert body["acronym"] == "SFC"
    assert body["jurisdiction"] == fusion_center.jurisdiction_id


def test_an_unknown_filter_value_is_a_field_error(client, sign_in, analyst):
    sign_in(analyst)

    response = client.get("/api/v1/agencies/?kind=castle")

    assert response.status_code == 400
    assert_error_shape(response, "kind")


def test_directory_needs_a_signed_in_caller(client, db):
    for path in ["/api/v1/agencies/", "/api/v1/jurisdictions/"]:
        response = client.get(path)
        assert response.status_code == 401
        assert_error_shape(response)


# --- people, managed by their agency admin ----------------------------------------------------------


def usernames(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["username"] for row in response.json()["results"]}


def post_person(client, **fields):
    body = {"username": "new.person", "first_name": "Casey", "last_name": "Lee", "roles": [], **fields}
    return client.post("/api/v1/users/", body, content_type="application/json")


def test_agency_admin_lists_only_their_own_agencys_people(client, sign_in, agency_admin, coordinator, analyst):
    sign_in(agency_admin)

    assert usernames(client.get("/api/v1/users/")) == {"eoc.admin", "coordinator"}


def test_agency_admin_cannot_widen_the_list_with_a_filter(client, sign_in, agency_admin, analyst):
    sign_in(agency_admin)

    assert usernames(client.get(f"/api/v1/users/?agency={analyst.agency_id}")) == set()


def test_agency_admin_creates_a_person_in_their_agency_with_roles(client, sign_in, agency_admin, county_eoc):
    sign_in(agency_admin)

    response = post_person(
        client, roles=["eoc_coordinator", "liaison_officer"], password=STRONG_PASSWORD, email="casey@example.gov"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["agency"] == county_eoc.pk
    assert body["roles"] == ["eoc_coordinator", "liaison_officer"]
    assert "password" not in body
    person = User.objects.get(username="new.person")
    assert person.agency == county_eoc
    assert person.roles == {Role.EOC_COORDINATOR, Role.LIAISON_OFFICER}
    assert person.check_password(STRONG_PASSWORD)
    assert issue_token(Client(), "new.person", STRONG_PASSWORD)


def test_agency_admin_cannot_place_a_new_person_in_another_agency(client, sign_in, agency_admin, fusion_center):
    sign_in(agency_admin)

    response = post_person(client, agency=fusion_center.pk)

    assert response.status_code == 201
    assert User.objects.get(username="new.person").agency_id == agency_admin.agency_id


def test_person_created_without_a_password_cannot_sign_in_with_one(client, sign_in, agency_admin):
    sign_in(agency_admin)

    assert post_person(client).status_code == 201

    assert not User.objects.get(username="new.person").has_usable_password()


def test_agency_admin_cannot_see_or_edit_a_person_of_another_agency(client, sign_in, agency_admin, analyst):
    sign_in(agency_admin)

    seen = client.get(f"/api/v1/users/{analyst.pk}/")
    edited = client.patch(f"/api/v1/users/{analyst.pk}/", {"title": "Moved"}, content_type="application/json")

    assert seen.status_code == 404
    assert_error_shape(seen)
    assert edited.status_code == 404
    analyst.refresh_from_db()
    assert analyst.title != "Moved"


def test_agency_admin_edits_a_person_of_their_agency(client, sign_in, agency_admin, coordinator):
    sign_in(agency_admin)

    response = client.patch(
        f"/api/v1/users/{coordinator.pk}/",
        {"title": "Planning section chief", "roles": ["eoc_coordinator", "agency_admin"], "is_law_enforcement": True},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    coordinator = User.objects.get(pk=coordinator.pk)
    assert coordinator.title == "Planning section chief"
    assert coordinator.roles == {Role.EOC_COORDINATOR, Role.AGENCY_ADMIN}
    assert coordinator.is_law_enforcement is True


def test_agency_admin_cannot_grant_system_admin(client, sign_in, agency_admin, coordinator):
    sign_in(agency_admin)

    created = post_person(client, roles=["system_admin"])
    edited = client.patch(
        f"/api/v1/users/{coordinator.pk}/", {"roles": ["system_admin"]}, content_type="application/json"
    )

    assert created.status_code == 400
    assert assert_error_shape(created, "roles")["roles"] == [
        "Only a system admin can grant or remove system-admin rights."
    ]
    assert not User.objects.filter(username="new.person").exists()
    assert edited.status_code == 400
    assert_error_shape(edited, "roles")
    assert User.objects.get(pk=coordinator.pk).roles == {Role.EOC_COORDINATOR}
    assert not User.objects.filter(is_superuser=True).exists()


def test_agency_admin_cannot_escalate_themselves(client, sign_in, agency_admin):
    sign_in(agency_admin)

    response = client.patch(
        f"/api/v1/users/{agency_admin.pk}/",
        {"roles": ["agency_admin", "system_admin"]},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert_error_shape(response, "roles")
    agency_admin = User.objects.get(pk=agency_admin.pk)
    assert agency_admin.roles == {Role.AGENCY_ADMIN}
    assert not agency_admin.is_superuser


def test_agency_admin_cannot_deactivate_themselves(client, sign_in, agency_admin):
    sign_in(agency_admin)

    response = client.patch(f"/api/v1/users/{agency_admin.pk}/", {"is_active": False}, content_type="application/json")

    assert response.status_code == 400
    assert_error_shape(response, "is_active")
    assert User.objects.get(pk=agency_admin.pk).is_active


@pytest.mark.parametrize("persona", ["analyst", "coordinator", "outsider"])
def test_people_without_an_admin_role_cannot_manage_people(client, persona, request):
    client.force_login(request.getfixturevalue(persona))

    listed = client.get("/api/v1/users/")
    created = post_person(client)

    assert listed.status_code == 403
    assert_error_shape(listed, "non_field_errors")
    assert created.status_code == 403
    assert not User.objects.filter(username="new.person").exists()


def test_system_admin_sees_and_manages_everyone(client, sign_in, system_admin, agency_admin, coordinator, outsider):
    sign_in(system_admin)

    assert usernames(client.get("/api/v1/users/")) == {"sysadmin", "eoc.admin", "coordinator", "outsider"}
    promoted = client.patch(
        f"/api/v1/users/{agency_admin.pk}/", {"roles": ["system_admin"]}, content_type="application/json"
    )
    assert promoted.status_code == 200, promoted.content
    assert User.objects.get(pk=agency_admin.pk).is_system_admin


def test_a_bad_role_value_is_a_field_error(client, sign_in, agency_admin):
    sign_in(agency_admin)

    response = post_person(client, roles=["commissioner"])

    assert response.status_code == 400
    assert_error_shape(response, "roles")
    assert not User.objects.filter(username="new.person").exists()


def test_a_username_taken_in_another_case_is_a_field_error(client, sign_in, agency_admin, analyst):
    sign_in(agency_admin)

    created = post_person(client, username="ANALYST")
    renamed = client.patch(
        f"/api/v1/users/{agency_admin.pk}/", {"username": "Analyst"}, content_type="application/json"
    )

    assert created.status_code == 400
    assert assert_error_shape(created, "username")["username"] == ["Someone already has this username."]
    assert renamed.status_code == 400
    assert_error_shape(renamed, "username")
    assert User.objects.filter(username__iexact="analyst").count() == 1


@pytest.mark.parametrize("weak", ["password", "12345678", "new.person", "short"])
def test_a_weak_password_is_a_field_error(client, sign_in, agency_admin, weak):
    sign_in(agency_admin)

    response = post_person(client, password=weak)

    assert response.status_code == 400
    assert_error_shape(response, "password")
    assert not User.objects.filter(username="new.person").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"roles": "analyst"}, "roles"),
        ({"username": ""}, "username"),
        ({"username": "has spaces!"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"is_law_enforcement": "perhaps"}, "is_law_enforcement"),
    ],
)
def test_malformed_fields_are_field_errors_never_server_errors(client, sign_in, agency_admin, body, field):
    sign_in(agency_admin)

    response = post_person(client, **body)

    assert response.status_code == 400
    assert_error_shape(response, field)


def test_a_body_that_is_not_json_is_an_error_in_the_one_shape(client, sign_in, agency_admin):
    sign_in(agency_admin)

    response = client.post("/api/v1/users/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert_error_shape(response, "non_field_errors")


def test_people_cannot_be_deleted_through_the_api(client, sign_in, system_admin, coordinator):
    sign_in(system_admin)

    response = client.delete(f"/api/v1/users/{coordinator.pk}/")

    assert response.status_code == 405
    assert_error_shape(response)
    assert User.objects.filter(pk=coordinator.pk).exists()


def test_token_caller_is_held_to_the_same_rules(client, agency_admin, analyst):
    token = issue_token(client, "eoc.admin")

    response = token_client(token).get(f"/api/v1/users/{analyst.pk}/")

    assert response.status_code == 404


def test_session_writes_need_the_csrf_token(agency_admin):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agency_admin)

    response = browser.post("/api/v1/users/", {"username": "new.person", "roles": []}, content_type="application/json")

    assert response.status_code == 403
    assert_error_shape(response)
    assert not User.objects.filter(username="new.person").exists()


def test_partner_system_with_a_token_needs_no_csrf_token(agency_admin):
    _instance, token = AuthToken.objects.create(user=agency_admin)
    partner = Client(enforce_csrf_checks=True, headers={"Authorization": f"Token {token}"})

    response = partner.post("/api/v1/users/", {"username": "new.person", "roles": []}, content_type="application/json")

    assert response.status_code == 201, response.content


# --- the schema and its docs ------------------------------------------------------------------------


def test_openapi_schema_is_valid_and_lists_the_paths(client, db):
    response = client.get("/api/v1/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/me/",
        "/api/v1/auth/token/",
        "/api/v1/agencies/",
        "/api/v1/agencies/{id}/",
        "/api/v1/jurisdictions/",
        "/api/v1/jurisdictions/{id}/",
        "/api/v1/users/",
        "/api/v1/users/{id}/",
    } <= set(schema["paths"])
    token_scheme = schema["components"]["securitySchemes"]["knoxApiToken"]
    assert (token_scheme["in"], token_scheme["name"]) == ("header", "Authorization")


def test_openapi_schema_is_served_as_json_too(client, db):
    response = client.get("/api/v1/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert "/api/v1/users/" in schema["paths"]


def test_api_docs_use_only_assets_served_by_the_site(client, db, settings):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assets = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["\']([^"\']+)["\']', page)
    assert assets, "the page loads its scripts and styles"
    for asset in assets:
        assert not re.match(r"^(?:[a-z]+:)?//", asset, re.IGNORECASE), asset
    assert not re.search(r"https?://(?!testserver\b)[^\s\"'<>]+\.(?:js|css)\b", page)
    # The start-up script comes from the page's own address, not inline (the Content-Security-Policy).
    assert "/api/v1/docs/?script=" in assets
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert not re.search(r"<script>|<style>", page)
    for asset in assets:
        if asset == "/api/v1/docs/?script=":
            continue
        assert asset.startswith(settings.STATIC_URL) or asset.startswith("/" + settings.STATIC_URL), asset
        assert finders.find(asset.split(settings.STATIC_URL, 1)[1].split("?")[0]), f"{asset} is not a static file"


def test_people_listing_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries, system_admin):
    for n in range(30):
        UserFactory(username=f"person.{n}", agency=system_admin.agency, roles=[Role.ANALYST])
    client.force_login(system_admin)

    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/users/")

    assert response.json()["count"] == 31


def test_token_endpoint_refuses_a_body_that_is_not_an_object(client, db):
    # Found by fuzzing the API: a JSON number as the body was a 500.
    response = client.post("/api/v1/auth/token/", "3140335", content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_token_endpoint_refuses_null_characters_with_a_message(client, db):
    # Found by fuzzing the API: a NUL in the username reached PostgreSQL, which refuses it: a 500.
    body = {"username": "#\u00b9\u00007", "password": "pass\u0000word"}
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "username": ["Null characters are not allowed here."],
        "password": ["Null characters are not allowed here."],
    }


def test_the_profile_lists_only_live_tokens(client, sign_in, coordinator):
    live, _ = AuthToken.objects.create(user=coordinator)
    expired, _ = AuthToken.objects.create(user=coordinator, expiry=timedelta(seconds=-1))
    sign_in(coordinator)

    page = client.get("/profile/").content.decode()

    assert live.token_key in page
    assert expired.token_key not in page


def test_a_token_with_a_nul_character_is_refused_as_invalid(client, coordinator):
    token = issue_token(client, "coordinator")

    response = token_client(token[:10] + "\x00" + token[11:]).get("/api/v1/me/")

    assert response.status_code == 401
    assert_error_shape(response)
