"""Redis: the configuration beat reads, the client with its retries, the key layout, the ACL check
and the bulk reads and writes of entries.

It may import only the shared modules at the top (``exceptions``, ``defaults``, ``decoder``), never
``beat/`` and never Django.
"""
