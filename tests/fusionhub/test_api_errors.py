"""What the fuzzing of the API found: every error it answers is JSON in one shape, and documented."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator


def test_an_api_address_no_route_takes_answers_json_404(client, analyst):
    # /api/v1/products/0.5/ matches no route (ids are integers): the API's 404, not the HTML page.
    client.force_login(analyst)
    response = client.get("/api/v1/products/0.5/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"errors": {"non_field_errors": ["Not found."]}}


def test_a_page_address_no_route_takes_still_answers_the_html_page(client, analyst):
    client.force_login(analyst)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_every_operation_documents_its_errors():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "errors" in schema["components"]["schemas"]["Error"]["properties"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403"} <= set(responses), f"{method} {path}"
            if "{id}" in path:
                assert "404" in responses, f"{method} {path}"
            if method in ("post", "put", "patch"):
                assert "400" in responses, f"{method} {path}"
            if "requestBody" in operation:
                assert "415" in responses, f"{method} {path}"


def test_a_body_of_a_media_type_the_operation_does_not_take_is_a_documented_415(client, analyst):
    # Found by fuzzing the API: an unreadable body was answered with a 415 the schema did not list.
    client.force_login(analyst)
    response = client.post("/api/v1/rfis/", b"question", content_type="application/x-unknown")
    assert response.status_code == 415
    assert "errors" in response.json()


def test_stix_errors_are_documented_in_the_media_type_they_come_in():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    not_found = schema["paths"]["/api/v1/products/{id}/stix/"]["get"]["responses"]["404"]
    assert set(not_found["content"]) == {"application/json", "application/stix+json"}


def test_the_token_endpoint_documents_its_throttle():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "429" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
