/**
 * Pure rendering of the Caddyfile that fronts the API. No resources, no I/O: the Proxy component
 * writes the returned text into the container, the tests snapshot it and run it through the real
 * caddy binary. Written for the Caddyfile dialect of Caddy 2.6 (Debian's caddy 2.6.2 checks it in
 * tests), which the official caddy:2 images also accept.
 */

/** How Caddy gets certificates: its own local CA (dev) or an ACME CA (prod). */
export type CaddyTlsMode = "internal" | "acme";

/** Server timeouts in whole seconds. */
export interface CaddyTimeouts {
  /** Time allowed to read the request line and headers (slowloris guard). */
  readonly readHeaderSeconds: number;
  /** Time allowed to read the whole request, body included. */
  readonly readBodySeconds: number;
  /** Time allowed to write the response. */
  readonly writeSeconds: number;
  /** How long an idle keep-alive connection stays open. */
  readonly idleSeconds: number;
  /** Time allowed to connect to the API container. */
  readonly upstreamDialSeconds: number;
  /** Time the API has to send its response headers. */
  readonly upstreamResponseHeaderSeconds: number;
}

/** Everything the Caddyfile depends on, taken from the validated stack config. */
export interface CaddyfileInput {
  /** Hostname of the CRM API site. */
  readonly apiHost: string;
  /** Hostname of the kiosk site (served by the same API). */
  readonly kioskHost: string;
  /** `internal`: Caddy's local CA; `acme`: public certificates from `acmeCa`. */
  readonly tls: CaddyTlsMode;
  /** ACME account contact; required when `tls` is `acme`. */
  readonly acmeEmail?: string;
  /** ACME directory URL (production or staging); required when `tls` is `acme`. */
  readonly acmeCa?: string;
  /** Adds `preload` to HSTS. Only opt in once the domain is ready for the browsers' preload list. */
  readonly hstsPreload: boolean;
  /** Host-side HTTPS port clients use (443 in prod, for example 8443 in dev): the redirect target. */
  readonly publicHttpsPort: number;
  /** The API as Caddy reaches it on the external network, `host:port` (for example `krc-dev-api:8080`). */
  readonly upstream: string;
  /** Largest request body accepted, in bytes; larger requests get 413. */
  readonly maxBodyBytes: number;
  /** Overrides for {@link DEFAULT_CADDY_TIMEOUTS}. */
  readonly timeouts?: Partial<CaddyTimeouts>;
}

/** Let's Encrypt production directory (the default CA for `tls: acme`). */
export const LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
/** Let's Encrypt staging directory: untrusted certificates, generous rate limits, for trials. */
export const LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

/**
 * The proxy container's health endpoint, served on loopback inside the container only (never
 * published). Answers 200 while Caddy runs. The container healthcheck is
 * `["CMD", "wget", "-q", "-O", "/dev/null", CADDY_HEALTH_URL]` (busybox wget in the Alpine-based
 * official image, GNU wget in the stand-in).
 */
export const CADDY_HEALTH_URL = "http://127.0.0.1:2020/healthz";

/** Where Caddy keeps certificates, keys and the ACME account: mount a named volume at `/data`. */
export const CADDY_STORAGE_ROOT = "/data/caddy";

/** Used where the input leaves a timeout out. */
export const DEFAULT_CADDY_TIMEOUTS: CaddyTimeouts = Object.freeze({
  readHeaderSeconds: 10,
  readBodySeconds: 30,
  writeSeconds: 60,
  idleSeconds: 120,
  upstreamDialSeconds: 5,
  upstreamResponseHeaderSeconds: 30,
});

/**
 * Mozilla "intermediate" TLS 1.2 suites that Go implements (the DHE suites of that profile are not
 * available in Go). TLS 1.3 suites are not configurable in Go and are all in the profile.
 */
export const MOZILLA_INTERMEDIATE_CIPHERS: readonly string[] = Object.freeze([
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]);

/** Mozilla "intermediate" key exchange groups, in Caddy's names. */
export const MOZILLA_INTERMEDIATE_CURVES: readonly string[] = Object.freeze(["x25519", "secp256r1", "secp384r1"]);

/** Two years: above the one year that HSTS preload requires. */
const HSTS_MAX_AGE_SECONDS = 63_072_000;

/**
 * The security headers Caddy puts on every HTTPS response (API success, API error and Caddy's own
 * errors), exactly once each: Caddy replaces whatever the API sent for these names.
 */
export function securityHeaders(input: Pick<CaddyfileInput, "hstsPreload">): Readonly<Record<string, string>> {
  return Object.freeze({
    "Strict-Transport-Security": `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains${input.hstsPreload ? "; preload" : ""}`,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy":
      "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()",
    // A JSON API loads nothing and may be framed by nobody.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  });
}

/** Response headers Caddy removes from every HTTPS response. */
export const REMOVED_RESPONSE_HEADERS: readonly string[] = Object.freeze(["Server", "X-Powered-By"]);

/**
 * Renders the Caddyfile for the given input.
 * @throws Error naming the field when a value is missing or could break out of the Caddyfile syntax.
 */
export function renderCaddyfile(input: CaddyfileInput): string {
  const v = validate(input);
  const sites = `${v.apiHost}, ${v.kioskHost}`;
  const port = v.publicHttpsPort === 443 ? "" : `:${v.publicHttpsPort}`;
  return [
    globalOptions(v),
    snippets(v),
    block(sites, [
      "import tls_policy",
      "import security_headers",
      "import access_log",
      // Refuse declared oversize bodies before they reach the API; request_body catches the rest
      // (chunked bodies) while streaming. Both end in handle_errors below as 413.
      `@tooLarge expression \`{http.request.header.Content-Length} != "" && int({http.request.header.Content-Length}) > ${v.maxBodyBytes}\``,
      "error @tooLarge 413",
      ...block("request_body", [`max_size ${v.maxBodyBytes}`]),
      // No trusted_proxies: Caddy replaces any client-sent X-Forwarded-For with the peer address,
      // so the API trusts exactly one hop. The Host header passes through unchanged.
      ...block(`reverse_proxy ${v.upstream}`, [
        "header_up -Forwarded",
        "header_up -X-Real-IP",
        ...block("transport http", [
          `dial_timeout ${v.timeouts.upstreamDialSeconds}s`,
          `response_header_timeout ${v.timeouts.upstreamResponseHeaderSeconds}s`,
        ]),
      ]),
      // Caddy's own errors (413, 421, 502, ...) get the same headers and the API's error shape.
      ...block("handle_errors", ["import security_headers", ...errorResponses(v.maxBodyBytes)]),
    ]),
    // Plain HTTP only redirects, to the port clients actually use (the container's 443 may be
    // published elsewhere), and carries no HSTS. ACME HTTP-01 challenges are answered before this.
    block(`http://${v.apiHost}, http://${v.kioskHost}`, [
      "import access_log",
      "header -Server",
      `redir https://{host}${port}{uri} 308`,
    ]),
    // No default site: any other Host (or no SNI match) is dropped without an answer.
    block("http://", ["import access_log", "abort"]),
    block("https://", ["import tls_policy", "import access_log", "abort", ...block("handle_errors", ["abort"])]),
    // Loopback-only health listener for the container healthcheck; nothing publishes it.
    block(`http://127.0.0.1:${new URL(CADDY_HEALTH_URL).port}`, [
      "bind 127.0.0.1",
      ...block(`handle ${new URL(CADDY_HEALTH_URL).pathname}`, ["respond 200"]),
      ...block("handle", ["respond 404"]),
    ]),
  ]
    .map((lines) => lines.join("\n"))
    .join("\n\n")
    .concat("\n");
}

/** The API's error body (app/README.md, "Errors"), as Caddy sends it for its own errors. */
export interface CaddyErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * The body Caddy sends for each status it produces itself, in the API's shape. Codes the API also
 * uses keep the API's name (`payload_too_large`, `internal`, `bad_request`).
 */
export function caddyErrorBodies(maxBodyBytes: number): Readonly<Record<number, CaddyErrorBody>> {
  const body = (code: string, message: string): CaddyErrorBody => ({ error: { code, message } });
  return Object.freeze({
    413: body("payload_too_large", `request body is larger than ${maxBodyBytes} bytes`),
    421: body("misdirected_request", "the Host header does not name the server this connection was opened for"),
    500: body("internal", "internal error"),
    502: body("bad_gateway", "the API is not reachable"),
    503: body("service_unavailable", "the API is not available"),
    504: body("gateway_timeout", "the API did not answer in time"),
  });
}

/** Any other status: `bad_request` (4xx) or `internal` (5xx), with Caddy's status text. */
export const CADDY_FALLBACK_ERROR_CODES = Object.freeze({ client: "bad_request", server: "internal" });

// One terminal `respond` per status; Caddy runs the first whose matcher passes, the unmatched one last.
function errorResponses(maxBodyBytes: number): string[] {
  const known = Object.entries(caddyErrorBodies(maxBodyBytes)).flatMap(([status, body]) => [
    `@status${status} expression \`{err.status_code} == ${status}\``,
    `respond @status${status} \`${JSON.stringify(body)}\` ${status}`,
  ]);
  const fallback = (code: string) => `{"error":{"code":"${code}","message":"{err.status_text}"}}`;
  return [
    ...known,
    "@clientError expression `{err.status_code} < 500`",
    `respond @clientError \`${fallback(CADDY_FALLBACK_ERROR_CODES.client)}\` {err.status_code}`,
    `respond \`${fallback(CADDY_FALLBACK_ERROR_CODES.server)}\` {err.status_code}`,
  ];
}

type Validated = Omit<CaddyfileInput, "timeouts"> & { readonly timeouts: CaddyTimeouts };

function globalOptions(v: Validated): string[] {
  return block("", [
    // Nothing may reconfigure the running server: the config comes only from this file.
    "admin off",
    // The explicit http:// sites below redirect with the public port; Caddy's own would use 443.
    "auto_https disable_redirects",
    ...(v.tls === "internal" ? ["skip_install_trust"] : []),
    "grace_period 10s",
    ...block("storage file_system", [`root ${CADDY_STORAGE_ROOT}`]),
    // Caddy's own log also carries the request (its error entries: a 502, a 413), so it gets the
    // access log's filter too.
    ...block("log default", ["output stderr", ...logFormat(), "level INFO"]),
    ...block("servers", [
      // HTTP/3 would advertise a UDP port that is not published.
      "protocols h1 h2",
      // The Host header must name the certificate the client asked for (SNI).
      "strict_sni_host on",
      "max_header_size 16KB",
      ...block("timeouts", [
        `read_header ${v.timeouts.readHeaderSeconds}s`,
        `read_body ${v.timeouts.readBodySeconds}s`,
        `write ${v.timeouts.writeSeconds}s`,
        `idle ${v.timeouts.idleSeconds}s`,
      ]),
    ]),
  ]);
}

function snippets(v: Validated): string[] {
  const issuer =
    v.tls === "internal"
      ? ["issuer internal"]
      : // One explicit issuer: no silent fallback to a second CA that the CAA records do not allow.
        block("issuer acme", [`dir ${v.acmeCa}`, `email ${v.acmeEmail}`]);
  const headers = Object.entries(securityHeaders(v)).map(([name, value]) => `${name} ${quote(value)}`);
  return [
    ...block("(tls_policy)", [
      ...block("tls", [
        "protocols tls1.2 tls1.3",
        `ciphers ${MOZILLA_INTERMEDIATE_CIPHERS.join(" ")}`,
        `curves ${MOZILLA_INTERMEDIATE_CURVES.join(" ")}`,
        ...issuer,
      ]),
    ]),
    "",
    // Deferred so the values replace what the API (helmet) sent instead of adding a second copy.
    ...block("(security_headers)", [
      ...block("header", [...headers, ...REMOVED_RESPONSE_HEADERS.map((name) => `-${name}`), "defer"]),
    ]),
    "",
    // One filtered logger per site block; the catch-all blocks also log requests whose Host
    // carries a port, which Caddy 2.6 does not map to a named site logger.
    ...block("(access_log)", [
      ...block("log", ["output stdout", ...logFormat()]),
    ]),
  ];
}

/** What the logged query string is replaced with. */
export const REDACTED_QUERY = "?REDACTED";

// Credentials, and the whole query string: it carries searched names and phone numbers
// (`/kiosk/clients?phone=…`, `/clients?q=…`), and any key not listed would leak, so none is kept.
function logFormat(): string[] {
  return block("format filter", [
    "wrap json",
    ...block("fields", [
      "request>headers>Authorization delete",
      "request>headers>Proxy-Authorization delete",
      "request>headers>Cookie delete",
      // A client page's address, query included.
      "request>headers>Referer delete",
      `request>uri regexp "[?].*$" "${REDACTED_QUERY}"`,
      "resp_headers>Set-Cookie delete",
    ]),
  ]);
}

function block(head: string, body: readonly string[]): string[] {
  return [head === "" ? "{" : `${head} {`, ...body.map((line) => (line === "" ? "" : `\t${line}`)), "}"];
}

function quote(value: string): string {
  return `"${value}"`;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const UPSTREAM = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?:[0-9]{1,5}$/;
const EMAIL = /^[^\s@{}"`'\\]+@[^\s@{}"`'\\]+\.[^\s@{}"`'\\]+$/;

function validate(input: CaddyfileInput): Validated {
  const fail = (field: string, problem: string): never => {
    throw new Error(`renderCaddyfile: ${field} ${problem}`);
  };
  for (const field of ["apiHost", "kioskHost"] as const) {
    if (!HOSTNAME.test(input[field])) {
      fail(field, `${JSON.stringify(input[field])} is not a lowercase hostname (letters, digits, hyphens, dots)`);
    }
  }
  if (input.apiHost === input.kioskHost) fail("kioskHost", `must differ from apiHost (both ${input.apiHost})`);
  if (input.tls !== "internal" && input.tls !== "acme") {
    fail("tls", `${JSON.stringify(input.tls)} is not allowed (allowed: "internal", "acme")`);
  }
  if (input.tls === "acme") {
    if (input.acmeEmail === undefined || !EMAIL.test(input.acmeEmail)) {
      fail("acmeEmail", `${JSON.stringify(input.acmeEmail)} is not an email address (required when tls is "acme")`);
    }
    if (input.acmeCa === undefined || !isHttpsUrl(input.acmeCa)) {
      fail("acmeCa", `${JSON.stringify(input.acmeCa)} is not an https:// ACME directory URL (required when tls is "acme")`);
    }
  }
  if (!isPort(input.publicHttpsPort)) fail("publicHttpsPort", `${input.publicHttpsPort} is not a port (1-65535)`);
  if (!UPSTREAM.test(input.upstream) || !isPort(Number(input.upstream.split(":")[1]))) {
    fail("upstream", `${JSON.stringify(input.upstream)} is not host:port`);
  }
  if (!Number.isSafeInteger(input.maxBodyBytes) || input.maxBodyBytes < 1) {
    fail("maxBodyBytes", `${input.maxBodyBytes} is not a positive whole number of bytes`);
  }
  const timeouts = { ...DEFAULT_CADDY_TIMEOUTS, ...input.timeouts };
  for (const [name, seconds] of Object.entries(timeouts)) {
    if (!Number.isSafeInteger(seconds) || seconds < 1) fail(`timeouts.${name}`, `${seconds} is not a positive whole number of seconds`);
  }
  return { ...input, timeouts };
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65_535;
}

function isHttpsUrl(value: string): boolean {
  if (/[\s{}"`'\\]/.test(value)) return false;
  try {
    return new URL(value).protocol === "https:";
  } catch {
    return false;
  }
}
