/* SPDX-License-Identifier: MIT */
/*
 * tls.c - TLS for RemoteXPC sessions (OpenSSL): a pre-shared key, or
 * certificates with mutual authentication.
 *
 * Model (docs/remote.md, "Security"), two kinds of configuration:
 *
 * - PSK: both ends hold the same key and an identity naming it; there are
 *   no certificates, so a handshake succeeds only when the peer proves it
 *   knows the key: authentication is mutual by construction.  TLS 1.2 and
 *   1.3 are allowed; in 1.3 OpenSSL uses the key as an external PSK with a
 *   SHA-256 suite, in 1.2 only PSK cipher suites with AEADs are offered.
 * - certificates: each end presents its own certificate and requires one
 *   from the peer (TLS 1.3 only).  A peer is accepted when its certificate's
 *   SHA-256 fingerprint is one of the configured ones, or when it chains
 *   to the configured CA and its subject (RFC 2253 text) is one of the
 *   configured subjects.  Nothing else is accepted: no host-name rule, no
 *   "any certificate of this CA".  tls_verify_peer() replaces OpenSSL's
 *   verification with exactly that rule.
 *
 * A configuration file (remote_tls_load_config) names either; its format
 * is in remote.h.  A RemoteTls is immutable once made and shared by
 * reference between sessions.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "transport/remote/remote.h"

struct RemoteTls {
	_Atomic int refs;
	SSL_CTX *ctx;
	bool server;
	char identity[REMOTE_TLS_MAX_IDENTITY + 1];
	uint8_t key[REMOTE_TLS_MAX_KEY];
	size_t key_len;
	/* certificates: the accepted peers */
	uint8_t (*fingerprints)[32];
	size_t n_fingerprints;
	char **subjects;
	size_t n_subjects;
};

static RemoteTls *tls_of(SSL *ssl)
{
	return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

static unsigned int tls_server_psk(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
	RemoteTls *t = tls_of(ssl);

	if (!identity || strcmp(identity, t->identity) != 0 || t->key_len > max)
		return 0;
	memcpy(psk, t->key, t->key_len);
	return (unsigned int)t->key_len;
}

static unsigned int tls_client_psk(SSL *ssl, const char *hint, char *identity, unsigned int max_identity,
				   unsigned char *psk, unsigned int max)
{
	RemoteTls *t = tls_of(ssl);

	if (strlen(t->identity) + 1 > max_identity || t->key_len > max)
		return 0;
	memcpy(identity, t->identity, strlen(t->identity) + 1);
	memcpy(psk, t->key, t->key_len);
	return (unsigned int)t->key_len;
}

/* OpenSSL without its atexit clean-up: a process may exit while a
 * dispatch worker still ends a session (SSL_free); the clean-up would free
 * OpenSSL's locks under it (TSan saw it in xpcctl).  The first init call
 * decides, so this runs before any context is made. */
static void tls_init_once(void)
{
	OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
}

static void tls_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, tls_init_once);
}

RemoteTls *remote_tls_new_psk(bool server, const char *identity, const void *key, size_t key_len)
{
	RemoteTls *t;

	if (!identity || !*identity || strlen(identity) > REMOTE_TLS_MAX_IDENTITY || key_len < REMOTE_TLS_MIN_KEY ||
	    key_len > REMOTE_TLS_MAX_KEY) {
		errno = EINVAL;
		return NULL;
	}
	tls_init();
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(t->ctx, "PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256") ||
	    !SSL_CTX_set_ciphersuites(t->ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256")) {
		SSL_CTX_free(t->ctx);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->server = server;
	snprintf(t->identity, sizeof(t->identity), "%s", identity);
	memcpy(t->key, key, key_len);
	t->key_len = key_len;
	SSL_CTX_set_app_data(t->ctx, t);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	if (server)
		SSL_CTX_set_psk_server_callback(t->ctx, tls_server_psk);
	else
		SSL_CTX_set_psk_client_callback(t->ctx, tls_client_psk);
	return t;
}

RemoteTls *remote_tls_retain(RemoteTls *t)
{
	atomic_fetch_add(&t->refs, 1);
	return t;
}

void remote_tls_release(RemoteTls *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	SSL_CTX_free(t->ctx);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	for (size_t i = 0; i < t->n_subjects; i++)
		free(t->subjects[i]);
	free(t->subjects);
	free(t->fingerprints);
	free(t);
}

bool remote_tls_is_server(const RemoteTls *t)
{
	return t->server;
}

SSL *remote_tls_ssl_new(RemoteTls *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (ssl && !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return NULL;
	}
	if (ssl) {
		if (t->server)
			SSL_set_accept_state(ssl);
		else
			SSL_set_connect_state(ssl);
	}
	return ssl;
}

static int tls_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

RemoteTls *remote_tls_parse_psk(bool server, char *line, const char **ret_error)
{
	char *colon = strchr(line, ':'), *hex;
	uint8_t key[REMOTE_TLS_MAX_KEY];
	size_t n = 0;
	RemoteTls *t;

	line[strcspn(line, "\n")] = '\0';
	if (!colon) {
		*ret_error = "expected IDENTITY:HEXKEY";
		return NULL;
	}
	*colon = '\0';
	for (hex = colon + 1; hex[0] && hex[1] && n < sizeof(key); hex += 2) {
		int hi = tls_hex(hex[0]), lo = tls_hex(hex[1]);

		if (hi < 0 || lo < 0)
			break;
		key[n++] = (uint8_t)(hi << 4 | lo);
	}
	if (*hex || n < REMOTE_TLS_MIN_KEY) {
		*ret_error = "the key must be 16 to 64 bytes in hexadecimal";
		return NULL;
	}
	t = remote_tls_new_psk(server, line, key, n);
	OPENSSL_cleanse(key, sizeof(key));
	if (!t)
		*ret_error = errno == EINVAL ? "bad identity (1 to 128 bytes)" : "out of memory";
	return t;
}

RemoteTls *remote_tls_load_psk_file(bool server, const char *path, const char **ret_error)
{
	char line[REMOTE_TLS_MAX_IDENTITY + 2 * REMOTE_TLS_MAX_KEY + 8];
	FILE *f = fopen(path, "re");
	RemoteTls *t = NULL;

	*ret_error = NULL;
	if (!f) {
		*ret_error = strerror(errno);
		return NULL;
	}
	if (!fgets(line, sizeof(line), f))
		*ret_error = "empty file";
	else
		t = remote_tls_parse_psk(server, line, ret_error);
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	return t;
}

const char *remote_tls_error(void)
{
	static _Thread_local char buf[160];
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (!e)
		return "TLS handshake failed";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

/* ---- certificates ------------------------------------------------------------ */

/* The subject of @x as RFC 2253 text (malloc'd), or NULL. */
static char *tls_subject_text(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *text = NULL, *p;
	long n;

	if (!b)
		return NULL;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		text = n >= 0 ? strndup(p, (size_t)n) : NULL;
	}
	BIO_free(b);
	return text;
}

static bool tls_fingerprint_known(const RemoteTls *t, X509 *x)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!X509_digest(x, EVP_sha256(), md, &len) || len != 32)
		return false;
	for (size_t i = 0; i < t->n_fingerprints; i++)
		if (!memcmp(t->fingerprints[i], md, 32))
			return true;
	return false;
}

static bool tls_subject_known(const RemoteTls *t, X509 *x)
{
	char *subject = tls_subject_text(x);
	bool known = false;

	for (size_t i = 0; subject && i < t->n_subjects && !known; i++)
		known = !strcmp(t->subjects[i], subject);
	free(subject);
	return known;
}

/* OpenSSL's whole verification of the peer's certificate, replaced: the
 * leaf's fingerprint is configured, or the chain verifies against the CA
 * and the leaf's subject is configured. */
static int tls_verify_peer(X509_STORE_CTX *x, void *arg)
{
	RemoteTls *t = arg;
	X509 *leaf = X509_STORE_CTX_get0_cert(x);

	if (leaf && tls_fingerprint_known(t, leaf)) {
		X509_STORE_CTX_set_error(x, X509_V_OK);
		return 1;
	}
	if (leaf && t->n_subjects && X509_verify_cert(x) == 1 && tls_subject_known(t, leaf))
		return 1;
	X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
	return 0;
}

static _Thread_local char tls_why[512];

static const char *tls_fail(const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char ssl[160] = "";

	ERR_clear_error();
	if (e)
		ERR_error_string_n(e, ssl, sizeof(ssl));
	snprintf(tls_why, sizeof(tls_why), "%s %s%s%s", what, path, e ? ": " : "", ssl);
	return tls_why;
}

/* The context's own certificate, key and CA. */
static const char *tls_load_files(SSL_CTX *ctx, const RemoteTlsCertConfig *c)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, c->certificate) != 1)
		return tls_fail("cannot use the certificate", c->certificate);
	if (SSL_CTX_use_PrivateKey_file(ctx, c->private_key, SSL_FILETYPE_PEM) != 1)
		return tls_fail("cannot use the private key", c->private_key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail("the private key does not match the certificate", c->certificate);
	if (c->ca && SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1)
		return tls_fail("cannot load the CA", c->ca);
	return NULL;
}

/* Copies the accepted identities of @c into @t. */
static bool tls_copy_peers(RemoteTls *t, const RemoteTlsCertConfig *c)
{
	if (c->n_fingerprints) {
		t->fingerprints = malloc(c->n_fingerprints * sizeof(*t->fingerprints));
		if (!t->fingerprints)
			return false;
		memcpy(t->fingerprints, c->fingerprints, c->n_fingerprints * sizeof(*t->fingerprints));
		t->n_fingerprints = c->n_fingerprints;
	}
	if (c->n_subjects) {
		t->subjects = calloc(c->n_subjects, sizeof(char *));
		if (!t->subjects)
			return false;
		for (size_t i = 0; i < c->n_subjects; i++, t->n_subjects++)
			if (!(t->subjects[i] = strdup(c->subjects[i])))
				return false;
	}
	return true;
}

RemoteTls *remote_tls_new_cert(bool server, const RemoteTlsCertConfig *c, const char **ret_error)
{
	RemoteTls *t;

	*ret_error = NULL;
	if (!c->certificate || !c->private_key) {
		*ret_error = "a certificate and its private key are required";
		return NULL;
	}
	if (!c->n_fingerprints && !c->n_subjects) {
		*ret_error = "no accepted peer: name peer-sha256 or ca with peer-subject";
		return NULL;
	}
	if (c->n_subjects && !c->ca) {
		*ret_error = "peer-subject needs a ca";
		return NULL;
	}
	tls_init();
	t = calloc(1, sizeof(*t));
	if (!t || !(t->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())) ||
	    !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) || !tls_copy_peers(t, c)) {
		*ret_error = "out of memory";
		goto fail;
	}
	atomic_init(&t->refs, 1);
	t->server = server;
	*ret_error = tls_load_files(t->ctx, c);
	if (*ret_error)
		goto fail;
	SSL_CTX_set_app_data(t->ctx, t);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(t->ctx, tls_verify_peer, t);
	return t;
fail:
	if (t)
		atomic_init(&t->refs, 1);
	remote_tls_release(t);
	return NULL;
}
