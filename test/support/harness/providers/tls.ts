/**
 * Emulation of the @pulumi/tls provider (hashicorp/terraform-provider-tls) for the live harness:
 * PrivateKey (RSA or ECDSA), SelfSignedCert, CertRequest and LocallySignedCert, producing the
 * outputs the provider documents (PEM text, validity times) with node:crypto keys and
 * @peculiar/x509 certificates. Certificates are real and verify with openssl and node:tls.
 * Not emulated: the provider's renewal plan (readyForRenewal replacing a certificate on a later
 * deploy); readyForRenewal is computed at creation only.
 */
import "reflect-metadata";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import { isIPv4 } from "node:net";
import * as x509 from "@peculiar/x509";
import type { Created, Materializer, Props } from "../types";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const CURVES: Record<string, string> = { P256: "P-256", P384: "P-384" };

type Algorithm = { name: "ECDSA"; namedCurve: string; hash: "SHA-256" } | { name: "RSASSA-PKCS1-v1_5"; hash: "SHA-256" };

function algorithmOf(key: KeyObject): Algorithm {
  if (key.asymmetricKeyType === "rsa") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : undefined;
    if (named) return { name: "ECDSA", namedCurve: named, hash: "SHA-256" };
  }
  throw new Error(`harness: tls key type ${key.asymmetricKeyType ?? "unknown"} is not implemented (RSA, ECDSA P256/P384)`);
}

function keyAlgorithmName(key: KeyObject): string {
  return key.asymmetricKeyType === "rsa" ? "RSA" : "ECDSA";
}

/** Web Crypto key pair from a PEM private key (any of PKCS#1, SEC1, PKCS#8). */
async function importKeys(pem: string): Promise<{ keys: CryptoKeyPair; algorithm: Algorithm; keyObject: KeyObject }> {
  const keyObject = createPrivateKey(pem);
  const algorithm = algorithmOf(keyObject);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", keyObject.export({ type: "pkcs8", format: "der" }), algorithm, true, ["sign"]);
  const spki = createPublicKey(keyObject).export({ type: "spki", format: "der" });
  const publicKey = await webcrypto.subtle.importKey("spki", spki, algorithm, true, ["verify"]);
  return { keys: { privateKey, publicKey } as CryptoKeyPair, algorithm, keyObject };
}

const SUBJECT_FIELDS: Record<string, string> = {
  commonName: "CN", organization: "O", organizationalUnit: "OU", country: "C", province: "ST", locality: "L",
  postalCode: "postalCode", serialNumber: "serialNumber", emailAddress: "E",
};

function subjectName(type: string, subject: unknown): x509.Name {
  const entries: Record<string, string[]>[] = [];
  for (const [field, value] of Object.entries((subject as Props | undefined) ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    const attr = SUBJECT_FIELDS[field];
    if (attr === undefined) throw new Error(`harness: ${type} subject.${field} is not implemented`);
    entries.push({ [attr]: [String(value)] });
  }
  return new x509.Name(entries);
}

function sanExtension(inputs: Props): x509.SubjectAlternativeNameExtension | undefined {
  const names: x509.JsonGeneralName[] = [];
  for (const dns of (inputs["dnsNames"] as string[] | undefined) ?? []) names.push({ type: "dns", value: dns });
  for (const ip of (inputs["ipAddresses"] as string[] | undefined) ?? []) {
    if (!isIPv4(ip)) throw new Error(`harness: tls ipAddresses "${ip}" is not implemented (IPv4 only)`);
    names.push({ type: "ip", value: ip });
  }
  return names.length > 0 ? new x509.SubjectAlternativeNameExtension(names) : undefined;
}

const KEY_USAGES: Record<string, number> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
};
const EXT_KEY_USAGES: Record<string, string> = {
  server_auth: x509.ExtendedKeyUsage.serverAuth,
  client_auth: x509.ExtendedKeyUsage.clientAuth,
};

/** The provider's certificate extensions: key usage, extended key usage, basic constraints, SAN, key ids. */
async function certificateExtensions(type: string, inputs: Props, publicKey: CryptoKey, issuer?: x509.X509Certificate): Promise<x509.Extension[]> {
  let usage = 0;
  const ext: string[] = [];
  for (const use of (inputs["allowedUses"] as string[] | undefined) ?? []) {
    if (KEY_USAGES[use] !== undefined) usage |= KEY_USAGES[use];
    else if (EXT_KEY_USAGES[use] !== undefined) ext.push(EXT_KEY_USAGES[use]);
    else throw new Error(`harness: ${type} allowedUses "${use}" is not implemented`);
  }
  const isCa = inputs["isCaCertificate"] === true;
  const extensions: x509.Extension[] = [];
  if (usage !== 0) extensions.push(new x509.KeyUsagesExtension(usage, true));
  if (ext.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(ext));
  const maxPath = inputs["maxPathLength"] as number | undefined;
  extensions.push(new x509.BasicConstraintsExtension(isCa, isCa && maxPath !== undefined && maxPath >= 0 ? maxPath : undefined, true));
  if (isCa || inputs["setSubjectKeyId"] === true) extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  if (issuer) {
    const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
    if (ski) extensions.push(new x509.AuthorityKeyIdentifierExtension(ski.keyId));
  }
  return extensions;
}

function validity(inputs: Props): { notBefore: Date; notAfter: Date; readyForRenewal: boolean } {
  const hours = Number(inputs["validityPeriodHours"]);
  if (!Number.isInteger(hours) || hours <= 0) throw new Error("harness: tls validityPeriodHours must be a positive integer");
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + hours * 3_600_000);
  const early = Number(inputs["earlyRenewalHours"] ?? 0);
  return { notBefore, notAfter, readyForRenewal: Date.now() >= notAfter.getTime() - early * 3_600_000 };
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString("hex");
}

// ---------------------------------------------------------------- PrivateKey

const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";

/** tls.PrivateKey: a fresh RSA or ECDSA key, PEM in the encodings the provider documents. */
export const tlsPrivateKey: Materializer = {
  type: PRIVATE_KEY,
  inputs: new Set(["algorithm", "ecdsaCurve", "rsaBits"]),
  updatable: new Set(),
  validate(inputs) {
    const algorithm = inputs["algorithm"];
    if (algorithm !== "RSA" && algorithm !== "ECDSA") throw new Error(`harness: ${PRIVATE_KEY} algorithm "${String(algorithm)}" is not implemented (RSA, ECDSA)`);
    if (algorithm === "ECDSA" && CURVES[String(inputs["ecdsaCurve"] ?? "P224")] === undefined) {
      throw new Error(`harness: ${PRIVATE_KEY} ecdsaCurve "${String(inputs["ecdsaCurve"] ?? "P224")}" is not implemented (P256, P384)`);
    }
  },
  async create(_ctx, inputs): Promise<Created> {
    const algorithm = inputs["algorithm"] as string;
    const rsaBits = Number(inputs["rsaBits"] ?? 2048);
    const ecdsaCurve = String(inputs["ecdsaCurve"] ?? "P224");
    const { privateKey, publicKey } =
      algorithm === "RSA"
        ? generateKeyPairSync("rsa", { modulusLength: rsaBits })
        : generateKeyPairSync("ec", { namedCurve: CURVES[ecdsaCurve] as string });
    const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }) as string;
    const outputs: Props = {
      algorithm, rsaBits, ecdsaCurve,
      privateKeyPem: privateKey.export({ type: algorithm === "RSA" ? "pkcs1" : "sec1", format: "pem" }) as string,
      privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      publicKeyPem,
    };
    return { id: createHash("sha1").update(publicKeyPem).digest("hex"), outputs };
  },
  async delete() {
    // Nothing outside the state: the key only ever lived in it.
  },
};

// ---------------------------------------------------------------- SelfSignedCert

const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";

/** tls.SelfSignedCert: a certificate signed by its own key (the stack's CA). */
export const tlsSelfSignedCert: Materializer = {
  type: SELF_SIGNED,
  inputs: new Set(["privateKeyPem", "subject", "validityPeriodHours", "allowedUses", "isCaCertificate", "dnsNames", "ipAddresses", "earlyRenewalHours", "setSubjectKeyId", "maxPathLength"]),
  updatable: new Set(["earlyRenewalHours"]),
  async create(_ctx, inputs): Promise<Created> {
    const { keys, algorithm, keyObject } = await importKeys(inputs["privateKeyPem"] as string);
    const name = subjectName(SELF_SIGNED, inputs["subject"]);
    const { notBefore, notAfter, readyForRenewal } = validity(inputs);
    const extensions = await certificateExtensions(SELF_SIGNED, inputs, keys.publicKey);
    const san = sanExtension(inputs);
    if (san) extensions.push(san);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(), subject: name, issuer: name, notBefore, notAfter,
      signingAlgorithm: algorithm, publicKey: keys.publicKey, signingKey: keys.privateKey, extensions,
    });
    return {
      id: BigInt(`0x${cert.serialNumber}`).toString(10),
      outputs: {
        ...inputs, certPem: cert.toString("pem") + "\n", keyAlgorithm: keyAlgorithmName(keyObject),
        validityStartTime: notBefore.toISOString().replace(".000", ""), validityEndTime: notAfter.toISOString().replace(".000", ""), readyForRenewal,
      },
    };
  },
  async update(_ctx, _id, _olds, news, oldOutputs) {
    const end = Date.parse(String(oldOutputs["validityEndTime"]));
    return { ...oldOutputs, earlyRenewalHours: news["earlyRenewalHours"], readyForRenewal: Date.now() >= end - Number(news["earlyRenewalHours"] ?? 0) * 3_600_000 };
  },
  async delete() {
    // Nothing outside the state.
  },
};

// ---------------------------------------------------------------- CertRequest

const CERT_REQUEST = "tls:index/certRequest:CertRequest";

/** tls.CertRequest: a PKCS#10 request carrying the subject and the SANs. */
export const tlsCertRequest: Materializer = {
  type: CERT_REQUEST,
  inputs: new Set(["privateKeyPem", "subject", "dnsNames", "ipAddresses"]),
  updatable: new Set(),
  async create(_ctx, inputs): Promise<Created> {
    const { keys, algorithm, keyObject } = await importKeys(inputs["privateKeyPem"] as string);
    const san = sanExtension(inputs);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: subjectName(CERT_REQUEST, inputs["subject"]), keys, signingAlgorithm: algorithm, extensions: san ? [san] : [],
    });
    const certRequestPem = csr.toString("pem") + "\n";
    return { id: createHash("sha1").update(certRequestPem).digest("hex"), outputs: { ...inputs, certRequestPem, keyAlgorithm: keyAlgorithmName(keyObject) } };
  },
  async delete() {
    // Nothing outside the state.
  },
};

// ---------------------------------------------------------------- LocallySignedCert

const LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";

/** tls.LocallySignedCert: signs a request with the CA key; subject and SANs come from the request. */
export const tlsLocallySignedCert: Materializer = {
  type: LOCALLY_SIGNED,
  inputs: new Set(["certRequestPem", "caPrivateKeyPem", "caCertPem", "validityPeriodHours", "allowedUses", "isCaCertificate", "earlyRenewalHours", "setSubjectKeyId", "maxPathLength"]),
  updatable: new Set(["earlyRenewalHours"]),
  async create(_ctx, inputs): Promise<Created> {
    const csr = new x509.Pkcs10CertificateRequest(inputs["certRequestPem"] as string);
    if (!(await csr.verify())) throw new Error(`harness: ${LOCALLY_SIGNED} certRequestPem has an invalid signature`);
    const ca = new x509.X509Certificate(inputs["caCertPem"] as string);
    const { keys: caKeys, algorithm, keyObject } = await importKeys(inputs["caPrivateKeyPem"] as string);
    const caKeySpki = createPublicKey(keyObject).export({ type: "spki", format: "der" });
    if (!caKeySpki.equals(Buffer.from(ca.publicKey.rawData))) {
      throw new Error(`harness: ${LOCALLY_SIGNED} caPrivateKeyPem does not match caCertPem`);
    }
    const publicKey = await csr.publicKey.export();
    const { notBefore, notAfter, readyForRenewal } = validity(inputs);
    const extensions = await certificateExtensions(LOCALLY_SIGNED, inputs, publicKey, ca);
    const san = csr.getExtension("2.5.29.17");
    if (san) extensions.push(new x509.SubjectAlternativeNameExtension(san.rawData));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(), subject: csr.subjectName, issuer: ca.subjectName, notBefore, notAfter,
      signingAlgorithm: algorithm, publicKey, signingKey: caKeys.privateKey, extensions,
    });
    return {
      id: BigInt(`0x${cert.serialNumber}`).toString(10),
      outputs: {
        ...inputs, certPem: cert.toString("pem") + "\n", caKeyAlgorithm: keyAlgorithmName(keyObject),
        validityStartTime: notBefore.toISOString().replace(".000", ""), validityEndTime: notAfter.toISOString().replace(".000", ""), readyForRenewal,
      },
    };
  },
  async update(_ctx, _id, _olds, news, oldOutputs) {
    const end = Date.parse(String(oldOutputs["validityEndTime"]));
    return { ...oldOutputs, earlyRenewalHours: news["earlyRenewalHours"], readyForRenewal: Date.now() >= end - Number(news["earlyRenewalHours"] ?? 0) * 3_600_000 };
  },
  async delete() {
    // Nothing outside the state.
  },
};

/** Every tls materializer, for the harness to register. */
export const tlsMaterializers: readonly Materializer[] = [tlsPrivateKey, tlsSelfSignedCert, tlsCertRequest, tlsLocallySignedCert];
