import { request } from "node:http";

/**
 * Container healthcheck: GET /healthz on the local port with the first allowed host as Host
 * (the API refuses any other), exit 0 on 200 and 1 otherwise. No curl in the node image.
 */
const port = Number(process.env.PORT ?? "8080");
const host = (process.env.ALLOWED_HOSTS ?? "").split(",")[0]?.trim() || "localhost";

const req = request({ host: "127.0.0.1", port, path: "/healthz", method: "GET", headers: { host }, timeout: 3_000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.on("error", () => process.exit(1));
req.end();
