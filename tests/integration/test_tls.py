"""TLS as the example shows it (`listen ... ssl`): a self-signed certificate
made by the test, both endpoints over wss:// with a Python client, the stock
`phoenix` npm client's whole presence scenario over wss://, and the demo's
cart cookie marked Secure over https."""

import asyncio
import datetime
import ipaddress
import json
import ssl
import subprocess
import urllib.request

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers import ADMIN_PATH, NODE_NAME, SHOPPER_PATH, socket_path
from test_phoenix_js import SCENARIO


def self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def tls_server(nginx_factory):
    server = nginx_factory(start=False)
    cert, key = self_signed(server.prefix / ".run" / "keys")
    text = server.conf.read_text()
    plain = f"listen 127.0.0.1:{server.port};"
    assert plain in text
    server.conf.write_text(text.replace(
        plain,
        f"listen 127.0.0.1:{server.port} ssl;\n"
        f"        ssl_certificate {cert};\n        ssl_certificate_key {key};",
    ))
    server.cert = cert
    return server.start()


def client_context(server):
    return ssl.create_default_context(cafile=str(server.cert))


def test_both_endpoints_over_wss(nginx_factory):
    server = tls_server(nginx_factory)
    base = f"wss://127.0.0.1:{server.port}"

    async def heartbeat(path, token):
        async with websockets.connect(base + socket_path(path, token), ssl=client_context(server)) as ws:
            await ws.send(json.dumps([None, "1", "phoenix", "heartbeat", {}]))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    ok = [None, "1", "phoenix", "phx_reply", {"status": "ok", "response": {}}]
    assert asyncio.run(heartbeat(SHOPPER_PATH, server.keys.shopper_token("cart-tls"))) == ok
    assert asyncio.run(heartbeat(ADMIN_PATH, server.keys.admin_token("ops-tls"))) == ok


def test_stock_phoenix_client_over_wss(nginx_factory, node_env):
    server = tls_server(nginx_factory)
    config = {
        "url": f"wss://127.0.0.1:{server.port}",
        "admin_tokens": [server.keys.admin_token("ops-1"), server.keys.admin_token("ops-2")],
        "shopper_tokens": {sub: server.keys.shopper_token(sub) for sub in ("cart-a", "cart-b", "cart-c")},
        "node": NODE_NAME,
    }
    env = dict(node_env, NODE_EXTRA_CA_CERTS=str(server.cert))
    result = subprocess.run(["node", str(SCENARIO), "presence"], input=json.dumps(config),
                            capture_output=True, text=True, timeout=90, env=env)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "scenario: ok" in result.stdout


def test_demo_cart_cookie_is_secure_over_https(nginx_factory):
    server = tls_server(nginx_factory)
    url = f"https://127.0.0.1:{server.port}/demo/token"
    with urllib.request.urlopen(url, context=client_context(server), timeout=10) as response:
        set_cookie = response.headers["Set-Cookie"]
        body = json.loads(response.read())
    attributes = [a.strip() for a in set_cookie.split(";")]
    assert "Secure" in attributes and "HttpOnly" in attributes, set_cookie
    assert body["cart_id"] in set_cookie
