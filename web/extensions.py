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
# Submit limits: a moving window, so "5/minute" holds over any 60 s. The submit
# route counts them on this limiter's storage and keys in one script of its own
# (web/submit_limits.py) rather than one decorator call per limit.
limiter = Limiter(key_func=client_key, strategy="moving-window")

# Every read route (job status, list, events, audio, cancel, the page) draws on
# one per-IP allowance, RATE_LIMIT_READ_IP (per client for API keys). A fixed
# window costs one counter update per read (a moving window: a list scan and a
# second script); what it changes at the window's edge is in README (Security
# and reliability limits).
# The status poll counts on the same keys in its own script (web/poll.py).
read_limiter = Limiter(key_func=client_key, strategy="fixed-window")
READ_SCOPE = "read"


def read_key() -> str:
    return "read:" + limit_key()  # an API key's client, else the network


def read_limit_value() -> str:
    return current_app.config["SETTINGS"].rate_limit_read_ip


read_limit = read_limiter.shared_limit(read_limit_value, scope=READ_SCOPE, key_func=read_key)


def storage_key(extension: Limiter, item, key: str, scope: str) -> str:
    """The storage key under which `extension` counts `item` for (key, scope): what
    its own checks would hit, for the scripts that count on the same keys
    (web/poll.py, web/submit_limits.py)."""
    prefix = extension._key_prefix  # RATELIMIT_KEY_PREFIX, as the extension applies it
    parts = [prefix, key, scope] if prefix else [key, scope]
    return extension.storage.prefixed_key(item.key_for(*parts))


def drop_idle_middleware(app, extension: Limiter) -> None:
    """Remove a limiter's per-request hooks where they have nothing to do.

    Call it once every route is registered. Flask-Limiter checks default,
    application and meta limits in a hook that runs before every request; each
    of our limits decorates its route and is checked by the decorator instead,
    so with none of those configured the hook only costs time (~0.1 ms a request
    per limiter, on every route). Its after-request hook only writes headers
    (off here: RATELIMIT_HEADERS_ENABLED) and deducts `deduct_when` limits (none
    here), and its teardown clears state that lives on the request's own context
    and goes with it; together ~20 us on every request, /health included.
    """
    manager = extension.limit_manager
    if not (manager._default_limits or manager._application_limits or extension._meta_limits
            or extension._in_memory_fallback_enabled):
        _remove(app.before_request_funcs, extension._check_request_limit)
    deducting = any(limit.deduct_when for group in manager._decorated_limits.values()
                    for limit in group)
    if not (extension._headers_enabled or deducting):
        for hook in app.after_request_funcs.get(None, []):
            if getattr(hook, "args", None) == (extension,):  # partial(__inject_headers, ext)
                _remove(app.after_request_funcs, hook)
                break
    _remove(app.teardown_request_funcs, extension._Limiter__release_context)


def _remove(registry: dict, hook) -> None:
    hooks = registry.get(None, [])
    if hook in hooks:
        hooks.remove(hook)
