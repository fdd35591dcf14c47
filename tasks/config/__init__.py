"""Configuration and infrastructure shared by the API, the workers and beat.

settings.py (the typed Settings read from the environment once), redis_clients.py
(one Redis client per concern), logs.py (JSON-lines logging), services.py
(per-process handles on the job store and audio storage).
"""
