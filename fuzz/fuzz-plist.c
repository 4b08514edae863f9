/*
 * fuzz-plist - the job property-list loader (xpcd's plist_load_job) on
 * arbitrary bytes: XML, binary or neither.  A job file is input the broker
 * reads from disk, so it must reject anything malformed with a message and
 * leak nothing (memory, and descriptors: counted before and after).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "broker/job.h"
#include "broker/plist.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	char err[512];
	Job *job = NULL;
	FILE *f;
	int before = fuzz_count_fds();

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-plist.%d", (int)getpid());
	f = fopen(path, "we");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (plist_load_job(path, &job, err, sizeof(err)) == 0)
		job_free(job);
	unlink(path);
	fuzz_check_fds(before, fuzz_count_fds(), "fuzz-plist");
	return 0;
}
