from flask import Blueprint, jsonify

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    from web import __version__

    return jsonify(status="healthy", version=__version__)
