import { describe, expect, it } from "vitest";
import { fromBodyParser } from "../../app/src/http/errors";

describe("fromBodyParser", () => {
  it("answers 415 when the body is compressed", () => {
    const error = fromBodyParser({ type: "encoding.unsupported", status: 415 });
    expect([error?.status, error?.code]).toEqual([415, "unsupported_media_type"]);
  });

  it.each([
    [{ type: "some.new.type", status: 400 }, 400, "bad_request"],
    [{ type: "some.new.type", statusCode: 422 }, 422, "bad_request"],
    [{ status: 413 }, 413, "payload_too_large"],
    [{ statusCode: 415 }, 415, "unsupported_media_type"],
  ])("keeps the client status when a parser error of an unknown type carries %o", (input, status, code) => {
    const error = fromBodyParser(input);
    expect([error?.status, error?.code]).toEqual([status, code]);
  });

  it.each([[{ status: 500 }], [{ statusCode: 503 }], [{ status: 399 }], [{ status: "400" }], [{}], [null], [undefined]])("leaves it to the 500 path when the error carries %o", (input) => {
    expect(fromBodyParser(input as never)).toBeUndefined();
  });
});
