"""Built feeds, kept by key. The key holds the feed's version, so an entry is never stale:
a change in the data makes a new key, and the old entry ages out. That keeps it right with
any number of app processes: each builds a version at most once and never serves another's
outdated bytes. Bounded by size, least recently used first out.

Written out rather than with cachetools (weighed, issue 15): its LRUCache(getsizeof=) would
save a few lines here only, and its TTLCache reorders itself on every read, so the version
memo's reads would need the lock and cost ten times as much (4 µs a hit against 0.4 µs)."""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from studygroup.calendar.delivery import KeptFeed


class FeedCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, KeptFeed] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.builds = 0

    def get_or_build(self, key: Hashable, build: Callable[[], KeptFeed]) -> KeptFeed:
        with self._lock:
            feed = self._entries.get(key)
            if feed is not None:
                self._entries.move_to_end(key)
                return feed
        feed = build()  # outside the lock: other feeds are served meanwhile
        with self._lock:
            self.builds += 1
            if key not in self._entries and feed.size <= self.max_bytes:
                self._entries[key] = feed
                self._size += feed.size
                while self._size > self.max_bytes:
                    _key, old = self._entries.popitem(last=False)
                    self._size -= old.size
        return feed

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0


class VersionMemo:
    """What a feed URL resolved to (owner and version), kept for `ttl` seconds.

    Calendar clients poll every few minutes to hours; a crowd of them polling one group feed
    then asks the database once per second per process, not once per request. A change
    reaches polls within `ttl` (1 s by default); the bytes stay keyed by version, so nothing
    older than that is ever served. `ttl` 0 looks the version up on every request.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], object]):
        if self.ttl <= 0:
            return load()
        now = time.monotonic()
        found = self._entries.get(key)  # one dict read is atomic: no lock on the way of a poll
        if found is not None and found[0] > now:
            return found[1]
        value = load()
        if value is not None:  # unknown URLs are looked up each time: nothing to keep
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
