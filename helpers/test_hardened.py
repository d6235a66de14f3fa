import redis

from helpers.hardened import lab_tls_endpoint


def test_the_environment_wins(monkeypatch):
    monkeypatch.setenv("REDIS_TLS_URL", "rediss://:tok@cache.example:6379/0")
    monkeypatch.delenv("REDIS_TLS_CA", raising=False)
    assert lab_tls_endpoint() == ("rediss://:tok@cache.example:6379/0", None)  # a public certificate: no CA file


def test_otherwise_the_labs_hardened_valkey_answers_over_tls_with_its_token(lab_settings, monkeypatch):
    monkeypatch.delenv("REDIS_TLS_URL", raising=False)
    url, ca = lab_tls_endpoint()
    assert url.startswith("rediss://:") and ca.endswith("cert.pem")
    assert redis.Redis.from_url(url, ssl_ca_certs=ca, socket_timeout=5).ping()
