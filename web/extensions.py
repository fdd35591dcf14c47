"""Extensions are created unbound here and bound in create_app()."""

from flask import current_app
from flask_cors import CORS
from flask_limiter import Limiter
from flask_session import Session

from web.identity import client_key, limit_key

session = Session()
cors = CORS()
# The default key is the client's network (web.identity.client_key): a limit
# keyed on the session would create one just to count the request.
limiter = Limiter(key_func=client_key)

# Every read route (job status, list, events, audio, cancel, the page) draws on
# one per-IP allowance, RATE_LIMIT_READ_IP (per client for API keys).
read_limit = limiter.shared_limit(
    lambda: current_app.config["SETTINGS"].rate_limit_read_ip,
    scope="read",
    key_func=lambda: "read:" + limit_key(),
)
