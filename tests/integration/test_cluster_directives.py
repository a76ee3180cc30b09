"""The cluster directives under `nginx -t`: every bad value is refused with a
message naming its directive (and never quoting a secret), each bound is
tried at and one past its edge, and a configuration without presence_cluster
is the single node it always was."""

import re

import pytest

SECRET = "cluster-secret-" + "s" * 40  # 55 bytes, above the 32-byte minimum
REDIS_PASSWORD = "redis-password-do-not-log"


@pytest.fixture
def server(nginx_factory):
    server = nginx_factory(start=False)
    keys = server.prefix / ".run" / "keys"
    (keys / "cluster.secret").write_text(SECRET + "\n")
    (keys / "redis.auth").write_text(REDIS_PASSWORD + "\n")
    return server


def nginx_t(server, cluster_lines, zone=True):
    text = server.conf.read_text()
    if not zone:
        text, n = re.subn(r"\n\s*presence_zone [^;]*;", "\n", text)
        assert n == 1
    text = text.replace("\nhttp {\n", "\nhttp {\n" + cluster_lines + "\n", 1)
    server.conf.write_text(text)
    result = server.test_config()
    output = result.stdout + result.stderr
    assert SECRET not in output and REDIS_PASSWORD not in output, output
    return result.returncode, output


CLUSTER = "presence_cluster sneakers secret=.run/keys/cluster.secret;"
REDIS = "presence_redis 127.0.0.1:6379;"


def refused(server, lines, directive, reason, zone=True):
    code, output = nginx_t(server, lines, zone)
    assert code != 0, output
    assert f'"{directive}"' in output, output
    assert re.search(reason, output), output
    return output


def accepted(server, lines):
    code, output = nginx_t(server, lines)
    assert code == 0, output


def test_a_complete_cluster_configuration_is_accepted(server):
    accepted(
        server,
        "\n".join(
            [
                CLUSTER,
                "presence_redis 127.0.0.1:6379 auth=.run/keys/redis.auth;",
                "presence_cluster_batch 50ms;",
                "presence_cluster_heartbeat 1s;",
                "presence_cluster_down 5s;",
                "presence_cluster_permdown 20m;",
            ]
        ),
    )


def test_no_cluster_directive_is_a_single_node(server):
    accepted(server, "")


@pytest.mark.parametrize("name", ['"bad:name"', '"two words"', "a" * 65, '""'])
def test_cluster_name_is_plain_and_short(server, name):
    refused(
        server,
        f"presence_cluster {name} secret=.run/keys/cluster.secret;\n{REDIS}",
        "presence_cluster",
        "invalid cluster name",
    )


def test_cluster_name_of_64_bytes_is_accepted(server):
    accepted(server, f"presence_cluster {'a' * 64} secret=.run/keys/cluster.secret;\n{REDIS}")


def test_missing_secret_file_is_refused(server):
    refused(
        server,
        f"presence_cluster sneakers secret=.run/keys/nowhere.secret;\n{REDIS}",
        "presence_cluster",
        r"secret file .*nowhere\.secret.* cannot be read",
    )


def test_secret_parameter_is_required(server):
    refused(server, f"presence_cluster sneakers .run/keys/cluster.secret;\n{REDIS}",
            "presence_cluster", "expected secret=FILE")


def test_short_secret_is_refused_and_32_bytes_are_enough(server):
    keys = server.prefix / ".run" / "keys"
    # Surrounding whitespace does not count.
    (keys / "short.secret").write_text("  " + "k" * 31 + "  \n")
    (keys / "enough.secret").write_text("k" * 32)
    text = server.conf.read_text()
    refused(
        server,
        f"presence_cluster sneakers secret=.run/keys/short.secret;\n{REDIS}",
        "presence_cluster",
        "must hold at least 32 bytes",
    )
    server.conf.write_text(text)
    accepted(server, f"presence_cluster sneakers secret=.run/keys/enough.secret;\n{REDIS}")


@pytest.mark.parametrize(
    "address, reason",
    [
        ("localhost:6379", "numeric"),
        ("redis.internal:6379", "numeric"),
        ("127.0.0.1:0", "port"),
        ("127.0.0.1:65536", "port"),
        ("127.0.0.1:63x", "port"),
        ("127.0.0.1", "expected"),
        ("::1:6379", "numeric"),
        ("unix:redis.sock", "unix:/absolute/path"),
    ],
)
def test_redis_address_must_be_numeric_or_a_unix_socket(server, address, reason):
    refused(server, f"{CLUSTER}\npresence_redis {address};", "presence_redis", reason)


@pytest.mark.parametrize("address", ["127.0.0.1:65535", "[::1]:6379", "unix:/run/redis/redis.sock"])
def test_numeric_and_unix_addresses_are_accepted(server, address):
    accepted(server, f"{CLUSTER}\npresence_redis {address};")


def test_unreadable_auth_file_is_refused(server):
    refused(
        server,
        f"{CLUSTER}\npresence_redis 127.0.0.1:6379 auth=.run/keys/nowhere.auth;",
        "presence_redis",
        r"auth file .*nowhere\.auth.* cannot be read",
    )


def test_malformed_auth_file_is_refused_without_quoting_it(server):
    (server.prefix / ".run" / "keys" / "bad.auth").write_text(
        f"user {REDIS_PASSWORD} {REDIS_PASSWORD}\n"
    )
    refused(
        server,
        f"{CLUSTER}\npresence_redis 127.0.0.1:6379 auth=.run/keys/bad.auth;",
        "presence_redis",
        "password",
    )


def test_acl_user_auth_file_is_accepted(server):
    (server.prefix / ".run" / "keys" / "acl.auth").write_text(f"presence {REDIS_PASSWORD}\n")
    accepted(server, f"{CLUSTER}\npresence_redis 127.0.0.1:6379 auth=.run/keys/acl.auth;")


def test_cluster_needs_redis(server):
    refused(server, CLUSTER, "presence_cluster", "needs \"presence_redis\"")


def test_cluster_needs_a_zone(server):
    refused(server, f"{CLUSTER}\n{REDIS}", "presence_cluster", "needs \"presence_zone\"", zone=False)


def test_cluster_needs_a_node_name(server):
    text = server.conf.read_text()
    text, n = re.subn(r"presence_zone ([^ ;]*) node=[^ ;]*;", r"presence_zone \1;", text)
    assert n == 1
    server.conf.write_text(text)
    refused(server, f"{CLUSTER}\n{REDIS}", "presence_cluster", "node=NAME")


def test_redis_needs_a_cluster(server):
    refused(server, REDIS, "presence_redis", "needs \"presence_cluster\"")


def test_timing_needs_a_cluster(server):
    refused(server, "presence_cluster_down 10s;", "presence_cluster_down", "needs \"presence_cluster\"")


def test_down_must_exceed_twice_the_heartbeat(server):
    text = server.conf.read_text()
    refused(
        server,
        f"{CLUSTER}\n{REDIS}\npresence_cluster_heartbeat 1s;\npresence_cluster_down 2s;",
        "presence_cluster_down",
        "more than twice",
    )
    server.conf.write_text(text)
    accepted(server, f"{CLUSTER}\n{REDIS}\npresence_cluster_heartbeat 1s;\npresence_cluster_down 2001ms;")


def test_permdown_must_exceed_down(server):
    text = server.conf.read_text()
    refused(
        server,
        f"{CLUSTER}\n{REDIS}\npresence_cluster_down 5s;\npresence_cluster_permdown 5s;",
        "presence_cluster_permdown",
        "more than",
    )
    server.conf.write_text(text)
    accepted(server, f"{CLUSTER}\n{REDIS}\npresence_cluster_down 5s;\npresence_cluster_permdown 5001ms;")


def test_batch_must_not_exceed_the_heartbeat(server):
    text = server.conf.read_text()
    refused(
        server,
        f"{CLUSTER}\n{REDIS}\npresence_cluster_heartbeat 1s;\npresence_cluster_batch 1001ms;",
        "presence_cluster_batch",
        "from 1ms to",
    )
    server.conf.write_text(text)
    accepted(server, f"{CLUSTER}\n{REDIS}\npresence_cluster_heartbeat 1s;\npresence_cluster_batch 1s;")


def test_timing_must_be_positive(server):
    text = server.conf.read_text()
    refused(server, f"{CLUSTER}\n{REDIS}\npresence_cluster_batch 0;", "presence_cluster_batch",
            "must be from 1ms to")
    server.conf.write_text(text)
    refused(server, f"{CLUSTER}\n{REDIS}\npresence_cluster_heartbeat 0;",
            "presence_cluster_heartbeat", "must be positive")


@pytest.mark.parametrize("value", ["63", "16777217", "many", "-1"])
def test_tombstones_out_of_bounds_are_refused(server, value):
    text = server.conf.read_text()
    text, n = re.subn(r"presence_zone ([^;]*);", rf"presence_zone \1 tombstones={value};", text)
    assert n == 1
    server.conf.write_text(text)
    refused(server, "", "presence_zone", "invalid tombstones")


@pytest.mark.parametrize("value", ["64", "262144"])
def test_tombstones_within_bounds_are_accepted(server, value):
    text = server.conf.read_text()
    text = re.sub(r"presence_zone ([^;]*);", rf"presence_zone \1 tombstones={value};", text)
    server.conf.write_text(text)
    accepted(server, "")


def test_duplicates_are_refused(server):
    refused(server, f"{CLUSTER}\n{CLUSTER}\n{REDIS}", "presence_cluster", "is duplicate")
