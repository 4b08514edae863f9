/* SPDX-License-Identifier: MIT */
/*
 * tls-config.c - the TLS configuration file of RemoteXPC sessions
 * (remote_tls_load_config; format in remote.h and docs/remote.md).
 *
 * One keyword and its value per line; '#' starts a comment line.  The file
 * names either a pre-shared key ("psk") or a certificate, its private key
 * and the accepted peers (fingerprints, or a CA with subjects); tls.c makes
 * the context.  A file holding a key, and a private key file, must not be
 * readable by group or others.  Everything is bounded: lines of 1 KiB, 64
 * accepted peers of each kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "transport/remote/remote.h"

#define TLS_MAX_PEERS 64
#define TLS_MAX_LINE 1024

typedef struct TlsFile {
	char *certificate, *private_key, *ca, *psk;
	size_t psk_len; /* psk is cut in place when parsed */
	char *subjects[TLS_MAX_PEERS];
	uint8_t fingerprints[TLS_MAX_PEERS][32];
	size_t n_subjects, n_fingerprints;
} TlsFile;

static _Thread_local char config_why[TLS_MAX_LINE + 128];

static int config_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* 64 hexadecimal digits, with or without colons between bytes. */
static bool config_fingerprint(const char *s, uint8_t out[32])
{
	size_t n = 0;

	while (*s && n < 32) {
		int hi = config_hex(s[0]), lo = hi < 0 ? -1 : config_hex(s[1]);

		if (lo < 0)
			return false;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s == ':' && n < 32)
			s++;
	}
	return n == 32 && !*s;
}

/* A path value: absolute, set once. */
static const char *config_path(char **slot, const char *value)
{
	if (*slot)
		return "given twice";
	if (value[0] != '/')
		return "must be an absolute path";
	*slot = strdup(value);
	return *slot ? NULL : "out of memory";
}

static const char *config_line(TlsFile *f, const char *key, const char *value)
{
	if (!strcmp(key, "certificate"))
		return config_path(&f->certificate, value);
	if (!strcmp(key, "private-key"))
		return config_path(&f->private_key, value);
	if (!strcmp(key, "ca"))
		return config_path(&f->ca, value);
	if (!strcmp(key, "psk")) {
		if (f->psk)
			return "given twice";
		f->psk_len = strlen(value);
		return (f->psk = strdup(value)) ? NULL : "out of memory";
	}
	if (!strcmp(key, "peer-sha256")) {
		if (f->n_fingerprints == TLS_MAX_PEERS)
			return "too many (64 at most)";
		if (!config_fingerprint(value, f->fingerprints[f->n_fingerprints]))
			return "expected 64 hexadecimal digits (colons allowed)";
		f->n_fingerprints++;
		return NULL;
	}
	if (!strcmp(key, "peer-subject")) {
		if (f->n_subjects == TLS_MAX_PEERS)
			return "too many (64 at most)";
		return (f->subjects[f->n_subjects++] = strdup(value)) ? NULL : "out of memory";
	}
	return "unknown keyword";
}

static void config_free(TlsFile *f)
{
	free(f->certificate);
	free(f->private_key);
	free(f->ca);
	if (f->psk)
		OPENSSL_cleanse(f->psk, f->psk_len);
	free(f->psk);
	for (size_t i = 0; i < f->n_subjects; i++)
		free(f->subjects[i]);
}

/* Reads @in into @f.  Return: NULL, or why not (config_why). */
static const char *config_read(FILE *in, TlsFile *f)
{
	char line[TLS_MAX_LINE + 2];
	unsigned no = 0;

	while (fgets(line, sizeof(line), in)) {
		char *key = line, *value, *end;
		const char *why;

		no++;
		if (!strchr(line, '\n') && !feof(in))
			why = "line too long";
		else {
			line[strcspn(line, "\n")] = '\0';
			key += strspn(key, " \t");
			if (!*key || *key == '#')
				continue;
			value = key + strcspn(key, " \t");
			if (*value)
				*value++ = '\0';
			value += strspn(value, " \t");
			for (end = value + strlen(value); end > value && (end[-1] == ' ' || end[-1] == '\t');)
				*--end = '\0';
			why = *value ? config_line(f, key, value) : "no value";
		}
		if (why) {
			snprintf(config_why, sizeof(config_why), "line %u: %s: %s", no, key, why);
			OPENSSL_cleanse(line, sizeof(line));
			return config_why;
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	return NULL;
}

/* Only its owner may read @path. */
static const char *config_private(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) < 0)
		snprintf(config_why, sizeof(config_why), "%s %s: %s", what, path, strerror(errno));
	else if (st.st_mode & 077)
		snprintf(config_why, sizeof(config_why), "%s %s is readable by others than its owner (chmod 600)",
			 what, path);
	else
		return NULL;
	return config_why;
}

static RemoteTls *config_make(bool server, const char *path, TlsFile *f, const char **ret_error)
{
	RemoteTlsCertConfig c = {
		.certificate = f->certificate, .private_key = f->private_key, .ca = f->ca,
		.subjects = (const char *const *)f->subjects, .n_subjects = f->n_subjects,
		.fingerprints = (const uint8_t(*)[32])f->fingerprints, .n_fingerprints = f->n_fingerprints,
	};

	if (f->psk) {
		if (f->certificate || f->private_key || f->ca || f->n_subjects || f->n_fingerprints) {
			*ret_error = "psk cannot be combined with certificates";
			return NULL;
		}
		if ((*ret_error = config_private(path, "the key file")))
			return NULL;
		return remote_tls_parse_psk(server, f->psk, ret_error);
	}
	if (f->private_key && (*ret_error = config_private(f->private_key, "the private key")))
		return NULL;
	return remote_tls_new_cert(server, &c, ret_error);
}

RemoteTls *remote_tls_load_config(bool server, const char *path, const char **ret_error)
{
	TlsFile f = {0};
	FILE *in = fopen(path, "re");
	RemoteTls *t = NULL;

	*ret_error = NULL;
	if (!in) {
		snprintf(config_why, sizeof(config_why), "%s: %s", path, strerror(errno));
		*ret_error = config_why;
		return NULL;
	}
	*ret_error = config_read(in, &f);
	fclose(in);
	if (!*ret_error)
		t = config_make(server, path, &f, ret_error);
	config_free(&f);
	return t;
}
