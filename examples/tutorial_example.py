"""The AWS tutorial's example (seed 004), written from the tutorial alone.

Against the lab:          . .lab/lab.env && python examples/tutorial_example.py
Against your own servers: export REDIS_URL, DB_HOST, DB_USER, DB_PASS and DB_NAME as the tutorial says.

It differs from the tutorial's text only where today's libraries or the lab require it:
- DB_PORT is read too (default 3306): the lab's MariaDB never takes the system's port 3306;
- set(..., ex=TTL) for setex(), hset(key, mapping=...) for hmset(), database= for db=:
  redis-py 8 and PyMySQL 1.2 deprecate the old spellings.
Like the tutorial, the cache client returns bytes, so a hash hit prints b'...' values.
"""
import json
import os

import pymysql
import redis

# Time to live for cached data
TTL = 10

# The tutorial's environment variables
REDIS_URL = os.environ.get("REDIS_URL")
DB_HOST = os.environ.get("DB_HOST")
DB_PORT = int(os.environ.get("DB_PORT", 3306))
DB_USER = os.environ.get("DB_USER")
DB_PASS = os.environ.get("DB_PASS")
DB_NAME = os.environ.get("DB_NAME")


class Database:
    """The tutorial's `db`: rows as dicts, values always as %s parameters."""

    def __init__(self, connection):
        self.connection = connection

    def query(self, sql, values=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, values)
            return cursor.fetchall()


db = Database(pymysql.connect(host=DB_HOST, port=DB_PORT, user=DB_USER, password=DB_PASS, database=DB_NAME,
                              charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor))
cache = redis.Redis.from_url(REDIS_URL)


def db_record(sql, values):
    rows = db.query(sql, values)
    return rows[0] if rows else None


def fetch(sql):
    """Pattern 1: the SQL text is the key, the JSON result the value."""
    result = cache.get(sql)
    if result:
        return json.loads(result)
    else:
        result = db.query(sql)
        cache.set(sql, json.dumps(result), ex=TTL)  # the tutorial: cache.setex(sql, ttl, ...)
        return result


def planet(id):
    """Pattern 2: one record as a hash under planet:<id>."""
    key = "planet:" + str(id)
    result = cache.hgetall(key)

    if result:
        return result

    else:
        sql = "SELECT `id`, `name` FROM `planet` WHERE `id`=%s"
        result = db_record(sql, (id,))

        if result:
            cache.hset(key, mapping=result)  # the tutorial: cache.hmset(key, result)
            cache.expire(key, TTL)
        return result


if __name__ == "__main__":
    print(fetch("SELECT * FROM planet"))
    print(planet(12))
    print(planet(12))
