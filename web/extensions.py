"""Extensions are created unbound here and bound in create_app()."""

from flask_cors import CORS
from flask_limiter import Limiter
from flask_session import Session

from web.identity import session_owner

session = Session()
cors = CORS()
# The default key is the session's owner; per-IP limits pass their own key.
limiter = Limiter(key_func=session_owner)
