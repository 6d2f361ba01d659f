"""Sessions in PostgreSQL with a copy in the Redis cache (Django's `cached_db`), which go on working
while Redis does not answer: a page then reads its session from PostgreSQL.

What must be exact stays exact. A session is removed from the cache before PostgreSQL, and if Redis
does not answer, signing out fails (the person stays signed in, and sees the error) rather than leave
a copy in the cache that would sign them in again once Redis is back. Only the session that signing
in replaces is let go without its copy: it is the one from before the password, with nobody signed in.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db, db
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def _keep_copy(self, data: dict, expire_date) -> None:
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=expire_date))
        except RedisError:
            logger.warning("Redis did not answer: the session was read from PostgreSQL and not kept in the cache")

    def load(self) -> dict:
        try:
            data = self._cache.get(self.cache_key)
        except RedisError:
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._keep_copy(data, stored.expire_date)
        return data

    async def aload(self) -> dict:
        try:
            data = await self._cache.aget(await self.acache_key())
        except RedisError:
            data = None
        if data is not None:
            return data
        stored = await self._aget_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            await self._cache.aset(await self.acache_key(), data, await self.aget_expiry_age(expiry=stored.expire_date))
        except RedisError:
            logger.warning("Redis did not answer: the session was read from PostgreSQL and not kept in the cache")
        return data

    def exists(self, session_key: str) -> bool:
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except RedisError:
            pass
        return db.SessionStore.exists(self, session_key)

    async def aexists(self, session_key: str) -> bool:
        try:
            if session_key and await self._cache.ahas_key(self.cache_key_prefix + session_key):
                return True
        except RedisError:
            pass
        return await db.SessionStore.aexists(self, session_key)

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # Raises if Redis does not answer, before anything is removed: see the module's docstring.
        self._cache.delete(self.cache_key_prefix + session_key)
        db.SessionStore.delete(self, session_key)

    def cycle_key(self) -> None:
        data, key = self._session, self.session_key
        self.create()
        self._session_cache = data
        if key:
            try:
                self.delete(key)
            except RedisError:
                logger.warning("Redis did not answer: the replaced session's cached copy expires by itself")
                db.SessionStore.delete(self, key)
