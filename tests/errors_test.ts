import assert from "node:assert/strict";
import { errnoCode, VdevError } from "../lib/errors.ts";

Deno.test("errnoCode: Deno's code wins, whatever the error class", () => {
  const err = Object.assign(new TypeError("Invalid argument (os error 22)"), {
    code: "EINVAL",
  });
  assert.equal(errnoCode(err), "EINVAL");
  assert.equal(errnoCode(new Deno.errors.AlreadyExists("x")), undefined);
});

Deno.test("errnoCode: an errno Deno leaves without a code comes from its number", () => {
  // What a write to mdpy's `create` gives when the mdev core's pool is empty.
  const err = new Error("Too many users (os error 87)");
  assert.equal(errnoCode(err), "EUSERS");
  assert.equal(errnoCode(new Error("no number here")), undefined);
  assert.equal(errnoCode(new VdevError("Bad (os error 99999)")), undefined);
  assert.equal(errnoCode("ENOENT"), undefined);
  assert.equal(errnoCode(null), undefined);
});

Deno.test("errnoCode: a VdevError has its cause's code, not one its text quotes", () => {
  const quoting = new VdevError(
    "writing x failed: Too many users (os error 87)",
  );
  assert.equal(errnoCode(quoting), undefined);
  const cause = Object.assign(new Error("File exists (os error 17)"), {
    code: "EEXIST",
  });
  assert.equal(
    errnoCode(new VdevError("cannot create vnet0 (os error 87)", { cause })),
    "EEXIST",
  );
  const nested = new VdevError("outer", {
    cause: new VdevError("inner", { cause: new Error("(os error 87)") }),
  });
  assert.equal(errnoCode(nested), "EUSERS");
});
