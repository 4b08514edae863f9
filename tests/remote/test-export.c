/* SPDX-License-Identifier: MIT */
/*
 * test-export - xpcd serving jobs to other hosts (XPCDRemoteExport, the
 * --remote-* options, an xpc-remoted child it supervises) and TLS with
 * certificates, mutually authenticated.
 *
 *   test-export SCENARIO
 *
 *   export  a private xpcd exports the remote-service job on 127.0.0.1:
 *           the discovery lists it, a remote request launches the job on
 *           demand, the job killed mid-request gives "Connection
 *           interrupted" and the next request starts it again; the
 *           export follows the job (unloaded: its port closes; loaded
 *           again: served again); test-h2.py (python3-h2) speaks the
 *           framing to it; xpcd refuses a non-loopback address
 *           without TLS, and a TLS file without accepted peers;
 *           xpc-remoted ends with xpcd.
 *   cert    the same xpcd with --remote-tls (certificates): accepted
 *           clients by fingerprint and by CA + subject; refused: a
 *           self-signed stranger, a CA-signed certificate with another
 *           subject, a client that does not accept the server, a PSK or
 *           cleartext client.
 *   tls-attack  hostile TLS clients against the export with certificates
 *           and then with a pre-shared key, driven by OpenSSL here: no
 *           certificate, a stranger's, TLS 1.2, a PSK identity or key
 *           that is not configured, renegotiation, a ClientHello a byte a
 *           second (closed by the 10 s set-up time); none gets an HTTP/2
 *           byte, and a good client is served after each.
 *   netns   two network namespaces made by the test (unshare + a veth
 *           pair): xpcd and the job in one, the client in the other,
 *           through RemoteXPC with TLS on 10.213.x.y; skipped (77) when
 *           namespaces or veth cannot be made here (unprivileged
 *           container).
 *
 * Certificates are made here with OpenSSL (EC P-256, one day).  Paths come
 * from the environment (XPCD, XPC_REMOTED, REMOTE_SERVICE, XPCCTL).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/remote.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "harness.h"

#define NAME "org.xpc.test.export"
#define LABEL "exported"

static char dir[256], sock[300], logpath[300];
static pid_t broker_pid;
static unsigned port;
static bool skipped;

/* ---- certificates ------------------------------------------------------------ */

typedef struct Cert {
	EVP_PKEY *key;
	X509 *x;
} Cert;

/* A certificate for @cn, signed by @ca (NULL: self-signed, a CA). */
static Cert make_cert(const char *cn, const Cert *ca)
{
	Cert c = {.key = EVP_EC_gen("P-256"), .x = X509_new()};
	X509_NAME *name;

	REQUIRE(c.key && c.x);
	X509_set_version(c.x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x), (long)(random() & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(c.x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c.x), 86400);
	X509_set_pubkey(c.x, c.key);
	name = X509_get_subject_name(c.x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c.x, ca ? X509_get_subject_name(ca->x) : name);
	if (!ca) { /* a CA: basicConstraints CA:TRUE, else OpenSSL refuses it as an issuer */
		X509V3_CTX v3;
		X509_EXTENSION *ext;

		X509V3_set_ctx(&v3, c.x, c.x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
		REQUIRE(ext && X509_add_ext(c.x, ext, -1));
		X509_EXTENSION_free(ext);
	}
	REQUIRE(X509_sign(c.x, ca ? ca->key : c.key, EVP_sha256()) > 0);
	return c;
}

static void free_cert(Cert *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->x);
}

/* Writes DIR/@base.pem and DIR/@base.key (0600). */
static void save_cert(const Cert *c, const char *base)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pem", dir, base);
	REQUIRE((f = fopen(path, "we")) && PEM_write_X509(f, c->x));
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", dir, base);
	REQUIRE((f = fopen(path, "we")) && PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	REQUIRE(chmod(path, 0600) == 0);
}

static void fingerprint(const Cert *c, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	REQUIRE(X509_digest(c->x, EVP_sha256(), md, &n) && n == 32);
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* Writes DIR/@name (0600) with @text. */
static void write_file(const char *name, const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	REQUIRE((f = fopen(path, "we")));
	fputs(text, f);
	fclose(f);
	REQUIRE(chmod(path, 0600) == 0);
}

/* The PKI of the cert and netns scenarios: a CA; "server" and "client"
 * signed by it; "stranger" (self-signed, subject CN=client); "intruder"
 * (CA-signed, CN=intruder); and the configuration files server.conf,
 * client.conf (fingerprint of the server), client-ca.conf (CA + subject),
 * stranger.conf, intruder.conf, wrong-server.conf (expects another server)
 * and nopeer.conf (no accepted peer). */
static void make_pki(void)
{
	Cert ca = make_cert("Test CA", NULL), server = make_cert("server", &ca), client = make_cert("client", &ca);
	Cert stranger = make_cert("client", NULL), intruder = make_cert("intruder", &ca);
	char fp_server[65], fp_stranger[65], text[2048];

	save_cert(&ca, "ca");
	save_cert(&server, "server");
	save_cert(&client, "client");
	save_cert(&stranger, "stranger");
	save_cert(&intruder, "intruder");
	fingerprint(&server, fp_server);
	fingerprint(&stranger, fp_stranger);
	snprintf(text, sizeof(text),
		 "# the server: clients signed by the CA named CN=client\n"
		 "certificate %s/server.pem\nprivate-key %s/server.key\nca %s/ca.pem\npeer-subject CN=client\n",
		 dir, dir, dir);
	write_file("server.conf", text);
	snprintf(text, sizeof(text), "certificate %s/client.pem\nprivate-key %s/client.key\npeer-sha256 %s\n", dir, dir,
		 fp_server);
	write_file("client.conf", text);
	snprintf(text, sizeof(text), "certificate %s/client.pem\nprivate-key %s/client.key\nca %s/ca.pem\n"
		 "peer-subject CN=server\n", dir, dir, dir);
	write_file("client-ca.conf", text);
	snprintf(text, sizeof(text), "certificate %s/stranger.pem\nprivate-key %s/stranger.key\npeer-sha256 %s\n", dir,
		 dir, fp_server);
	write_file("stranger.conf", text);
	snprintf(text, sizeof(text), "certificate %s/intruder.pem\nprivate-key %s/intruder.key\npeer-sha256 %s\n", dir,
		 dir, fp_server);
	write_file("intruder.conf", text);
	snprintf(text, sizeof(text), "certificate %s/client.pem\nprivate-key %s/client.key\npeer-sha256 %s\n", dir, dir,
		 fp_stranger);
	write_file("wrong-server.conf", text);
	snprintf(text, sizeof(text), "certificate %s/server.pem\nprivate-key %s/server.key\n", dir, dir);
	write_file("nopeer.conf", text);
	free_cert(&ca);
	free_cert(&server);
	free_cert(&client);
	free_cert(&stranger);
	free_cert(&intruder);
}

/* ---- the broker --------------------------------------------------------------- */

static void write_job(void)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/jobs/export.plist", dir);
	REQUIRE((f = fopen(path, "we")));
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\n"
		"<key>Label</key><string>" LABEL "</string>\n"
		"<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		"<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		"<key>XPCDRemoteExport</key><true/>\n"
		"<key>ThrottleInterval</key><integer>1</integer>\n</dict></plist>\n",
		getenv("REMOTE_SERVICE"), NAME, NAME);
	fclose(f);
}

/* A free TCP port on 127.0.0.1 (the kernel's pick, released). */
static unsigned free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Execs xpcd with the --remote-* options @addr, port, @tls (NULL: none);
 * output to the log.  In a child only. */
static void exec_broker(const char *addr, const char *tls)
{
	char jobs[300], p[16], tlspath[400];
	int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	const char *argv[20];
	int k = 0;

	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	snprintf(p, sizeof(p), "%u", port);
	argv[k++] = "xpcd";
	argv[k++] = "--socket";
	argv[k++] = sock;
	argv[k++] = "--jobs";
	argv[k++] = jobs;
	argv[k++] = "--remote-address";
	argv[k++] = addr;
	argv[k++] = "--remote-port";
	argv[k++] = p;
	argv[k++] = "--remote-daemon";
	argv[k++] = getenv("XPC_REMOTED");
	if (tls) {
		snprintf(tlspath, sizeof(tlspath), "%s/%s", dir, tls);
		argv[k++] = "--remote-tls";
		argv[k++] = tlspath;
	}
	argv[k] = NULL;
	execv(getenv("XPCD"), (char *const *)argv);
	_exit(127);
}

/* True once the log holds @text. */
static bool log_has(const char *text)
{
	char buf[65536];
	int fd = open(logpath, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/* Waits up to 20 s for the broker's socket, opens it to everyone (the
 * xpc-remoted child runs as nobody, as with the system broker's 0666
 * socket), then for the child's "ready". */
static void wait_broker_ready(void)
{
	struct stat st;
	int i;

	for (i = 0; i < 2000 && stat(sock, &st) != 0; i++)
		usleep(10000);
	REQUIRE(i < 2000);
	REQUIRE(chmod(sock, 0666) == 0);
	for (i = 0; i < 2000 && !log_has("xpc-remoted: ready"); i++)
		usleep(10000);
	REQUIRE(i < 2000);
}

static void start_broker(const char *addr, const char *tls)
{
	broker_pid = fork();
	REQUIRE(broker_pid >= 0);
	if (broker_pid == 0)
		exec_broker(addr, tls);
	wait_broker_ready();
}

/* Runs xpcd with @addr/@tls to completion: its exit status. */
static int broker_status(const char *addr, const char *tls)
{
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0)
		exec_broker(addr, tls);
	return harness_wait_pid(pid, 20);
}

static void kill_all_at_exit(void)
{
	if (broker_pid > 0)
		kill(broker_pid, SIGKILL);
	harness_kill_children();
}

static void setup(void)
{
	char jobs[300];

	snprintf(dir, sizeof(dir), "/tmp/xpc-export-test.XXXXXX");
	REQUIRE(mkdtemp(dir));
	REQUIRE(chmod(dir, 0755) == 0);
	snprintf(sock, sizeof(sock), "%s/xpcd.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/xpcd.log", dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	REQUIRE(mkdir(jobs, 0755) == 0);
	setenv("XPCD_SOCKET", sock, 1);
	harness_adopt_orphans();
	atexit(kill_all_at_exit);
	write_job();
	port = free_port();
}

static void teardown(void)
{
	char cmd[400];

	if (broker_pid > 0) {
		kill(broker_pid, SIGKILL);
		harness_wait_pid(broker_pid, 10);
		broker_pid = 0;
	}
	harness_kill_children();
	if (harness_failures) {
		snprintf(cmd, sizeof(cmd), "cat %s/xpcd.log >&2", dir);
		if (system(cmd) < 0)
			perror("system");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) < 0)
		perror("system");
}

/* ---- clients ------------------------------------------------------------------ */

/* Options naming the TLS file DIR/@conf, or NULL for @conf NULL. */
static xpc_object_t tls_options(const char *conf)
{
	xpc_object_t o;
	char path[400];

	if (!conf)
		return NULL;
	o = xpc_dictionary_create(NULL, NULL, 0);
	snprintf(path, sizeof(path), "%s/%s", dir, conf);
	xpc_dictionary_set_string(o, XPC_LINUX_REMOTE_TLS_CONFIG, path);
	return o;
}

static xpc_object_t request(xpc_connection_t c, const char *op, int64_t value)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), reply;

	xpc_dictionary_set_string(msg, "op", op);
	xpc_dictionary_set_int64(msg, "value", value);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	xpc_release(msg);
	return reply;
}

static void finish_connection(xpc_connection_t c)
{
	dispatch_semaphore_t gone = dispatch_semaphore_create(0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			dispatch_semaphore_signal(gone);
	});
	xpc_connection_cancel(c);
	dispatch_semaphore_wait(gone, DISPATCH_TIME_FOREVER);
	dispatch_release(gone);
	xpc_release(c);
}

/* Connects to NAME on @host through the discovery port with the TLS file
 * @conf (NULL: cleartext); NULL when refused. */
static xpc_connection_t connect_to(const char *host, const char *conf)
{
	xpc_object_t o = tls_options(conf);
	xpc_connection_t c = xpc_linux_remote_connection_create_with_options(host, (uint16_t)port, NAME, o, NULL);

	if (o)
		xpc_release(o);
	if (!c)
		return NULL;
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);
	return c;
}

/* One echo through a new connection: the service's pid, or 0. */
static int64_t echo_once(const char *host, const char *conf, int64_t value)
{
	xpc_connection_t c = connect_to(host, conf);
	xpc_object_t r;
	int64_t pid = 0;

	if (!c)
		return 0;
	r = request(c, "echo", value);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == value)
		pid = xpc_dictionary_get_int64(r, "pid");
	xpc_release(r);
	finish_connection(c);
	return pid;
}

/* Discovery with the TLS file @conf is refused (EPROTO). */
static bool refused(const char *conf)
{
	xpc_object_t o = tls_options(conf), hs;

	hs = xpc_linux_remote_copy_services_with_options("127.0.0.1", (uint16_t)port, o, NULL);
	if (o)
		xpc_release(o);
	if (hs) {
		xpc_release(hs);
		return false;
	}
	return errno == EPROTO;
}

/* ---- scenarios ------------------------------------------------------------------ */

static void scenario_export(void)
{
	char *err = NULL, text[600];
	xpc_object_t hs, svc, r, msg;
	xpc_connection_t c;
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block xpc_object_t answer = NULL;
	int64_t job;
	int remoted = 0;
	FILE *f;

	CHECK_EQ_INT(WEXITSTATUS(broker_status("0.0.0.0", NULL)), 1); /* beyond loopback without TLS */
	CHECK(log_has("is not a loopback address"));
	start_broker("127.0.0.1", NULL);
	hs = xpc_linux_remote_copy_services("127.0.0.1", (uint16_t)port, &err);
	REQUIRE(hs);
	svc = xpc_dictionary_get_dictionary(xpc_dictionary_get_dictionary(hs, "Services"), NAME);
	CHECK(svc && xpc_dictionary_get_string(svc, "Port"));
	xpc_release(hs);
	CHECK(!log_has(LABEL ": started")); /* not yet: on demand */
	c = connect_to("127.0.0.1", NULL);
	REQUIRE(c);
	r = request(c, "echo", 1);
	job = xpc_dictionary_get_int64(r, "pid");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY && job > 0);
	xpc_release(r);
	CHECK(log_has(LABEL ": started"));
	/* the job killed mid-request: exactly one answer, INTERRUPTED's */
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "hang");
	xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t reply) {
		answer = xpc_retain(reply);
		dispatch_semaphore_signal(done);
	});
	xpc_release(msg);
	xpc_release(request(c, "echo", 2)); /* the hang request has reached the job */
	kill((pid_t)job, SIGKILL);
	dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
	CHECK(xpc_get_type(answer) == XPC_TYPE_DICTIONARY &&
	      !strcmp(xpc_dictionary_get_string(answer, XPC_ERROR_KEY_DESCRIPTION) ?: "", "Connection interrupted"));
	xpc_release(answer);
	for (int i = 0; i < 50; i++) { /* launched again on demand (throttle 1 s) */
		int64_t again;

		r = request(c, "echo", 3);
		again = xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_int64(r, "pid") : 0;
		xpc_release(r);
		if (again > 0) {
			CHECK(again != job);
			break;
		}
		CHECK(i < 49);
		usleep(200000);
	}
	finish_connection(c);
	dispatch_release(done);
	{ /* the independent HTTP/2 client (python3-h2) against xpcd's export */
		char cmd[1024];
		unsigned svc_port = 0;

		snprintf(cmd, sizeof(cmd), "sed -n 's/.*xpc-remoted: service " NAME " \\([0-9]*\\)$/\\1/p' %s | tail -1",
			 logpath);
		REQUIRE((f = popen(cmd, "re")));
		CHECK(fscanf(f, "%u", &svc_port) == 1 && svc_port > 0);
		pclose(f);
		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %u %u " NAME " >&2", getenv("TEST_H2"), port, svc_port);
		CHECK_EQ_INT(system(cmd), 0);
	}
	/* the export follows the jobs: unloaded, the child is stopped; loaded
	 * again, a new child serves the name */
	snprintf(text, sizeof(text), "%s unload " LABEL " >/dev/null", getenv("XPCCTL"));
	CHECK_EQ_INT(system(text), 0);
	for (int i = 0; i < 1000 && (hs = xpc_linux_remote_copy_services("127.0.0.1", (uint16_t)port, NULL)); i++) {
		xpc_release(hs);
		usleep(10000);
	}
	CHECK(!xpc_linux_remote_copy_services("127.0.0.1", (uint16_t)port, NULL) && errno == ECONNREFUSED);
	snprintf(text, sizeof(text), "%s load %s/jobs/export.plist >/dev/null", getenv("XPCCTL"), dir);
	CHECK_EQ_INT(system(text), 0);
	for (int i = 0; i < 1000 && !(hs = xpc_linux_remote_copy_services("127.0.0.1", (uint16_t)port, NULL)); i++)
		usleep(10000);
	CHECK(hs && xpc_dictionary_get_dictionary(xpc_dictionary_get_dictionary(hs, "Services"), NAME));
	if (hs)
		xpc_release(hs);
	CHECK(echo_once("127.0.0.1", NULL, 4) > 0);
	/* xpc-remoted ends with the broker (its --watch-fd) */
	snprintf(text, sizeof(text), "grep -o 'xpc-remoted: pid [0-9]* serves' %s | tail -1 | cut -d' ' -f3", logpath);
	REQUIRE((f = popen(text, "re")));
	CHECK(fscanf(f, "%d", &remoted) == 1 && remoted > 0);
	pclose(f);
	CHECK(harness_proc_alive(remoted));
	kill(broker_pid, SIGTERM);
	harness_wait_pid(broker_pid, 10);
	broker_pid = 0;
	for (int i = 0; i < 1000 && harness_proc_alive(remoted); i++)
		usleep(10000);
	CHECK(!harness_proc_alive(remoted));
	free(err);
}

static void scenario_cert(void)
{
	char *err = NULL;
	xpc_object_t psk = xpc_dictionary_create(NULL, NULL, 0), hs;
	uint8_t key[32] = {1};

	make_pki();
	CHECK_EQ_INT(WEXITSTATUS(broker_status("0.0.0.0", "nopeer.conf")), 1); /* no accepted peer: refused */
	CHECK(log_has("no accepted peer"));
	start_broker("127.0.0.1", "server.conf");
	/* accepted: the server by fingerprint, or by CA + subject */
	CHECK(echo_once("127.0.0.1", "client.conf", 21) > 0);
	CHECK(echo_once("127.0.0.1", "client-ca.conf", 22) > 0);
	hs = xpc_linux_remote_copy_services_with_options("127.0.0.1", (uint16_t)port, NULL, &err);
	CHECK(!hs && errno == EPROTO); /* cleartext */
	free(err);
	/* refused: unknown peers, both ways */
	CHECK(refused("stranger.conf"));     /* self-signed, subject CN=client */
	CHECK(refused("intruder.conf"));     /* signed by the CA, another subject */
	CHECK(refused("wrong-server.conf")); /* the client does not accept this server */
	xpc_dictionary_set_string(psk, XPC_LINUX_REMOTE_TLS_PSK_IDENTITY, "x");
	xpc_dictionary_set_data(psk, XPC_LINUX_REMOTE_TLS_PSK, key, sizeof(key));
	CHECK(!xpc_linux_remote_copy_services_with_options("127.0.0.1", (uint16_t)port, psk, NULL) && errno == EPROTO);
	CHECK(echo_once("127.0.0.1", "stranger.conf", 23) == 0);
	CHECK(echo_once("127.0.0.1", "client.conf", 24) > 0); /* and the server goes on */
	{ /* xpcctl --tls */
		char cmd[1024], out[4096] = "";
		FILE *f;
		size_t n;

		snprintf(cmd, sizeof(cmd), "%s --remote 127.0.0.1:%u --tls %s/client.conf send " NAME
			 " '{\"op\": \"echo\", \"value\": 25}'", getenv("XPCCTL"), port, dir);
		REQUIRE((f = popen(cmd, "re")));
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		CHECK_EQ_INT(pclose(f), 0);
		CHECK(strstr(out, "\"value\": 25"));
	}
	xpc_release(psk);
}

/* ---- hostile TLS clients ------------------------------------------------------- */

typedef struct Probe {
	const char *cert;     /* DIR/CERT.pem + .key presented, or NULL */
	int max_version;      /* 0, or the highest TLS version offered */
	const char *psk_id;   /* a PSK client with this identity and key */
	uint8_t psk[32];
	bool renegotiate;     /* TLS 1.2: ask for a renegotiation first */
} Probe;

static const Probe *probe_now;

static unsigned probe_psk(SSL *ssl, const char *hint, char *id, unsigned max_id, unsigned char *psk, unsigned max)
{
	if (!probe_now->psk_id || strlen(probe_now->psk_id) + 1 > max_id || max < sizeof(probe_now->psk))
		return 0;
	memcpy(id, probe_now->psk_id, strlen(probe_now->psk_id) + 1);
	memcpy(psk, probe_now->psk, sizeof(probe_now->psk));
	return sizeof(probe_now->psk);
}

static int tcp_connect(unsigned to)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)to),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 15};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* A TLS client as @p says against the discovery port.  Return: true when
 * the server accepted it: it sent HTTP/2 (its SETTINGS frame) inside TLS. */
static bool tls_probe(const Probe *p)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = tcp_connect(port), n, got = 0;
	unsigned char hdr[9];
	char path[400], key[400];
	SSL *ssl;

	REQUIRE(ctx);
	probe_now = p;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (p->max_version)
		SSL_CTX_set_max_proto_version(ctx, p->max_version);
	if (p->cert) {
		snprintf(path, sizeof(path), "%s/%s.pem", dir, p->cert);
		snprintf(key, sizeof(key), "%s/%s.key", dir, p->cert);
		REQUIRE(SSL_CTX_use_certificate_chain_file(ctx, path) == 1 &&
			SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1);
	}
	if (p->psk_id) {
		SSL_CTX_set_psk_client_callback(ctx, probe_psk);
		REQUIRE(SSL_CTX_set_cipher_list(ctx, "PSK-AES128-GCM-SHA256") == 1);
	}
	ssl = SSL_new(ctx);
	REQUIRE(ssl && SSL_set_fd(ssl, fd) == 1);
	if (SSL_connect(ssl) == 1) {
		if (p->renegotiate && SSL_renegotiate(ssl) == 1)
			SSL_do_handshake(ssl);
		SSL_write(ssl, preface, (int)strlen(preface));
		while (got < (int)sizeof(hdr) && (n = SSL_read(ssl, hdr + got, (int)sizeof(hdr) - got)) > 0)
			got += n;
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return got == (int)sizeof(hdr) && hdr[3] == 0x4; /* SETTINGS */
}

/* A TLS record header announcing a 512-byte ClientHello, then a byte a
 * second.  Return: seconds until the server closed the connection. */
static int tls_slowloris(void)
{
	static const unsigned char start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
	struct timespec t0, t1;
	int fd = tcp_connect(port), i;
	char buf[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 30; i++) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (send(fd, i < (int)sizeof(start) ? start + i : (const unsigned char *)"\0", 1, MSG_NOSIGNAL) != 1)
			break;
		if (poll(&pfd, 1, 1000) == 1 && recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	return (int)(t1.tv_sec - t0.tv_sec);
}

static void restart_broker(const char *tls)
{
	char old[320];

	kill(broker_pid, SIGKILL);
	harness_wait_pid(broker_pid, 10);
	broker_pid = 0;
	port = free_port(); /* the old xpc-remoted may hold the old one a moment */
	snprintf(old, sizeof(old), "%s.1", logpath);
	REQUIRE(rename(logpath, old) == 0); /* wait for the new "ready" */
	start_broker("127.0.0.1", tls);
}

static void scenario_tls_attack(void)
{
	Probe good = {.cert = "client"}, none = {0}, stranger = {.cert = "stranger"};
	Probe tls12 = {.cert = "client", .max_version = TLS1_2_VERSION};
	Probe psk = {.psk_id = "host-1"}, psk12 = {.psk_id = "host-1", .max_version = TLS1_2_VERSION};
	Probe reneg = {.psk_id = "host-1", .max_version = TLS1_2_VERSION, .renegotiate = true};
	Probe bad_id = {.psk_id = "host-2"}, bad_id12 = {.psk_id = "host-2", .max_version = TLS1_2_VERSION};
	Probe bad_key = {.psk_id = "host-1"};
	char text[200];
	int secs;

	make_pki();
	start_broker("127.0.0.1", "server.conf");
	CHECK(tls_probe(&good));      /* the control: accepted */
	CHECK(!tls_probe(&none));     /* no certificate */
	CHECK(!tls_probe(&stranger)); /* a certificate nobody listed */
	CHECK(!tls_probe(&tls12));    /* the right certificate over TLS 1.2 */
	CHECK(tls_probe(&good));      /* still served */
	secs = tls_slowloris();
	fprintf(stderr, "test-export: a ClientHello a byte a second: closed after %d s\n", secs);
	CHECK(secs >= 8 && secs <= 14);
	CHECK(tls_probe(&good));
	CHECK(log_has("TLS handshake failed"));
	CHECK(log_has("set-up timed out"));
	/* a pre-shared key: identity host-1, key 32 bytes of 0x5a */
	memset(psk.psk, 0x5a, sizeof(psk.psk));
	memcpy(psk12.psk, psk.psk, sizeof(psk.psk));
	memcpy(reneg.psk, psk.psk, sizeof(psk.psk));
	memcpy(bad_id.psk, psk.psk, sizeof(psk.psk));
	memcpy(bad_id12.psk, psk.psk, sizeof(psk.psk));
	memset(bad_key.psk, 0x5b, sizeof(bad_key.psk));
	snprintf(text, sizeof(text), "psk host-1:%s\n",
		 "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	write_file("psk.conf", text);
	restart_broker("psk.conf");
	CHECK(tls_probe(&psk));       /* the controls: TLS 1.3 and 1.2 */
	CHECK(tls_probe(&psk12));
	CHECK(!tls_probe(&bad_id));   /* an identity not configured */
	CHECK(!tls_probe(&bad_id12));
	CHECK(!tls_probe(&bad_key));  /* the right identity, another key */
	CHECK(!tls_probe(&reneg));    /* renegotiation refused */
	CHECK(tls_probe(&psk));
}

/* ---- two network namespaces ------------------------------------------------------ */

#define NS_SERVER_ADDR "10.213.0.1"
#define NS_CLIENT_ADDR "10.213.0.2"

/* A child in a network namespace of its own: it writes 'u' (or 'e' when
 * unshare failed) on @up, waits for a byte on @go, then runs @then. */
static pid_t ns_child(int up[2], int go[2], void (*then)(void *), void *arg)
{
	pid_t pid;
	char ch;

	REQUIRE(pipe2(up, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		ch = unshare(CLONE_NEWNET) == 0 ? 'u' : 'e';
		if (write(up[1], &ch, 1) != 1 || ch == 'e' || read(go[0], &ch, 1) != 1)
			_exit(0);
		then(arg);
		_exit(127);
	}
	close(up[1]);
	close(go[0]);
	return pid;
}

/* Runs the shell command @cmd in @pid's network namespace: its status. */
static int in_netns(pid_t pid, const char *cmd)
{
	char path[64];
	pid_t child = fork();

	REQUIRE(child >= 0);
	if (child == 0) {
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return harness_wait_pid(child, 20);
}

static void ns_exec_broker(void *arg)
{
	exec_broker(NS_SERVER_ADDR, "server.conf");
}

static char ns_self[4096];

static void ns_exec_client(void *arg)
{
	char p[16];

	snprintf(p, sizeof(p), "%u", port);
	dup2(*(int *)arg, 1);
	execl(ns_self, "test-export", "netns-client", NS_SERVER_ADDR, p, dir, (char *)NULL);
}

/* The client in its namespace: one request with TLS; prints the
 * service's pid.  Also: the host's loopback is not this namespace's. */
static int netns_client(const char *host, const char *p, const char *d)
{
	int64_t pid;

	snprintf(dir, sizeof(dir), "%s", d);
	port = (unsigned)atoi(p);
	CHECK(!xpc_linux_remote_copy_services("127.0.0.1", (uint16_t)port, NULL) && errno == ECONNREFUSED);
	pid = echo_once(host, "client.conf", 31);
	CHECK(pid > 0);
	{ /* the service sees where the peer is: this namespace's address */
		xpc_connection_t c = connect_to(host, "client.conf");
		xpc_object_t r = c ? request(c, "echo", 32) : NULL;
		const char *from = r && xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_string(r, "remote") : NULL;

		CHECK(from && !strncmp(from, NS_CLIENT_ADDR ":", strlen(NS_CLIENT_ADDR) + 1));
		if (r)
			xpc_release(r);
		if (c)
			finish_connection(c);
	}
	CHECK(!xpc_linux_remote_copy_services_with_options(host, (uint16_t)port, NULL, NULL) && errno == EPROTO);
	printf("%lld\n", (long long)pid);
	fflush(stdout);
	return harness_failures ? 1 : 0;
}

static bool same_netns(pid_t a, pid_t b)
{
	char pa[64], pb[64], la[128] = "", lb[128] = "";

	snprintf(pa, sizeof(pa), "/proc/%d/ns/net", (int)a);
	snprintf(pb, sizeof(pb), "/proc/%d/ns/net", (int)b);
	return readlink(pa, la, sizeof(la) - 1) > 0 && readlink(pb, lb, sizeof(lb) - 1) > 0 && !strcmp(la, lb);
}

static void ns_skip(const char *why)
{
	fprintf(stderr, "remote-netns: skipped: %s (needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN, "
			"and veth support; e.g. not in an unprivileged container)\n", why);
	skipped = true;
}

static void scenario_netns(void)
{
	int sup[2], sgo[2], cup[2], cgo[2], out[2];
	pid_t server, client;
	char su, cu, cmd[512], veth[2][16], line[64] = "";
	long long job = 0;
	FILE *f;

	if (geteuid() != 0) {
		ns_skip("not root");
		return;
	}
	make_pki();
	REQUIRE(pipe2(out, O_CLOEXEC) == 0);
	server = ns_child(sup, sgo, ns_exec_broker, NULL);
	client = ns_child(cup, cgo, ns_exec_client, &out[1]);
	close(out[1]);
	if (read(sup[0], &su, 1) != 1 || read(cup[0], &cu, 1) != 1 || su != 'u' || cu != 'u') {
		ns_skip("unshare(CLONE_NEWNET) is not permitted here");
		goto out;
	}
	snprintf(veth[0], sizeof(veth[0]), "xpc%da", (int)getpid() % 100000);
	snprintf(veth[1], sizeof(veth[1]), "xpc%db", (int)getpid() % 100000);
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s 2>&1", veth[0], veth[1]);
	if (system(cmd) != 0) {
		ns_skip("cannot create a veth pair (ip link add ... type veth)");
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "ip link set %s netns %d && ip link set %s netns %d", veth[0], (int)server, veth[1],
		 (int)client);
	REQUIRE(system(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "ip link set lo up && ip addr add " NS_SERVER_ADDR "/24 dev %s && ip link set %s up",
		 veth[0], veth[0]);
	REQUIRE(in_netns(server, cmd) == 0);
	snprintf(cmd, sizeof(cmd), "ip link set lo up && ip addr add " NS_CLIENT_ADDR "/24 dev %s && ip link set %s up",
		 veth[1], veth[1]);
	REQUIRE(in_netns(client, cmd) == 0);
	broker_pid = server; /* it execs xpcd */
	REQUIRE(write(sgo[1], "g", 1) == 1);
	wait_broker_ready();
	CHECK(!log_has(LABEL ": started")); /* launched on demand only */
	REQUIRE(write(cgo[1], "g", 1) == 1);
	f = fdopen(out[0], "r");
	REQUIRE(f);
	out[0] = -1;
	if (fgets(line, sizeof(line), f))
		job = atoll(line);
	fclose(f);
	CHECK_EQ_INT(WEXITSTATUS(harness_wait_pid(client, 60)), 0);
	client = 0;
	CHECK(job > 0 && log_has(LABEL ": started"));
	if (job > 0) { /* the job runs in the server's namespace, not ours */
		CHECK(same_netns((pid_t)job, server));
		CHECK(!same_netns((pid_t)job, getpid()));
		fprintf(stderr, "remote-netns: the client in its namespace got its answer from pid %lld, launched on "
				"demand in the server's namespace\n", job);
	}
out:
	if (out[0] >= 0)
		close(out[0]);
	close(sup[0]);
	close(sgo[1]);
	close(cup[0]);
	close(cgo[1]);
	if (client > 0)
		harness_wait_pid(client, 10);
	if (broker_pid != server)
		harness_wait_pid(server, 10);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} scenarios[] = {
		{"export", scenario_export}, {"cert", scenario_cert}, {"netns", scenario_netns},
		{"tls-attack", scenario_tls_attack},
	};

	if (argc == 5 && !strcmp(argv[1], "netns-client"))
		return netns_client(argv[2], argv[3], argv[4]);
	REQUIRE(argc == 2);
	REQUIRE(realpath("/proc/self/exe", ns_self));
	harness_warm_dispatch();
	harness_begin(120);
	setup();
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			scenarios[i].run();
	teardown();
	connection_forget_services();
	if (skipped)
		return harness_end() ? 1 : 77;
	return harness_end();
}
