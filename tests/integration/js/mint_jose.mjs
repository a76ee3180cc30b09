// Mints a JWT with npm's `jose`, a standard library the server must accept.
// Usage: node mint_jose.mjs HS256|EdDSA <key file> <kid> '<claims JSON>'
// The HS256 key file holds the raw secret; the EdDSA one a PKCS#8 PEM.
import { readFileSync } from "node:fs";
import { SignJWT, importPKCS8 } from "jose";

const [alg, keyPath, kid, claimsJson] = process.argv.slice(2);
const key =
  alg === "HS256"
    ? new Uint8Array(readFileSync(keyPath))
    : await importPKCS8(readFileSync(keyPath, "utf8"), "EdDSA");
const token = await new SignJWT(JSON.parse(claimsJson))
  .setProtectedHeader({ alg, kid, typ: "JWT" })
  .sign(key);
process.stdout.write(token + "\n");
