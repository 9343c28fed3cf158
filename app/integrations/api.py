"""JSON routes of the integrations under /api/v1 (admin only). The role is checked before the
body is read; each route then calls the same service as the admin pages."""

from __future__ import annotations

from flask import jsonify

from ..api.core import api_user, endpoint, load
from . import jobs  # noqa: F401 - registers the delivery job with Huey in every process
from .schemas import (
    DeliverySchema,
    IntegrationCreatedSchema,
    IntegrationInputSchema,
    IntegrationSchema,
    WebhookInputSchema,
    WebhookSchema,
)
from .services import integrations, webhooks

TAG = "integrations"


def _admin():
    actor = api_user()
    integrations.require_admin(actor)
    return actor


@endpoint(
    "/integrations",
    "POST",
    summary="Create an integration (its secret is shown in this answer only when generated)",
    tag=TAG,
    body=IntegrationInputSchema,
    response=IntegrationCreatedSchema,
    status=201,
)
def integrations_create():
    actor = _admin()
    created = integrations.create_integration(actor, **load(IntegrationInputSchema()))
    document = IntegrationCreatedSchema().dump(created.integration)
    document["secret"] = created.secret
    return jsonify(document), 201


@endpoint(
    "/integrations",
    summary="List the integrations",
    tag=TAG,
    response=IntegrationSchema(many=True),
)
def integrations_list():
    return jsonify(IntegrationSchema(many=True).dump(integrations.list_integrations(_admin())))


@endpoint(
    "/integrations/<int:integration_id>",
    summary="One integration (never its secret)",
    tag=TAG,
    response=IntegrationSchema,
)
def integrations_get(integration_id: int):
    integration = integrations.get_integration(_admin(), integration_id)
    return jsonify(IntegrationSchema().dump(integration))


@endpoint(
    "/integrations/<int:integration_id>",
    "PATCH",
    summary="Change some fields of an integration; a secret given replaces the stored one",
    tag=TAG,
    body=IntegrationInputSchema,
    response=IntegrationSchema,
)
def integrations_update(integration_id: int):
    actor = _admin()
    fields = load(IntegrationInputSchema(), partial=True)
    integration = integrations.update_integration(actor, integration_id, **fields)
    return jsonify(IntegrationSchema().dump(integration))


@endpoint(
    "/integrations/<int:integration_id>",
    "DELETE",
    summary="Delete an integration and its webhooks",
    tag=TAG,
    status=204,
)
def integrations_delete(integration_id: int):
    integrations.delete_integration(_admin(), integration_id)
    return "", 204


@endpoint(
    "/webhooks",
    "POST",
    summary="Subscribe a webhook integration to events",
    tag=TAG,
    body=WebhookInputSchema,
    response=WebhookSchema,
    status=201,
)
def webhooks_create():
    actor = _admin()
    webhook = webhooks.subscribe(actor, **load(WebhookInputSchema()))
    return jsonify(WebhookSchema().dump(webhook)), 201


@endpoint("/webhooks", summary="List the webhooks", tag=TAG, response=WebhookSchema(many=True))
def webhooks_list():
    return jsonify(WebhookSchema(many=True).dump(webhooks.list_webhooks(_admin())))


@endpoint("/webhooks/<int:webhook_id>", "DELETE", summary="Delete a webhook", tag=TAG, status=204)
def webhooks_delete(webhook_id: int):
    webhooks.delete_webhook(_admin(), webhook_id)
    return "", 204


@endpoint(
    "/webhooks/<int:webhook_id>/deliveries",
    summary="A webhook's latest deliveries, newest first, with their attempts",
    tag=TAG,
    response=DeliverySchema(many=True),
)
def webhooks_deliveries(webhook_id: int):
    deliveries = webhooks.list_deliveries(_admin(), webhook_id)
    return jsonify(DeliverySchema(many=True).dump(deliveries))


@endpoint(
    "/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
    "POST",
    summary="Queue a delivery again (same delivery id, a fresh budget of attempts)",
    tag=TAG,
    response=DeliverySchema,
    status=202,
)
def webhooks_redeliver(webhook_id: int, delivery_id: int):
    delivery = webhooks.redeliver(_admin(), webhook_id, delivery_id)
    return jsonify(DeliverySchema().dump(delivery)), 202
