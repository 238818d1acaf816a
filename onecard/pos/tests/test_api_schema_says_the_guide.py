"""The OpenAPI schema of the POS endpoints says what docs/pos-api.md says (headers, rules, answers)."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.usefixtures("api_urls")


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _component(schema, ref):
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_money_answers_document_idempotent_replayed_where_it_is_sent(schema):
    # given
    charge = schema["paths"]["/api/v1/pos/charges"]["post"]["responses"]
    checkout = schema["paths"]["/api/v1/pos/checkout"]["post"]["responses"]
    # then the answers run under the key have it, the ones given before the key do not
    for answers, done in ((charge, "200"), (checkout, "201")):
        for code in (done, "404", "422"):
            assert "Idempotent-Replayed" in answers[code].get("headers", {}), code
        for code in ("400", "401", "409"):
            assert "Idempotent-Replayed" not in answers[code].get("headers", {}), code
    assert "Idempotent-Replayed" not in schema["paths"]["/api/v1/pos/ping"]["get"]["responses"]["200"].get(
        "headers", {}
    )


def test_points_and_amounts_have_one_shape_and_the_topup_tenders_are_named(schema):
    # given
    redeem = schema["paths"]["/api/v1/pos/points/redeem"]["post"]
    topup = schema["paths"]["/api/v1/pos/topups"]["post"]
    redeem_body = _component(schema, redeem["requestBody"]["content"]["application/json"]["schema"])
    topup_body = _component(schema, topup["requestBody"]["content"]["application/json"]["schema"])
    # then
    points, amount = redeem_body["properties"]["points"], topup_body["properties"]["amount"]
    assert (points["type"], points["minimum"], points["maximum"]) == ("integer", 1, 10**12)
    assert (amount["type"], amount["minimum"], amount["maximum"]) == ("integer", 1, 10**13)
    assert "invalid_points" in redeem["responses"]["400"]["description"]
    tender = topup_body["properties"]["tender"]["description"]
    assert all(kind in tender for kind in ("cash", "bank_card", "wechat", "alipay", "invalid_tender"))


def test_balances_void_refund_and_pages_are_described(schema):
    # given
    balances = schema["components"]["schemas"]["Balances"]["properties"]
    transaction = schema["components"]["schemas"]["Transaction"]["properties"]
    history = schema["paths"]["/api/v1/pos/cards/{card_no}/history"]["get"]
    # then
    assert "open holds excluded" in balances["principal"]["description"]
    assert "open holds excluded" in balances["bonus"]["description"]
    assert "never negative" in transaction["amount"]["description"]
    assert "0 for a void" in transaction["amount"]["description"]
    page_size = next(p for p in history["parameters"] if p["name"] == "page_size")
    assert "1-200" in page_size["description"]


def test_the_terminal_setup_api_is_in_the_schema_and_answers_the_secret_only_when_issued(schema):
    # given
    paths = schema["paths"]
    # then
    created = paths["/api/v1/terminals/"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert "secret" in _component(schema, created)["properties"]
    listed = _component(
        schema,
        paths["/api/v1/terminals/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
    )
    assert "secret" not in listed["properties"]
    assert "/api/v1/terminals/{id}/rotate/" in paths and "/api/v1/terminals/{id}/deactivate/" in paths
