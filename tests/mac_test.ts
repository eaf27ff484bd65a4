import assert from "node:assert/strict";
import {
  formatMac,
  hexOctets,
  parseMacAddress,
  parseUnicastMac,
} from "../lib/mac.ts";
import { refuses } from "./refuses.ts";

Deno.test("a device's own MAC: ':' or '-', unicast and not zero", () => {
  assert.deepEqual([...parseUnicastMac("52-54-00-AB-cd-ef")], [
    0x52,
    0x54,
    0,
    0xab,
    0xcd,
    0xef,
  ]);
  refuses(() => parseUnicastMac("52:54:00:12:34"), /bad MAC address/);
  refuses(() => parseUnicastMac("zz:54:00:12:34:56"), /bad MAC address/);
  refuses(() => parseUnicastMac("01:00:5e:00:00:01"), /multicast/);
  refuses(() => parseUnicastMac("00:00:00:00:00:00"), /all zero/);
  refuses(() => parseUnicastMac("52:54-00:12:34:56"), /bad MAC address/);
});

Deno.test("MAC addresses: iproute2's hex bytes, errors name the value", () => {
  assert.deepEqual(
    parseMacAddress("52:54:0:0:0:1"),
    new Uint8Array([0x52, 0x54, 0, 0, 0, 1]),
  );
  assert.deepEqual(
    parseMacAddress("FF:ff:00:00:00:0a"),
    new Uint8Array([255, 255, 0, 0, 0, 10]),
  );
  for (
    const bad of [
      "52:54:00:00:00",
      "52:54:00:00:00:01:02",
      "zz:54:00:00:00:01",
      "525:4:0:0:0:1",
    ]
  ) {
    assert.throws(
      () => parseMacAddress(bad),
      new RegExp(`invalid MAC address "${bad}"`),
    );
  }
  // iproute2 leaves multicast and zero to the kernel; '-' it does not take.
  assert.deepEqual(
    parseMacAddress("01:00:5e:00:00:01"),
    new Uint8Array([1, 0, 0x5e, 0, 0, 1]),
  );
  assert.deepEqual(parseMacAddress("0:0:0:0:0:0"), new Uint8Array(6));
  refuses(() => parseMacAddress("52-54-00-00-00-01"), /invalid MAC address/);
});

Deno.test("one formatter: lower-case hex pairs, every octet given", () => {
  const mac = new Uint8Array([0x52, 0x54, 0, 0xab, 0xcd, 0xef]);
  assert.equal(formatMac(mac), "52:54:00:ab:cd:ef");
  assert.equal(formatMac(parseUnicastMac(formatMac(mac))), formatMac(mac));
  assert.equal(formatMac(new Uint8Array([1, 2])), "01:02");
  assert.equal(hexOctets(new Uint8Array([0, 0x0f, 0xf0])), "000ff0");
  assert.equal(hexOctets(new Uint8Array([]), ":"), "");
});
