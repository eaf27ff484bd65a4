/**
 * Netlink and generic-netlink constants (include/uapi/linux/netlink.h,
 * genetlink.h): socket options, message flags and types, header sizes and
 * the controller's fixed id.
 *
 * @module
 */

/** Netlink and generic-netlink constants (include/uapi/linux/netlink.h, genetlink.h). */
export const NL = {
  AF_NETLINK: 16,
  NETLINK_GENERIC: 16,
  SOCK_RAW: 3,
  SOCK_CLOEXEC: 0o2000000,
  SOL_NETLINK: 270,
  NETLINK_CAP_ACK: 10,
  NETLINK_EXT_ACK: 11,
  NLM_F_REQUEST: 0x1,
  NLM_F_MULTI: 0x2,
  NLM_F_ACK: 0x4,
  NLM_F_DUMP: 0x300,
  NLM_F_CAPPED: 0x100,
  NLM_F_ACK_TLVS: 0x200,
  NLMSG_NOOP: 1,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  NLMSG_OVERRUN: 4,
  NLMSG_HDRLEN: 16,
  GENL_HDRLEN: 4,
  NLA_HDRLEN: 4,
  NLA_F_NESTED: 0x8000,
  NLA_TYPE_MASK: 0x3fff,
  NLMSGERR_ATTR_MSG: 1,
  NLMSGERR_ATTR_OFFS: 2,
  GENL_ID_CTRL: 0x10,
  CTRL_CMD_GETFAMILY: 3,
  MSG_PEEK: 0x2,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
} as const;
