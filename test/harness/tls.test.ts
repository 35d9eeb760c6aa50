/** The tls emulation's certificates, checked by openssl and node:crypto rather than by itself. */
import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MaterializeContext, Props } from "../support/harness/types";
import { tlsCertRequest, tlsLocallySignedCert, tlsPrivateKey, tlsSelfSignedCert } from "../support/harness/providers/tls";

const ctx: MaterializeContext = { stack: "tls-test", urn: "urn:test", name: "test", providerConfig: {}, log: () => undefined };
const dir = mkdtempSync(join(tmpdir(), "krc-tls-"));
let caKey: Props;
let ca: Props;
let server: Props;

async function create(m: typeof tlsPrivateKey, inputs: Props): Promise<Props> {
  m.validate?.(inputs);
  return (await m.create(ctx, inputs)).outputs;
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, String(content));
  return path;
}

beforeAll(async () => {
  caKey = await create(tlsPrivateKey, { algorithm: "ECDSA", ecdsaCurve: "P256" });
  ca = await create(tlsSelfSignedCert, {
    privateKeyPem: caKey["privateKeyPem"],
    subject: { commonName: "test CA", organization: "krc" },
    isCaCertificate: true,
    maxPathLength: 0,
    setSubjectKeyId: true,
    validityPeriodHours: 48,
    allowedUses: ["cert_signing", "crl_signing"],
  });
  const key = await create(tlsPrivateKey, { algorithm: "RSA", rsaBits: 2048 });
  const csr = await create(tlsCertRequest, { privateKeyPem: key["privateKeyPem"], subject: { commonName: "krc-test-db" }, dnsNames: ["krc-test-db"], ipAddresses: ["10.1.2.3"] });
  server = await create(tlsLocallySignedCert, {
    certRequestPem: csr["certRequestPem"],
    caPrivateKeyPem: caKey["privateKeyPem"],
    caCertPem: ca["certPem"],
    validityPeriodHours: 24,
    allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("tls emulation", () => {
  it("writes the private key in the provider's PEM encodings", () => {
    expect(String(caKey["privateKeyPem"])).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(String(caKey["privateKeyPemPkcs8"])).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPrivateKey(String(caKey["privateKeyPem"])).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  it("issues a CA that openssl accepts as a CA limited to path length 0", () => {
    const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", file("ca.pem", ca["certPem"])], { encoding: "utf8" });
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
  });

  it("signs a server certificate that openssl verifies against the CA for server use", () => {
    const out = execFileSync("openssl", ["verify", "-purpose", "sslserver", "-CAfile", file("ca.pem", ca["certPem"]), file("server.pem", server["certPem"])], { encoding: "utf8" });
    expect(out.trim()).toMatch(/: OK$/);
  });

  it("copies the request's names into the certificate", () => {
    const cert = new X509Certificate(String(server["certPem"]));
    expect(cert.checkHost("krc-test-db")).toBe("krc-test-db");
    expect(cert.checkIP("10.1.2.3")).toBe("10.1.2.3");
    expect(cert.subject).toContain("CN=krc-test-db");
    expect(cert.issuer).toContain("CN=test CA");
    expect(cert.ca).toBe(false);
  });

  it("reports the validity window it was asked for", () => {
    const start = Date.parse(String(server["validityStartTime"]));
    const end = Date.parse(String(server["validityEndTime"]));
    expect(end - start).toBe(24 * 3_600_000);
    expect(server["readyForRenewal"]).toBe(false);
  });

  it("refuses a CA key that does not match the CA certificate", async () => {
    const other = await create(tlsPrivateKey, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await create(tlsCertRequest, { privateKeyPem: other["privateKeyPem"], subject: { commonName: "x" } });
    await expect(
      tlsLocallySignedCert.create(ctx, { certRequestPem: csr["certRequestPem"], caPrivateKeyPem: other["privateKeyPem"], caCertPem: ca["certPem"], validityPeriodHours: 1, allowedUses: [] }),
    ).rejects.toThrow("harness: tls:index/locallySignedCert:LocallySignedCert caPrivateKeyPem does not match caCertPem");
  });

  it("refuses an algorithm it does not implement", () => {
    expect(() => tlsPrivateKey.validate?.({ algorithm: "ED25519" })).toThrow('harness: tls:index/privateKey:PrivateKey algorithm "ED25519" is not implemented (RSA, ECDSA)');
  });
});
