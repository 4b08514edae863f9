/*
 * bench.h - what the benchmark programs of `make bench` share: a monotonic
 * clock, sample statistics (median, 99th percentile), the payload sizes of
 * the latency sweep, the resident set of a process, and the one output
 * format bench/report.py reads:
 *
 *   RESULT <figure> <series> <x> <median> <p99> <unit>
 *
 * figure is rtt, oneway, bulk, setup or rss; series names the transport
 * (xpc-endpoint, raw-seqpacket, sdbus-p2p, ...); x is the payload size in
 * bytes for rtt and "-" otherwise.  For rates (msgs/s, GB/s) the p99 column
 * holds the slowest of the rounds instead.  Everything else a program
 * prints goes to stderr.  Header-only: each program is one .c file.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 64 B .. 4 MiB, a factor of 4 apart. */
static const size_t bench_sizes[] = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304};
#define BENCH_N_SIZES (sizeof(bench_sizes) / sizeof(bench_sizes[0]))
/* The largest payload raw SOCK_SEQPACKET carries in one packet here. */
#define BENCH_SEQPACKET_MAX 65536

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Round trips to time for a payload: many for small ones, at least 40. */
static inline int bench_iterations(size_t size, int small)
{
	long n = (long)((64u << 20) / size);

	if (n > small)
		n = small;
	return n < 40 ? 40 : (int)n;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v; returns the median and stores the 99th percentile in *p99. */
static inline double bench_stats(double *v, int n, double *p99)
{
	int i99 = (int)((double)n * 0.99);

	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	if (i99 >= n)
		i99 = n - 1;
	*p99 = v[i99];
	return v[n / 2];
}

/* Sorts the per-round rates v; returns the median, *worst the lowest. */
static inline double bench_rate_stats(double *v, int n, double *worst)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	*worst = v[0];
	return v[n / 2];
}

static inline void bench_result(const char *figure, const char *series, long x, double median, double p99,
				const char *unit)
{
	if (x >= 0)
		printf("RESULT %s %s %ld %.6g %.6g %s\n", figure, series, x, median, p99, unit);
	else
		printf("RESULT %s %s - %.6g %.6g %s\n", figure, series, median, p99, unit);
	fflush(stdout);
}

/* Latency samples in ns -> one rtt/setup line in microseconds. */
static inline void bench_report_ns(const char *figure, const char *series, long x, double *ns, int n)
{
	double p99, med = bench_stats(ns, n, &p99);

	bench_result(figure, series, x, med / 1000.0, p99 / 1000.0, "us");
}

/* VmRSS of a process in KiB, -1 if unknown. */
static inline long bench_rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static inline void bench_fail(const char *what)
{
	fprintf(stderr, "bench: %s failed\n", what);
	exit(1);
}
#endif /* BENCH_BENCH_H */
