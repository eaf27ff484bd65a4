/**
 * Netlink and generic netlink: attribute tables as data, the message codec,
 * and the socket that sends requests and collects replies.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/netlink/` import the family only from here.
 *
 * @module
 */

export {
  attrRecord,
  decodeAttrs,
  decodeGenl,
  encodeAttrs,
  GenlSocket,
  NetlinkError,
  NetlinkTransportError,
} from "./netlink.ts";
export type {
  Attr,
  AttrInput,
  AttrTable,
  AttrValue,
  FamilyInfo,
  NlMsg,
} from "./netlink.ts";
