"""The AWS emulator for local mode: moto server on loopback, its request log silenced.

Run by helpers.lab as `python -m helpers.emulator --port N --lab-dir DIR` (the folder is
passed so the lab can recognise its own process by command line).

Two ElastiCache gaps of moto are closed here, so the notebooks' cleanup and a second run
behave as on AWS: a deleted cache stays `deleting` for a moment and then is gone (moto keeps
it `deleting` for ever, which blocks re-creating `lab-redis`), and DeleteCacheSubnetGroup exists.
"""
from __future__ import annotations

import argparse
import logging
import threading

DELETE_DELAY = 2.0  # seconds a deleted cache shows as `deleting` before it disappears


def _finish_later(store: dict, key: str) -> None:
    timer = threading.Timer(DELETE_DELAY, store.pop, args=(key, None))
    timer.daemon = True
    timer.start()


def patch_elasticache() -> None:
    from moto.core.responses import EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    delete_group = ElastiCacheBackend.delete_replication_group
    delete_cluster = ElastiCacheBackend.delete_cache_cluster

    def delete_replication_group(self, replication_group_id, retain_primary_cluster):
        group = delete_group(self, replication_group_id, retain_primary_cluster)
        _finish_later(self.replication_groups, replication_group_id)
        return group

    def delete_cache_cluster(self, cache_cluster_id):
        cluster = delete_cluster(self, cache_cluster_id)
        _finish_later(self.cache_clusters, cache_cluster_id)
        return cluster

    def delete_cache_subnet_group_backend(self, name):
        if name not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(name)
        del self.cache_subnet_groups[name]

    def delete_cache_subnet_group_response(self):
        self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    ElastiCacheBackend.delete_replication_group = delete_replication_group
    ElastiCacheBackend.delete_cache_cluster = delete_cache_cluster
    ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group_backend
    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group_response


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lab-dir", required=True)
    args = parser.parse_args(argv)
    # One line per request otherwise; the lab's log would grow without telling anyone anything.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    patch_elasticache()
    from moto.server import main as moto_main

    moto_main(["--host", "127.0.0.1", "--port", str(args.port)])  # loopback only, never 0.0.0.0


if __name__ == "__main__":
    main()
