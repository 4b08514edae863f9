/* SPDX-License-Identifier: MIT */
/*
 * uuidtext.c - a UUID's text and back (uuidtext.h).
 */
#include "shared/uuidtext.h"

#include <string.h>

/* Whether a '-' comes before byte @i of the 16: 4, 6, 8 and 10. */
static bool uuidtext_dash_before(int i)
{
	return i == 4 || i == 6 || i == 8 || i == 10;
}

void uuidtext_format(const uint8_t uu[16], bool upper, char *out)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		if (uuidtext_dash_before(i))
			*out++ = '-';
		*out++ = digits[uu[i] >> 4];
		*out++ = digits[uu[i] & 15];
	}
	*out = '\0';
}

static int uuidtext_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uuidtext_parse(const char *in, uint8_t uu[16])
{
	uint8_t out[16];

	if (strlen(in) != UUIDTEXT_SIZE - 1)
		return -1;
	for (int i = 0; i < 16; i++) {
		int hi, lo;

		if (uuidtext_dash_before(i) && *in++ != '-')
			return -1;
		hi = uuidtext_hex(*in++);
		lo = uuidtext_hex(*in++);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(uu, out, sizeof(out));
	return 0;
}
