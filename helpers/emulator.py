"""The AWS emulator for local mode: moto server on loopback, its request log silenced.

Run by helpers.lab as `python -m helpers.emulator --port N --lab-dir DIR` (the folder is
passed so the lab can recognise its own process by command line).

Two ElastiCache gaps of moto are closed here, so the notebooks' cleanup and a second run
behave as on AWS: a deleted cache stays `deleting` for a moment and then is gone (moto keeps
it `deleting` for ever, which blocks re-creating `lab-redis`), and DeleteCacheSubnetGroup exists.

Cache parameter groups (notebook 07 changes maxmemory-policy through one, as ElastiCache
requires) are missing from moto: patch_parameter_groups() adds create / describe / modify /
delete, DescribeCacheParameters, and ModifyReplicationGroup's CacheParameterGroupName. The
emulator only records the values; the lab's Valkey gets them with CONFIG SET (notebook 07).
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


# The parameters the lab changes, with ElastiCache's defaults; others are refused as unknown.
EVICTION_POLICIES = ("volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random",
                     "allkeys-random", "volatile-ttl", "noeviction")
PARAMETERS = {"maxmemory-policy": ("volatile-lru", ",".join(EVICTION_POLICIES), "string"),
              "maxmemory-samples": ("3", "1-", "integer"),
              "reserved-memory-percent": ("25", "0-100", "integer")}


def patch_parameter_groups() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.elasticache.exceptions import ElastiCacheException
    from moto.elasticache.responses import ElastiCacheResponse

    def fault(code: str, message: str) -> ElastiCacheException:
        return ElastiCacheException(code, message)

    def groups(response) -> dict:
        return response.elasticache_backend.__dict__.setdefault("cache_parameter_groups", {})

    def find(response, name: str) -> dict:
        if name.startswith("default."):  # AWS's built-in groups: always there, never modifiable
            family = name.removeprefix("default.")
            return {"name": name, "family": family, "description": f"Default parameter group for {family}",
                    "values": {}}
        try:
            return groups(response)[name]
        except KeyError:
            raise fault("CacheParameterGroupNotFoundFault", f"CacheParameterGroup {name} not found.") from None

    def shape(response, group: dict) -> dict:
        backend = response.elasticache_backend
        return {"CacheParameterGroupName": group["name"], "CacheParameterGroupFamily": group["family"],
                "Description": group["description"], "IsGlobal": False,
                "ARN": f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:parametergroup:{group['name']}"}

    def create_cache_parameter_group(self):
        name = self._get_param("CacheParameterGroupName")
        if name in groups(self) or name.startswith("default."):
            raise fault("CacheParameterGroupAlreadyExistsFault", f"Parameter group {name} already exists.")
        group = groups(self)[name] = {"name": name, "family": self._get_param("CacheParameterGroupFamily"),
                                      "description": self._get_param("Description"), "values": {}}
        return ActionResult({"CacheParameterGroup": shape(self, group)})

    def describe_cache_parameter_groups(self):
        name = self._get_param("CacheParameterGroupName")
        found = [find(self, name)] if name else list(groups(self).values())
        return ActionResult({"CacheParameterGroups": [shape(self, g) for g in found]})

    def modify_cache_parameter_group(self):
        group = find(self, self._get_param("CacheParameterGroupName"))
        if group["name"].startswith("default."):
            raise fault("InvalidCacheParameterGroupStateFault", "Default parameter groups cannot be modified.")
        for item in self._get_param("ParameterNameValues") or []:
            name, value = item["ParameterName"], item["ParameterValue"]
            if name not in PARAMETERS:
                raise fault("InvalidParameterValueException", f"Unknown parameter: {name}")
            if name == "maxmemory-policy" and value not in EVICTION_POLICIES:
                raise fault("InvalidParameterValueException", f"Invalid value for parameter {name}: {value}")
            group["values"][name] = value
        return ActionResult({"CacheParameterGroupName": group["name"]})

    def describe_cache_parameters(self):
        group = find(self, self._get_param("CacheParameterGroupName"))
        source = self._get_param("Source")
        params = []
        for name, (default, allowed, data_type) in PARAMETERS.items():
            params.append({"ParameterName": name, "ParameterValue": group["values"].get(name, default),
                           "Source": "user" if name in group["values"] else "system", "DataType": data_type,
                           "AllowedValues": allowed, "IsModifiable": True, "ChangeType": "immediate"})
        return ActionResult({"Parameters": [p for p in params if not source or p["Source"] == source]})

    def delete_cache_parameter_group(self):
        group = find(self, self._get_param("CacheParameterGroupName"))
        users = [rg.replication_group_id for rg in self.elasticache_backend.replication_groups.values()
                 if getattr(rg, "cache_parameter_group_name", None) == group["name"]]
        if group["name"].startswith("default.") or users:
            raise fault("InvalidCacheParameterGroupStateFault",
                        f"Parameter group {group['name']} is a default group or in use by {users}.")
        del groups(self)[group["name"]]
        return EmptyResult()

    modify_replication_group_response = ElastiCacheResponse.modify_replication_group

    def modify_replication_group(self):
        name = self._get_param("CacheParameterGroupName")
        if name:
            find(self, name)  # a missing group is refused before anything changes
        result = modify_replication_group_response(self)
        if name:
            group_id = self._get_param("ReplicationGroupId")
            self.elasticache_backend.replication_groups[group_id].cache_parameter_group_name = name
        return result

    for handler in (create_cache_parameter_group, describe_cache_parameter_groups, modify_cache_parameter_group,
                    describe_cache_parameters, delete_cache_parameter_group, modify_replication_group):
        setattr(ElastiCacheResponse, handler.__name__, handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lab-dir", required=True)
    args = parser.parse_args(argv)
    # One line per request otherwise; the lab's log would grow without telling anyone anything.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    patch_elasticache()
    patch_parameter_groups()
    from moto.server import main as moto_main

    moto_main(["--host", "127.0.0.1", "--port", str(args.port)])  # loopback only, never 0.0.0.0


if __name__ == "__main__":
    main()
