"""Signed job webhooks for API clients (Standard Webhooks), delivered from the `webhooks` queue.

policy: which URLs may be called. payload: the event body, built where the job
changed (Saleor style: apart from the task that sends it). outbox: the pending
deliveries and their attempts in Redis. sender: one signed, SSRF-safe POST.
The Celery tasks are in tasks/notify.py.
"""
