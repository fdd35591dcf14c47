"""The job contract: what a job is, how it is stored, queued and swept.

params.py (the job's input schema, declared once), status.py (status names),
store.py (job records in Redis; its key names are private to it), submit.py
(recording + enqueueing + wait estimates), metrics.py (fleet counters in Redis),
retention.py and stalled.py (the sweeps beat runs). No Celery task is defined
here: those live in tasks/generate.py and tasks/maintenance.py.
"""
