/*
 * bench-wire.c - encode and decode throughput of the wire layer, against a
 * memcpy of the same bytes measured in the same run.
 *
 * Two typical messages: a dictionary of 20 mixed values (strings, integers,
 * a double, a bool, a date, a uuid, small data, a nested array and
 * dictionary), and a dictionary holding one 1 MiB data blob next to a few
 * small values.  For each it reports the median over several rounds of
 * encode and decode in messages/s and MB/s of encoded bytes, and the ratio
 * of memcpy's bandwidth to each (how many times slower than copying the
 * bytes once the codec is).
 *
 *   bench-wire [seconds-per-figure]    (default 0.3)
 */
#include "wire/wire.h"

#include <xpc/xpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 7

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static xpc_object_t make_typical(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t a = xpc_array_create(NULL, 0);
	xpc_object_t sub = xpc_dictionary_create(NULL, NULL, 0);
	uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	uint8_t small[48] = {0};

	xpc_dictionary_set_string(d, "op", "com.example.fetch");
	xpc_dictionary_set_string(d, "path", "/var/lib/example/items/42");
	xpc_dictionary_set_string(d, "user", "alice");
	xpc_dictionary_set_string(d, "locale", "en_US.UTF-8");
	xpc_dictionary_set_int64(d, "id", 42);
	xpc_dictionary_set_int64(d, "offset", -1);
	xpc_dictionary_set_int64(d, "limit", 100);
	xpc_dictionary_set_uint64(d, "flags", 0x8000000000000001ull);
	xpc_dictionary_set_uint64(d, "generation", 7);
	xpc_dictionary_set_double(d, "timeout", 2.5);
	xpc_dictionary_set_bool(d, "reply", true);
	xpc_dictionary_set_bool(d, "cached", false);
	xpc_dictionary_set_date(d, "since", 1700000000000000000ll);
	xpc_dictionary_set_uuid(d, "client", uuid);
	xpc_dictionary_set_data(d, "token", small, sizeof(small));
	xpc_dictionary_set_value(d, "nothing", xpc_null_create());
	xpc_array_set_string(a, XPC_ARRAY_APPEND, "first");
	xpc_array_set_int64(a, XPC_ARRAY_APPEND, 2);
	xpc_array_set_string(a, XPC_ARRAY_APPEND, "third");
	xpc_dictionary_set_value(d, "items", a);
	xpc_dictionary_set_string(sub, "name", "nested");
	xpc_dictionary_set_int64(sub, "depth", 1);
	xpc_dictionary_set_value(d, "meta", sub);
	xpc_dictionary_set_string(d, "trace", "0123456789abcdef");
	xpc_dictionary_set_int64(d, "priority", 3);
	xpc_release(a);
	xpc_release(sub);
	return d;
}

static xpc_object_t make_blob(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	size_t n = 1u << 20;
	uint8_t *blob = malloc(n);

	for (size_t i = 0; i < n; i++)
		blob[i] = (uint8_t)(i * 31u);
	xpc_dictionary_set_string(d, "op", "com.example.store");
	xpc_dictionary_set_int64(d, "id", 42);
	xpc_dictionary_set_data(d, "blob", blob, n);
	free(blob);
	return d;
}

/* One figure: operations per second, median of ROUNDS timed rounds. */
typedef int (*op_fn)(void *arg);

static double rate(op_fn fn, void *arg, double seconds)
{
	double r[ROUNDS];

	for (int k = 0; k < ROUNDS; k++) {
		long n = 0;
		double t0 = now_s(), t;

		do {
			for (int i = 0; i < 16; i++, n++)
				if (fn(arg) != 0) {
					fprintf(stderr, "bench-wire: operation failed\n");
					exit(1);
				}
			t = now_s() - t0;
		} while (t < seconds / ROUNDS);
		r[k] = (double)n / t;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
	return r[ROUNDS / 2];
}

struct job {
	xpc_object_t msg;
	WireBuffer enc;
	uint8_t *copy;
};

static int do_encode(void *arg)
{
	struct job *j = arg;
	WireBuffer buf = {0};
	WireFds fds = {0};
	int err = wire_encode_message(j->msg, &buf, &fds);

	wire_buffer_free(&buf);
	wire_fds_free(&fds);
	return err;
}

static int do_decode(void *arg)
{
	struct job *j = arg;
	xpc_object_t out = NULL;
	int err = wire_decode_message(j->enc.data, j->enc.len, NULL, 0, &out);

	if (out)
		xpc_release(out);
	return err;
}

static int do_memcpy(void *arg)
{
	struct job *j = arg;

	memcpy(j->copy, j->enc.data, j->enc.len);
	__asm__ volatile("" : : "r"(j->copy) : "memory");
	return 0;
}

static void report(const char *name, xpc_object_t msg, double seconds)
{
	struct job j = {.msg = msg};
	WireFds fds = {0};
	double enc, dec, cpy, mb;

	if (wire_encode_message(msg, &j.enc, &fds) != 0) {
		fprintf(stderr, "bench-wire: cannot encode %s\n", name);
		exit(1);
	}
	wire_fds_free(&fds);
	j.copy = malloc(j.enc.len);
	mb = (double)j.enc.len / 1e6;
	enc = rate(do_encode, &j, seconds);
	dec = rate(do_decode, &j, seconds);
	cpy = rate(do_memcpy, &j, seconds);
	printf("%-22s %9zu B  encode %10.0f msg/s %9.1f MB/s  decode %10.0f msg/s %9.1f MB/s"
	       "  memcpy %9.1f MB/s  memcpy/encode %.1fx  memcpy/decode %.1fx\n",
	       name, j.enc.len, enc, enc * mb, dec, dec * mb, cpy * mb, cpy / enc, cpy / dec);
	free(j.copy);
	wire_buffer_free(&j.enc);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0.3;
	xpc_object_t typical = make_typical();
	xpc_object_t blob = make_blob();

	if (seconds <= 0)
		seconds = 0.3;
	report("20 mixed values", typical, seconds);
	report("1 MiB data blob", blob, seconds);
	xpc_release(typical);
	xpc_release(blob);
	return 0;
}
