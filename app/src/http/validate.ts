import type { z } from "zod";
import { HttpError, type FieldIssue } from "./errors";

/** Turns zod issues into the field/rule list a 400 carries. */
export function toFieldIssues(error: z.ZodError, where: string): FieldIssue[] {
  return error.issues.slice(0, 20).map((issue) => {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const path = [...issue.path.map(String), ...(keys.length === 1 ? keys : [])];
    return {
      field: [where, ...path].join("."),
      // Custom checks name their own rule (e.g. text's "bidi_control"); the rest use zod's code.
      rule: issue.code === "custom" && typeof issue.params?.rule === "string" ? issue.params.rule : issue.code,
      message: issue.message,
    };
  });
}

/** Parses `value` with `schema` or throws a 400 naming each field and rule it broke. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query" | "params"): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(400, "validation_failed", `The request ${where} is invalid`, toFieldIssues(result.error, where));
  }
  return result.data;
}
