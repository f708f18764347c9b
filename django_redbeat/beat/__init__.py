"""The Celery side: the scheduler beat runs, its entries, the due window, slot claims and the lock.

It runs in a plain Celery app with no Django settings: it may import ``store/`` and the shared
modules at the top (exceptions, defaults, schedules, decoder, signals), never Django.
"""
