"""Built feeds, kept by key. The key holds the feed's version, so an entry is never stale:
a change in the data makes a new key, and the old entry ages out. That keeps it right with
any number of app processes: each builds a version at most once and never serves another's
outdated bytes. Bounded by size, least recently used first out."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from studygroup.calendar.feeds import Feed


class FeedCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Feed] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.builds = 0

    def get_or_build(self, key: Hashable, build: Callable[[], Feed]) -> Feed:
        with self._lock:
            feed = self._entries.get(key)
            if feed is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return feed
        feed = build()  # outside the lock: other feeds are served meanwhile
        with self._lock:
            self.builds += 1
            if key not in self._entries and len(feed.body) <= self.max_bytes:
                self._entries[key] = feed
                self._size += len(feed.body)
                while self._size > self.max_bytes:
                    _key, old = self._entries.popitem(last=False)
                    self._size -= len(old.body)
        return feed

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0
