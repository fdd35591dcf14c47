"""The key client's webhook signing secret: read it, rotate it."""

from flask import Blueprint, current_app, jsonify

from web.auth import api_client
from web.errors import ApiError
from web.extensions import read_limit

bp = Blueprint("webhooks", __name__)


def _client_id() -> str:
    client = api_client()
    if client is None:
        raise ApiError(401, "Webhook secrets belong to API keys (Authorization: Bearer)",
                       {"WWW-Authenticate": 'Bearer realm="api"'})
    return client.id


@bp.get("/api/webhooks/secret")
@read_limit
def secret():
    """{secret, previous, previous_expires_at}: verify with any of them during a rotation."""
    return jsonify(current_app.extensions["clients"].webhook_secrets(_client_id()))


@bp.post("/api/webhooks/secret/rotate")
@read_limit
def rotate():
    """A new secret; the previous one keeps signing (next to it) for 24 h."""
    return jsonify(current_app.extensions["clients"].rotate_webhook_secret(_client_id()))
