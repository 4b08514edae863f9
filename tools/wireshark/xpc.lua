-- SPDX-License-Identifier: MIT
-- xpc.lua - a Wireshark/tshark dissector for libxpc captures: pcapng files
-- written by XPC_CAPTURE=FILE (src/transport/capture.c) or `xpcctl capture`
-- (tools/xpcctl/monitor.c), link type LINKTYPE_USER0 (147).
--
-- Each packet is one transport frame as on the wire (docs/transport.md): a
-- 32-byte header (magic "XPCF", kind, flags, n_fds, id, reply_to, body_len;
-- little-endian on x86 and arm64, the hosts libxpc runs on) and its body, a
-- message in Apple's object encoding (docs/wire.md: magic "CPX@" or the
-- standalone 0x42133742, version 5, then tagged objects padded to 4).  A
-- BATCH frame's body is inner frames back to back.  Descriptors are not in
-- the capture; fd, shmem and endpoint items say which one they took.
--
-- Use: wireshark -X lua_script:tools/wireshark/xpc.lua FILE.pcapng
--      tshark -X lua_script:tools/wireshark/xpc.lua -r FILE.pcapng -V
-- Filters: xpc.kind == 1, xpc.key == "xpcd.op", xpc.string == "lookup".

local xpc = Proto("xpc", "libxpc frame")

local kinds = {[1] = "MESSAGE", [2] = "REPLY", [3] = "CHECKIN", [4] = "HELLO", [5] = "BATCH", [6] = "REFUSED", [7] = "CHANNEL"}
local types = {
	[0x1000] = "null", [0x2000] = "bool", [0x3000] = "int64", [0x4000] = "uint64",
	[0x5000] = "double", [0x7000] = "date", [0x8000] = "data", [0x9000] = "string",
	[0xa000] = "uuid", [0xb000] = "fd", [0xc000] = "shmem", [0xe000] = "array",
	[0xf000] = "dictionary", [0x12000] = "endpoint",
}

local f = {
	magic = ProtoField.uint32("xpc.magic", "Magic", base.HEX),
	kind = ProtoField.uint8("xpc.kind", "Kind", base.DEC, kinds),
	flags = ProtoField.uint8("xpc.flags", "Flags", base.HEX),
	wants_reply = ProtoField.bool("xpc.flags.wants_reply", "Wants reply", 8, nil, 0x1),
	ool = ProtoField.bool("xpc.flags.ool", "Out of line", 8, nil, 0x2),
	staged = ProtoField.bool("xpc.flags.staged", "Staged", 8, nil, 0x4),
	n_fds = ProtoField.uint16("xpc.n_fds", "Descriptors", base.DEC),
	id = ProtoField.uint64("xpc.id", "Id", base.DEC),
	reply_to = ProtoField.uint64("xpc.reply_to", "Reply to", base.DEC),
	body_len = ProtoField.uint64("xpc.body_len", "Body length", base.DEC),
	body_magic = ProtoField.uint32("xpc.body.magic", "Body magic", base.HEX,
		{[0x40585043] = "message (CPX@)", [0x42133742] = "standalone object"}),
	version = ProtoField.uint32("xpc.body.version", "Version", base.DEC),
	type = ProtoField.uint32("xpc.type", "Type", base.HEX, types),
	key = ProtoField.string("xpc.key", "Key"),
	length = ProtoField.uint32("xpc.length", "Length", base.DEC),
	count = ProtoField.uint32("xpc.count", "Count", base.DEC),
	bool = ProtoField.bool("xpc.bool", "Bool"),
	int64 = ProtoField.int64("xpc.int64", "Int64", base.DEC),
	uint64 = ProtoField.uint64("xpc.uint64", "Uint64", base.DEC),
	double = ProtoField.double("xpc.double", "Double"),
	date = ProtoField.int64("xpc.date", "Date (ns since the epoch)", base.DEC),
	data = ProtoField.bytes("xpc.data", "Data"),
	string = ProtoField.string("xpc.string", "String"),
	uuid = ProtoField.guid("xpc.uuid", "UUID"),
	fd_index = ProtoField.uint32("xpc.fd_index", "Descriptor", base.DEC),
}
xpc.fields = f

local e_malformed = ProtoExpert.new("xpc.malformed", "Malformed XPC encoding", expert.group.MALFORMED, expert.severity.ERROR)
xpc.experts = {e_malformed}

local MAX_DEPTH = 64
local pad4 = function(n) return (n + 3) - (n + 3) % 4 end

-- A C string at off inside [off, limit): its text and the padded length.
local function cstring(tvb, off, limit)
	local n = 0
	while off + n < limit and tvb(off + n, 1):uint() ~= 0 do n = n + 1 end
	if off + n >= limit then return nil end
	return tvb(off, n):string(ENC_UTF_8), pad4(n + 1)
end

local dissect_object

-- The items of a container body [off, limit): count objects, or
-- count key/object pairs.  Returns false on a malformed item.
local function dissect_items(tvb, tree, off, limit, count, keyed, depth, st)
	for _ = 1, count do
		local key
		if keyed then
			local klen
			key, klen = cstring(tvb, off, limit)
			if not key then return false end
			off = off + klen
		end
		local used = dissect_object(tvb, tree, off, limit, key, depth + 1, st)
		if not used then return false end
		off = off + used
	end
	return off == limit
end

local function scalar(tvb, t, off, limit, item, st)
	local need = ({[0x2000] = 4, [0x3000] = 8, [0x4000] = 8, [0x5000] = 8, [0x7000] = 8, [0xa000] = 16})[t] or 0
	if off + need > limit then return nil end
	if t == 0x2000 then
		local v = tvb(off, 4):le_uint()
		item:add_le(f.bool, tvb(off, 4)); item:append_text(": " .. (v == 1 and "true" or "false"))
	elseif t == 0x3000 then
		item:add_le(f.int64, tvb(off, 8)); item:append_text(": " .. tostring(tvb(off, 8):le_int64()))
	elseif t == 0x4000 then
		item:add_le(f.uint64, tvb(off, 8)); item:append_text(": " .. tostring(tvb(off, 8):le_uint64()))
	elseif t == 0x5000 then
		item:add_le(f.double, tvb(off, 8)); item:append_text(": " .. tostring(tvb(off, 8):le_float()))
	elseif t == 0x7000 then
		item:add_le(f.date, tvb(off, 8))
	elseif t == 0xa000 then
		item:add(f.uuid, tvb(off, 16))
	elseif t == 0xb000 or t == 0x12000 then
		item:add(f.fd_index, st.fds):set_generated(); st.fds = st.fds + 1
	end
	return need
end

local function sized(tvb, t, off, limit, item, st)
	if off + 4 > limit then return nil end
	local len = tvb(off, 4):le_uint()
	item:add_le(f.length, tvb(off, 4))
	if t == 0xc000 then
		if off + 8 > limit then return nil end
		item:add(f.fd_index, st.fds):set_generated(); st.fds = st.fds + 1
		return 8
	end
	if off + 4 + pad4(len) > limit or (t == 0x9000 and len == 0) then return nil end
	if t == 0x9000 then
		local s = tvb(off + 4, len - 1):string(ENC_UTF_8)
		item:add(f.string, tvb(off + 4, len - 1)); item:append_text(": \"" .. s .. "\"")
	elseif len > 0 then
		item:add(f.data, tvb(off + 4, len)); item:append_text(": " .. len .. " bytes")
	end
	return 4 + pad4(len)
end

local function container(tvb, t, off, limit, item, depth, st)
	if off + 8 > limit then return nil end
	local blen, count = tvb(off, 4):le_uint(), tvb(off + 4, 4):le_uint()
	if blen < 4 or blen % 4 ~= 0 or off + 4 + blen > limit or depth >= MAX_DEPTH then return nil end
	item:add_le(f.length, tvb(off, 4)); item:add_le(f.count, tvb(off + 4, 4))
	item:append_text(" (" .. count .. (t == 0xf000 and " entries)" or " items)"))
	if not dissect_items(tvb, item, off + 8, off + 4 + blen, count, t == 0xf000, depth, st) then return nil end
	return 4 + blen
end

-- One object at off; returns the bytes it took, nil if malformed.
dissect_object = function(tvb, tree, off, limit, key, depth, st)
	if off + 4 > limit then return nil end
	local t = tvb(off, 4):le_uint()
	local name = types[t] or string.format("unknown 0x%x", t)
	local item = tree:add(xpc, tvb(off, math.min(limit - off, 4)), (key and ("\"" .. key .. "\" = ") or "") .. name)
	if key then item:add(f.key, key):set_generated() end
	item:add_le(f.type, tvb(off, 4))
	local used
	if t == 0x8000 or t == 0x9000 or t == 0xc000 then
		used = sized(tvb, t, off + 4, limit, item, st)
	elseif t == 0xe000 or t == 0xf000 then
		used = container(tvb, t, off + 4, limit, item, depth, st)
	elseif types[t] then
		used = scalar(tvb, t, off + 4, limit, item, st)
	end
	if not used then
		item:add_proto_expert_info(e_malformed, "bad " .. name .. " item")
		return nil
	end
	item:set_len(4 + used)
	return 4 + used
end

-- The body [off, off + len): header and root object.
local function dissect_body(tvb, tree, off, len)
	if len == 0 then return end
	local body = tree:add(xpc, tvb(off, len), "Message body")
	if len < 12 then body:add_proto_expert_info(e_malformed, "body shorter than its header"); return end
	body:add_le(f.body_magic, tvb(off, 4))
	body:add_le(f.version, tvb(off + 4, 4))
	local st = {fds = 0}
	local used = dissect_object(tvb, body, off + 8, off + len, nil, 1, st)
	if used and off + 8 + used ~= off + len then
		body:add_proto_expert_info(e_malformed, "bytes after the root object")
	end
end

-- One frame at off; returns its length (header and inline body).
local function dissect_frame(tvb, pinfo, tree, off, avail)
	local t = tree:add(xpc, tvb(off, math.min(avail, 32)))
	if avail < 32 then t:add_proto_expert_info(e_malformed, "short frame header"); return avail end
	local kind = tvb(off + 4, 1):uint()
	local flags = tvb(off + 5, 1):uint()
	local blen = tvb(off + 24, 4):le_uint()
	t:add_le(f.magic, tvb(off, 4))
	t:add(f.kind, tvb(off + 4, 1))
	local ft = t:add(f.flags, tvb(off + 5, 1))
	ft:add(f.wants_reply, tvb(off + 5, 1)); ft:add(f.ool, tvb(off + 5, 1)); ft:add(f.staged, tvb(off + 5, 1))
	t:add_le(f.n_fds, tvb(off + 6, 2))
	t:add_le(f.id, tvb(off + 8, 8))
	t:add_le(f.reply_to, tvb(off + 16, 8))
	t:add_le(f.body_len, tvb(off + 24, 8))
	local kname = kinds[kind] or ("kind " .. kind)
	local id = tvb(off + 8, 8):le_uint64()
	t:set_text(string.format("XPC %s id %s%s, %d body bytes", kname, tostring(id),
		kind == 2 and (" reply to " .. tostring(tvb(off + 16, 8):le_uint64())) or "", blen))
	pinfo.cols.info:append((tostring(pinfo.cols.info) ~= "" and ", " or "") .. kname ..
		(bit32.band(flags, 1) ~= 0 and " (request)" or ""))
	local have = math.min(blen, avail - 32)
	if kind == 5 then
		local inner, o = t:add(xpc, tvb(off + 32, have), "Batch"), off + 32
		while o < off + 32 + have do o = o + dissect_frame(tvb, pinfo, inner, o, off + 32 + have - o) end
	elseif have == blen then
		dissect_body(tvb, t, off + 32, blen)
	elseif have > 0 then
		t:add(xpc, tvb(off + 32, have), "Body (truncated in the capture)")
	end
	return 32 + have
end

function xpc.dissector(tvb, pinfo, tree)
	pinfo.cols.protocol = "XPC"
	pinfo.cols.info:clear()
	local root = tree:add(xpc, tvb(), "libxpc")
	dissect_frame(tvb, pinfo, root, 0, tvb:len())
	return tvb:len()
end

local encap = (wtap_encaps and wtap_encaps.USER0) or (wtap and wtap.USER0) or 45
DissectorTable.get("wtap_encap"):add(encap, xpc)
