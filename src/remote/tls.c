/* SPDX-License-Identifier: MIT */
/*
 * tls.c - TLS with a pre-shared key for RemoteXPC sessions (OpenSSL).
 *
 * Model (docs/remote.md, "Security"): both ends hold the same key and an
 * identity naming it; there are no certificates, so a handshake succeeds
 * only when the peer proves it knows the key: authentication is mutual by
 * construction.  TLS 1.2 and 1.3 are allowed; in 1.3 OpenSSL uses the key
 * as an external PSK with a SHA-256 suite, in 1.2 only PSK cipher suites
 * with forward-secret-free AEADs are offered.  A RemoteTls is immutable
 * once made and shared by reference between sessions.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/remote.h"

struct RemoteTls {
	_Atomic int refs;
	SSL_CTX *ctx;
	bool server;
	char identity[REMOTE_TLS_MAX_IDENTITY + 1];
	uint8_t key[REMOTE_TLS_MAX_KEY];
	size_t key_len;
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

RemoteTls *remote_tls_new_psk(bool server, const char *identity, const void *key, size_t key_len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	RemoteTls *t;

	if (!identity || !*identity || strlen(identity) > REMOTE_TLS_MAX_IDENTITY || key_len < REMOTE_TLS_MIN_KEY ||
	    key_len > REMOTE_TLS_MAX_KEY) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&once, tls_init_once);
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

/* "identity:hexkey" (one line, optional final newline) -> a RemoteTls. */
static RemoteTls *tls_parse_psk(bool server, char *line, const char **ret_error)
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
		t = tls_parse_psk(server, line, ret_error);
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
