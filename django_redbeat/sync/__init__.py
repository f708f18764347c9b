"""The bridge from the models to Redis: PeriodicTask rows written as entries, the marks that tell
a starting beat which entries are stale, and the drift ``redbeat_sync`` finds and repairs.

Django side: it may import the models, ``beat/`` and ``store/``; beat never imports it.
"""
