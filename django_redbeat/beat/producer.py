"""The producer beat sends with: kombu's, minus a copy of the queue on every publish.

Celery asks kombu to declare the task's queue with every message. kombu first binds the queue to
the channel, which copies the unbound Queue and its Exchange, and only then finds the declaration
already cached for the connection and does nothing. That copy is a large part of a send. This
producer looks in the same cache first and binds only when a declaration is needed (the first
send on a connection, or after a reconnect clears the cache), so what is declared, and when, is
unchanged.
"""

from __future__ import annotations

import functools
from typing import Any


class DeclareOnceMixin:
    channel: Any

    def maybe_declare(self, entity: Any, retry: bool = False, **retry_policy: Any) -> Any:
        if entity and self._declared(entity):
            return False  # what kombu would return after binding a copy to see it
        return super().maybe_declare(entity, retry, **retry_policy)  # type: ignore[misc]

    def _declared(self, entity: Any) -> bool:
        transport = self.channel.connection
        if not transport or not entity.can_cache_declaration:
            return False
        return hash(entity) in transport.client.declared_entities


@functools.cache
def declaring_once(producer_class: type) -> type:
    """``producer_class`` (the app's kombu Producer) with the cached-declaration shortcut."""
    return type(producer_class.__name__, (DeclareOnceMixin, producer_class), {})
