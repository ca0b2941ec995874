/* SPDX-License-Identifier: MIT */
/*
 * http.c -- libmicrohttpd front (http.h).
 *
 * Traps handled here (reference/c-libraries.md): no answer on the first handler call
 * unless the connection should close (413 announced by Content-Length, 431); an
 * explicit connection timeout and connection limits; our own body cap, counted while
 * accumulating (chunked bodies have no Content-Length). Writes suspend the connection
 * (req->suspend) and the committer resumes it once the transaction is durable; MHD then
 * calls on_request again and the answer is queued.
 */
#include "http/http.h"

#include "api/api.h"
#include "core/app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/req.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <poll.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

enum ctx_state { ST_NEW, ST_PENDING, ST_DONE };

/* Where a connection is, for the reaper: between requests (a new one may be arriving),
 * receiving a request's body, or handled (the API has it, maybe waiting for a commit). */
enum conn_phase { PH_IDLE, PH_BODY, PH_HANDLED };

/* One accepted connection (MHD's socket context), on its server's list. */
struct hconn {
    int fd;
    atomic_int phase;
    atomic_llong since_ms; /* PH_BODY: when the headers were complete */
    atomic_ullong rx_base; /* bytes received when the last request was done */
    atomic_uint gen;       /* requests done on this connection */
    unsigned partial_gen;  /* reaper only: gen when partial_ms was set */
    int64_t partial_ms;    /* reaper only: when bytes of a new request were seen */
    bool cut;              /* reaper only: shut down already */
    struct hconn *prev, *next;
};

struct http_server {
    struct MHD_Daemon *d;
    struct app *app;
    const char *dialect; /* NULL: every API under its prefix; else this one alone */
    bool tls;
    atomic_int active;
    atomic_int suspended; /* requests waiting for the store (MHD must not stop then) */
    /* the reaper: closes connections that take too long to send a request */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct hconn *conns;
    pthread_t reaper;
    bool reaper_running, stopping;
    atomic_bool closing; /* stopping: requests are answered 503, never suspended */
    int64_t header_timeout_ms, body_timeout_ms;
};

struct hctx {
    struct req req; /* first: req->http points back here */
    struct MHD_Connection *conn;
    struct http_server *srv;
    struct hconn *hc; /* the connection's reaper entry, or NULL */
    struct buf body;
    bool too_large;
    atomic_int state;
    int linger_fd;    /* dup of the socket of a request refused before its body, or -1 */
    int64_t start_us; /* monotonic, for the latency histogram */
};

static atomic_int lingering;

/* Lingering close (as nginx does): a request refused before its body was read (413
 * by Content-Length, 431) still has that body in flight. MHD answers, shuts down its
 * write side and closes; closing with unread input makes the kernel send RST, which
 * destroys the answer before the client reads it. A dup of the socket keeps it open
 * while this thread drains the input for a bounded time and size, then closes. */
static void *
linger_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    int64_t deadline = clock_now_ms() + LIMIT_LINGER_MS, left;
    struct pollfd pfd = {fd, POLLIN, 0};
    size_t total = 0;
    char sink[16384];
    ssize_t n;

    /* the socket is non-blocking (shared with MHD): wait with poll */
    while (total < LIMIT_LINGER_BYTES && (left = deadline - clock_now_ms()) > 0) {
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        n = read(fd, sink, sizeof sink);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
        if (n > 0)
            total += (size_t)n;
    }
    close(fd);
    atomic_fetch_sub(&lingering, 1);
    return NULL;
}

static void
linger_start(int fd)
{
    pthread_attr_t attr;
    pthread_t t;

    if (atomic_fetch_add(&lingering, 1) >= LIMIT_LINGER_THREADS) {
        atomic_fetch_sub(&lingering, 1);
        close(fd);
        return;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, linger_main, (void *)(intptr_t)fd) != 0) {
        atomic_fetch_sub(&lingering, 1);
        close(fd);
    }
    pthread_attr_destroy(&attr);
}

/* Before answering a request whose body will not be read. */
static void
linger_prepare(struct hctx *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

    if (ci != NULL && c->linger_fd < 0)
        c->linger_fd = dup(ci->connect_fd);
}

/* ---- slow clients: the reaper ----
 * libmicrohttpd's timeout is one of inactivity, which a client sending a byte a second
 * never reaches. The reaper closes (shutdown, MHD then cleans up) a connection whose
 * request headers are not complete header_timeout after their first byte arrived, or
 * whose body is not complete body_timeout after the headers. "A byte arrived" is read
 * off the kernel's TCP counters (TCP_INFO), so idle keep-alive connections, which
 * receive nothing, are left to the idle timeout. */

static uint64_t
tcp_rx_bytes(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;

    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return 0;
    return ti.tcpi_bytes_received;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *srv = cls;
    struct hconn *hc = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        hc = ci != NULL ? calloc(1, sizeof *hc) : NULL;
        if (hc == NULL)
            return; /* not watched: the idle timeout still applies */
        hc->fd = ci->connect_fd;
        atomic_init(&hc->phase, PH_IDLE);
        atomic_init(&hc->since_ms, 0);
        atomic_init(&hc->rx_base, 0);
        atomic_init(&hc->gen, 0);
        pthread_mutex_lock(&srv->mu);
        hc->next = srv->conns;
        if (srv->conns != NULL)
            srv->conns->prev = hc;
        srv->conns = hc;
        pthread_mutex_unlock(&srv->mu);
        metrics_conn_open(1);
        *socket_context = hc;
    } else if (hc != NULL) {
        pthread_mutex_lock(&srv->mu);
        if (hc->prev != NULL)
            hc->prev->next = hc->next;
        else
            srv->conns = hc->next;
        if (hc->next != NULL)
            hc->next->prev = hc->prev;
        pthread_mutex_unlock(&srv->mu);
        metrics_conn_open(-1);
        free(hc);
        *socket_context = NULL;
    }
}

/* Should the reaper close hc now? (srv->mu held) */
static bool
reap_due(struct http_server *srv, struct hconn *hc, int64_t now)
{
    int phase = atomic_load(&hc->phase);
    unsigned gen;

    if (phase == PH_BODY)
        return now - atomic_load(&hc->since_ms) > srv->body_timeout_ms;
    if (phase != PH_IDLE)
        return false;
    gen = atomic_load(&hc->gen);
    if (gen != hc->partial_gen) {
        hc->partial_gen = gen;
        hc->partial_ms = 0;
    }
    if (tcp_rx_bytes(hc->fd) <= atomic_load(&hc->rx_base))
        return false;
    if (hc->partial_ms == 0)
        hc->partial_ms = now;
    return now - hc->partial_ms > srv->header_timeout_ms;
}

static void *
reaper_main(void *arg)
{
    struct http_server *srv = arg;
    struct timespec until;

    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&srv->wake, &srv->mu, &until);
        int64_t now = clock_now_ms();
        for (struct hconn *hc = srv->conns; hc != NULL && !srv->stopping; hc = hc->next) {
            if (hc->cut || !reap_due(srv, hc, now))
                continue;
            hc->cut = true;
            metrics_conn_reaped(atomic_load(&hc->phase) == PH_BODY);
            shutdown(hc->fd, SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

static struct hconn *
conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

static void
conn_phase(struct hctx *c, enum conn_phase phase)
{
    if (c->hc == NULL)
        return;
    if (phase == PH_BODY)
        atomic_store(&c->hc->since_ms, clock_now_ms());
    if (phase == PH_IDLE) {
        atomic_store(&c->hc->rx_base, tcp_rx_bytes(c->hc->fd));
        atomic_fetch_add(&c->hc->gen, 1);
    }
    atomic_store(&c->hc->phase, (int)phase);
}

static const char *
get_header(struct req *req, const char *name)
{
    struct hctx *c = req->http;

    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

static const char *
get_query(struct req *req, const char *name)
{
    struct hctx *c = req->http;

    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct each_arg {
    void (*fn)(void *arg, const char *k, const char *v);
    void *arg;
};

static enum MHD_Result
each_query(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    struct each_arg *e = cls;

    (void)kind;
    e->fn(e->arg, k, v ? v : "");
    return MHD_YES;
}

static void
query_each(struct req *req, void (*fn)(void *arg, const char *k, const char *v), void *arg)
{
    struct hctx *c = req->http;
    struct each_arg e = {fn, arg};

    MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, each_query, &e);
}

struct form_ctx {
    void (*fn)(void *arg, const char *k, const char *v);
    void *arg;
    struct buf key, val;
    bool have;
};

static void
form_flush(struct form_ctx *f)
{
    if (f->have && !f->key.failed && !f->val.failed)
        f->fn(f->arg, buf_cstr(&f->key) ? f->key.data : "", buf_cstr(&f->val) ? f->val.data : "");
    buf_free(&f->key);
    buf_free(&f->val);
    f->have = false;
}

/* MHD delivers a long value in pieces (off > 0): they are joined before fn sees it. */
static enum MHD_Result
form_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
          const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
          size_t size)
{
    struct form_ctx *f = cls;

    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    if (filename != NULL || key == NULL)
        return MHD_YES;
    if (off == 0 || !f->have || strcmp(buf_cstr(&f->key) ? f->key.data : "", key) != 0) {
        form_flush(f);
        buf_puts(&f->key, key);
        f->have = true;
    }
    if (size > 0)
        buf_append(&f->val, data, size);
    return MHD_YES;
}

static int
form_each(struct req *req, void (*fn)(void *arg, const char *k, const char *v), void *arg)
{
    struct hctx *c = req->http;
    struct form_ctx f = {.fn = fn, .arg = arg};
    struct MHD_PostProcessor *pp = MHD_create_post_processor(c->conn, 4096, form_iter, &f);
    int rc = -1;

    if (pp == NULL)
        return -1;
    if (req->body_len == 0 || MHD_post_process(pp, req->body, req->body_len) == MHD_YES)
        rc = 0;
    if (MHD_destroy_post_processor(pp) != MHD_YES)
        rc = -1;
    form_flush(&f);
    return rc;
}

static void
do_suspend(struct req *req)
{
    struct hctx *c = req->http;

    atomic_store(&c->state, ST_PENDING);
    atomic_fetch_add(&c->srv->suspended, 1);
    MHD_suspend_connection(c->conn);
}

static void
do_resume(struct req *req)
{
    struct hctx *c = req->http;
    struct http_server *srv = c->srv; /* c may be gone once resumed */

    atomic_store(&c->state, ST_DONE);
    MHD_resume_connection(c->conn);
    atomic_fetch_sub(&srv->suspended, 1);
}

static void
access_log(struct hctx *c)
{
    struct buf b = {0};

    if (!c->srv->app->access_log)
        return;
    buf_printf(&b, "{\"request_id\":\"%s\",\"method\":\"%s\",\"path\":", c->req.id, c->req.method);
    jsonx_quote(&b, c->req.path);
    buf_printf(&b, ",\"status\":%d,\"ms\":%lld}", c->req.resp.status,
               (long long)(clock_now_ms() - c->req.start_ms));
    if (buf_cstr(&b) != NULL)
        log_line(b.data);
    buf_free(&b);
}

/* The key's rate-limit state (draft-ietf-httpapi-ratelimit-headers), and Retry-After
 * on a 429. */
static void
rate_headers(struct hctx *c, struct MHD_Response *mr)
{
    const struct ratelimit_verdict *v = &c->req.auth.rate;
    char t[64];

    if (v->limit == 0)
        return;
    snprintf(t, sizeof t, "%u", v->limit);
    MHD_add_response_header(mr, "RateLimit-Limit", t);
    if (c->req.dialect != NULL && c->req.dialect->x_ratelimit_headers)
        MHD_add_response_header(mr, "X-RateLimit-Limit", t);
    snprintf(t, sizeof t, "%u", v->remaining);
    MHD_add_response_header(mr, "RateLimit-Remaining", t);
    if (c->req.dialect != NULL && c->req.dialect->x_ratelimit_headers)
        MHD_add_response_header(mr, "X-RateLimit-Remaining", t);
    snprintf(t, sizeof t, "%u", v->reset_s);
    MHD_add_response_header(mr, "RateLimit-Reset", t);
    snprintf(t, sizeof t, "%u;w=%u", v->limit, v->window_s);
    MHD_add_response_header(mr, "RateLimit-Policy", t);
    if (c->req.resp.status == 429 && v->retry_after > 0) {
        snprintf(t, sizeof t, "%u", v->retry_after);
        MHD_add_response_header(mr, "Retry-After", t);
    }
}

static enum MHD_Result
send_resp(struct hctx *c)
{
    struct resp *r = &c->req.resp;
    struct MHD_Response *mr;
    enum MHD_Result ret;

    if (r->status == 0) {
        api_http_problem(&c->req, 500, "internal_error", NULL);
    }
    mr = MHD_create_response_from_buffer(r->body_len, r->body ? r->body : (void *)"",
                                         r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (mr == NULL)
        return MHD_NO;
    r->body = NULL; /* MHD owns it now */
    if (r->content_type != NULL)
        MHD_add_response_header(mr, "Content-Type", r->content_type);
    MHD_add_response_header(mr, "Request-Id", c->req.id);
    MHD_add_response_header(mr, "Cache-Control", "no-store");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    for (int i = 0; i < r->n_headers; i++)
        MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
    rate_headers(c, mr);
    if (c->req.cors_origin[0] != '\0') {
        MHD_add_response_header(mr, "Access-Control-Allow-Origin", c->req.cors_origin);
        MHD_add_response_header(mr, "Access-Control-Expose-Headers",
                                "Request-Id, Location, ETag, Idempotent-Replayed, Retry-After, "
                                "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset");
        MHD_add_response_header(mr, "Vary", "Origin");
    }
    ret = MHD_queue_response(c->conn, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    access_log(c);
    metrics_http(c->req.dialect != NULL ? c->req.dialect->name : NULL, c->req.route, c->req.method,
                 r->status, clock_mono_us() - c->start_us);
    return ret;
}

static enum MHD_Result
sum_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    size_t *total = cls;

    (void)kind;
    *total += strlen(k) + (v ? strlen(v) : 0) + 4;
    return MHD_YES;
}

static struct hctx *
ctx_new(struct http_server *srv, struct MHD_Connection *conn, const char *url, const char *method)
{
    struct hctx *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->conn = conn;
    c->srv = srv;
    ids_request(c->req.id);
    c->req.method = method;
    c->req.path = url;
    c->req.start_ms = clock_now_ms();
    c->start_us = clock_mono_us();
    c->req.app = srv->app;
    c->req.listener_dialect = srv->dialect;
    c->req.tls = srv->tls;
    c->req.header = get_header;
    c->req.query = get_query;
    c->req.query_each = query_each;
    c->req.form_each = form_each;
    c->req.suspend = do_suspend;
    c->req.resume = do_resume;
    c->req.http = c;
    c->linger_fd = -1;
    atomic_init(&c->state, ST_NEW);
    return c;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct hctx *c = *con_cls;
    const char *cl;
    size_t hdr_total;

    (void)version;
    if (c == NULL) {
        c = ctx_new(srv, conn, url, method);
        if (c == NULL)
            return MHD_NO;
        *con_cls = c;
        atomic_fetch_add(&srv->active, 1);
        c->hc = conn_of(conn);
        conn_phase(c, PH_BODY);
        hdr_total = strlen(url) + strlen(method) + 16;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, sum_header, &hdr_total);
        if (hdr_total > LIMIT_HEADERS_MAX) {
            api_http_problem(&c->req, 431, "headers_too_large",
                             "request headers are larger than 10 KiB");
            conn_phase(c, PH_HANDLED);
            linger_prepare(c);
            return send_resp(c);
        }
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > LIMIT_BODY_MAX) {
            api_http_problem(&c->req, 413, "body_too_large", "the body is larger than 1 MiB");
            conn_phase(c, PH_HANDLED);
            linger_prepare(c);
            return send_resp(c);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!c->too_large) {
            if (c->body.len + *upload_data_size > LIMIT_BODY_MAX) {
                c->too_large = true;
                buf_free(&c->body);
            } else {
                buf_append(&c->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (atomic_load(&c->state)) {
    case ST_DONE:
        return send_resp(c);
    case ST_PENDING:
        return MHD_YES;
    default:
        break;
    }
    conn_phase(c, PH_HANDLED);
    if (c->too_large) {
        api_http_problem(&c->req, 413, "body_too_large", "the body is larger than 1 MiB");
        return send_resp(c);
    }
    if (c->body.failed) {
        api_http_problem(&c->req, 500, "internal_error", NULL);
        return send_resp(c);
    }
    c->req.body = c->body.data ? c->body.data : "";
    c->req.body_len = c->body.len;
    if (atomic_load(&srv->closing)) { /* MHD is about to stop: nothing may suspend now */
        api_http_problem(&c->req, 503, "shutting_down", "the server is stopping; retry");
        resp_header(&c->req.resp, "Retry-After", "1");
        return send_resp(c);
    }
    if (api_dispatch(&c->req) == REQ_PENDING)
        return MHD_YES;
    return send_resp(c);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct hctx *c = *con_cls;

    (void)conn;
    (void)toe;
    if (c == NULL)
        return;
    conn_phase(c, PH_IDLE);
    if (c->linger_fd >= 0)
        linger_start(c->linger_fd);
    resp_clear(&c->req.resp);
    buf_free(&c->body);
    free(c);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->active, 1);
}

static int
parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
    const char *colon = strrchr(listen, ':');
    char host[64];
    size_t hl;
    long port;
    char *end = NULL;

    memset(ss, 0, sizeof *ss);
    if (colon == NULL)
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return -1;
    hl = (size_t)(colon - listen);
    if (hl >= sizeof host)
        return -1;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    *v6 = host[0] == '[';
    if (*v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        if (hl < 2 || host[hl - 1] != ']')
            return -1;
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (hl == 0)
        return 0; /* ":PORT": every address */
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

/* Raises the open-file limit so that LIMIT_CONNECTIONS fit (the hard limit too, when
 * allowed); returns how many connections the limit leaves room for. */
static unsigned
raise_fd_limit(void)
{
    const rlim_t want = LIMIT_CONNECTIONS + LIMIT_FD_RESERVE;
    struct rlimit rl;
    unsigned conns = LIMIT_CONNECTIONS;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return conns;
    if (rl.rlim_cur < want) {
        struct rlimit up = {want, rl.rlim_max > want ? rl.rlim_max : want};
        if (setrlimit(RLIMIT_NOFILE, &up) != 0) {
            up.rlim_cur = rl.rlim_max;
            up.rlim_max = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &up);
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want) {
        conns = rl.rlim_cur > 2 * LIMIT_FD_RESERVE ? (unsigned)(rl.rlim_cur - LIMIT_FD_RESERVE)
                                                   : (unsigned)(rl.rlim_cur / 2);
        log_error("http: the open-file limit is %llu and cannot be raised to %llu: accepting "
                  "at most %u connections instead of %d (raise it: ulimit -n, LimitNOFILE=)",
                  (unsigned long long)rl.rlim_cur, (unsigned long long)want, conns,
                  LIMIT_CONNECTIONS);
    }
    return conns;
}

/* A whole number of the environment, or def when unset; -1 when malformed. */
static long
env_long(const char *name, long def, long min, long max)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n;

    if (v == NULL || v[0] == '\0')
        return def;
    n = strtol(v, &end, 10);
    return *end == '\0' && n >= min && n <= max ? n : -1;
}

struct http_server *
http_start(struct app *app, const char *listen, const char *dialect, const struct http_tls *tls,
           char *err, size_t errlen)
{
    struct http_server *s = calloc(1, sizeof *s);
    struct sockaddr_storage ss;
    bool v6 = false;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    long per_ip = env_long("ORDERD_MAX_CONNS_PER_IP", LIMIT_CONN_PER_IP, 0, 1000000);
    long hdr_ms = env_long("ORDERD_HEADER_TIMEOUT_MS", LIMIT_HEADERS_WAIT_MS, 100, 3600000);
    long body_ms = env_long("ORDERD_BODY_TIMEOUT_MS", LIMIT_BODY_WAIT_MS, 100, 3600000);
    unsigned conns;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (per_ip < 0 || hdr_ms < 0 || body_ms < 0) {
        snprintf(err, errlen,
                 "ORDERD_MAX_CONNS_PER_IP (0 or more), ORDERD_HEADER_TIMEOUT_MS and "
                 "ORDERD_BODY_TIMEOUT_MS (100 to 3600000) must be whole numbers");
        free(s);
        return NULL;
    }
    if (parse_listen(listen, &ss, &v6) != 0) {
        snprintf(err, errlen, "cannot parse listen address '%s' (want ADDR:PORT)", listen);
        free(s);
        return NULL;
    }
    if (v6)
        flags |= MHD_USE_IPv6;
    if (tls != NULL)
        flags |= MHD_USE_TLS;
    s->app = app;
    s->dialect = dialect;
    s->header_timeout_ms = hdr_ms;
    s->body_timeout_ms = body_ms;
    s->tls = tls != NULL;
    atomic_init(&s->active, 0);
    atomic_init(&s->suspended, 0);
    atomic_init(&s->closing, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    conns = raise_fd_limit();
    {
        struct MHD_OptionItem ops[] = {
            {MHD_OPTION_SOCK_ADDR, 0, &ss},
            {MHD_OPTION_THREAD_POOL_SIZE, 2, NULL},
            {MHD_OPTION_CONNECTION_TIMEOUT, LIMIT_CONN_TIMEOUT_S, NULL},
            {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)conns, NULL},
            {MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, NULL},
            {MHD_OPTION_CONNECTION_MEMORY_LIMIT, LIMIT_CONN_MEMORY, NULL},
            {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
            {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
            {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s},
            {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, tls ? tls->cert : NULL},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, tls ? tls->key : NULL},
            {MHD_OPTION_END, 0, NULL},
        };
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, ops,
                                MHD_OPTION_END);
    }
    if (s->d == NULL) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not available?)", listen);
        goto fail;
    }
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        snprintf(err, errlen, "cannot start a thread");
        MHD_stop_daemon(s->d);
        goto fail;
    }
    s->reaper_running = true;
    return s;
fail:
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

/* Is a connection part-way through sending a request (bytes in, not yet handled)? */
static bool
mid_request(struct http_server *s)
{
    bool any = false;

    pthread_mutex_lock(&s->mu);
    for (struct hconn *hc = s->conns; hc != NULL && !any; hc = hc->next)
        any = atomic_load(&hc->phase) == PH_BODY ||
              (atomic_load(&hc->phase) == PH_IDLE && !hc->cut &&
               tcp_rx_bytes(hc->fd) > atomic_load(&hc->rx_base));
    pthread_mutex_unlock(&s->mu);
    return any;
}

void
http_stop(struct http_server *s)
{
    MHD_socket fd;
    int64_t deadline = clock_now_ms() + LIMIT_SHUTDOWN_WAIT_MS;
    struct timespec tick = {0, 10 * 1000 * 1000};

    if (s == NULL)
        return;
    fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* requests in flight, also those whose headers are still arriving */
    while ((atomic_load(&s->active) > 0 || mid_request(s)) && clock_now_ms() < deadline)
        nanosleep(&tick, NULL);
    if (atomic_load(&s->active) > 0)
        log_error("http: %d requests still running at shutdown", atomic_load(&s->active));
    /* MHD aborts the process when stopped with a suspended connection: from now on no
     * request suspends (503), and the ones waiting for the store get their answer (the
     * committer always answers, 503 at worst) first */
    atomic_store(&s->closing, true);
    nanosleep(&tick, NULL); /* a handler past the check above has suspended by now */
    deadline = clock_now_ms() + LIMIT_SHUTDOWN_DB_MS;
    while (atomic_load(&s->suspended) > 0 && clock_now_ms() < deadline)
        nanosleep(&tick, NULL);
    if (atomic_load(&s->suspended) > 0) {
        log_error("http: %d requests still waiting for the store at shutdown; exiting without "
                  "closing their connections",
                  atomic_load(&s->suspended));
        return; /* the daemon is left to the process exit */
    }
    if (s->reaper_running) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->reaper, NULL);
    }
    MHD_stop_daemon(s->d); /* closes the connections: their entries go with them */
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
