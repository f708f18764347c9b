"""``redbeat_import``: CELERY_BEAT_SCHEDULE made into PeriodicTask rows, checked once per shape of
entry, inserted in bulk and synced into Redis after the commit.

Django side: it may import the models and ``sync/``; nothing but the command imports it.
"""
