/**
 * Netlink and generic netlink: attribute tables as data (`attrs.ts`), the
 * message codec (`message.ts`), and the socket that resolves families,
 * sends requests and collects replies (`socket.ts`).
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/netlink/` import the family only from here.
 *
 * @module
 */

export { attrRecord, decodeAttrs, encodeAttrs } from "./attrs.ts";
export type { Attr, AttrInput, AttrTable, AttrValue } from "./attrs.ts";
export { decodeGenl, NetlinkError } from "./message.ts";
export type { NlMsg } from "./message.ts";
export { GENL_OP_FLAGS, GenlSocket, NetlinkTransportError } from "./socket.ts";
export type { FamilyDescription, FamilyInfo, FamilyOp } from "./socket.ts";
