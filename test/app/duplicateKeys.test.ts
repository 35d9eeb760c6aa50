import { describe, expect, it } from "vitest";
import { findDuplicateKey } from "../../app/src/http/duplicateKeys";

describe("findDuplicateKey", () => {
  it.each([
    ['{"a":1,"b":2}', undefined],
    ['{"a":1,"a":2}', ["a"]],
    ['{ "a" : 1 ,\n\t"a" : 2 }', ["a"]],
    ['{"a":1,"\\u0061":2}', ["a"]],
    ['{"a":{"b":1,"b":2}}', ["a", "b"]],
    ['[{"a":1},{"a":1}]', undefined],
    ['[{"a":1},{"b":1,"b":2}]', [1, "b"]],
    ['{"a":"b","b":"a"}', undefined],
    ['{"a":"x\\"y","a":1}', ["a"]],
    ['{"a":["k",{"k":1}],"k":2}', undefined],
    ['{"x\\\\":1,"x\\\\":2}', ["x\\"]],
    ['{"__proto__":1,"__proto__":2}', ["__proto__"]],
    ['{"a":[1,[2,3],{"c":[{"d":1,"d":2}]}]}', ["a", 2, "c", 0, "d"]],
    ['{"":1,"":2}', [""]],
  ])("finds %s to repeat %o", (source, expected) => {
    JSON.parse(source); // the scanner's precondition: valid JSON
    expect(findDuplicateKey(source)).toEqual(expected);
  });
});
