/*
 * The HTTP transport: one POST per record with libcurl's multi socket API on the libuv loop
 * (CURLMOPT_SOCKETFUNCTION watches curl's sockets with uv_poll, CURLMOPT_TIMERFUNCTION drives
 * a uv_timer). One request at a time, so records arrive in spool order; connections are
 * kept alive between requests.
 *
 * Outcome by status: 2xx delivered. 408, 425, 429, 5xx, 1xx/3xx, and 401, 403, 404, 407,
 * 421 (about the endpoint or the credentials, not the record) and every transport error or
 * timeout: retry. Other 4xx (400, 413, 415, 422 ...): the record is rejected.
 *
 * taxii: true posts a TAXII 2.1 envelope {"objects":[...]}: the "objects" array of the
 * record when it is a JSON object with one (a STIX bundle), else [record].
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "deliver-int.h"
#include "dynlib.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_RESP_KEEP 200 /* bytes of a response body kept for messages */
#define HTTP_TAXII_TYPE "application/taxii+json;version=2.1"

struct deliver_http_conf {
    char *url;
    char *headers_file;
    int tls_verify;
    char *ca_file;
    char *tls_cert;
    char *tls_key;
    int64_t timeout_us;
    int64_t connect_timeout_us;
    int taxii;
    char *content_type;
    char *proxy;
};

static const struct deliver_key deliver_http_keys[] = {
    {"url", DK_STRING, NULL, 0, 0, offsetof(struct deliver_http_conf, url), NULL, NULL, 1,
     "http:// or https:// endpoint records are POSTed to"},
    {"headers_file", DK_PATH, NULL, 0, 0, offsetof(struct deliver_http_conf, headers_file), NULL,
     NULL, 0, "extra headers, one \"Name: value\" per line; mode 0600 (secrets)"},
    {"tls_verify", DK_BOOL, "true", 0, 0, offsetof(struct deliver_http_conf, tls_verify), NULL,
     NULL, 0, "verify the server's certificate and name"},
    {"ca_file", DK_PATH, NULL, 0, 0, offsetof(struct deliver_http_conf, ca_file), NULL, NULL, 0,
     "CA bundle (PEM) instead of the system's"},
    {"tls_cert", DK_PATH, NULL, 0, 0, offsetof(struct deliver_http_conf, tls_cert), NULL, NULL, 0,
     "client certificate (PEM) for mutual TLS"},
    {"tls_key", DK_PATH, NULL, 0, 0, offsetof(struct deliver_http_conf, tls_key), NULL, NULL, 0,
     "client key (PEM); mode 0600"},
    {"timeout", DK_DURATION, "30s", 1000, INT64_C(3600000000),
     offsetof(struct deliver_http_conf, timeout_us), NULL, NULL, 0,
     "whole request, connection included"},
    {"connect_timeout", DK_DURATION, "10s", 1000, INT64_C(3600000000),
     offsetof(struct deliver_http_conf, connect_timeout_us), NULL, NULL, 0, "connection set-up"},
    {"taxii", DK_BOOL, "false", 0, 0, offsetof(struct deliver_http_conf, taxii), NULL, NULL, 0,
     "post TAXII 2.1 envelopes"},
    {"content_type", DK_STRING, "application/json", 0, 0,
     offsetof(struct deliver_http_conf, content_type), NULL, NULL, 0,
     "Content-Type of the records (taxii: application/taxii+json;version=2.1)"},
    {"proxy", DK_STRING, NULL, 0, 0, offsetof(struct deliver_http_conf, proxy), NULL, NULL, 0,
     "proxy URL; default none (the *_proxy environment variables are ignored)"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL},
};

struct deliver_http;

struct deliver_http_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct deliver_http *h;
    struct deliver_http_sock *next;
};

struct deliver_http {
    struct deliver *d;
    char *url;
    int taxii;
    CURLM *multi;
    CURL *easy;
    struct curl_slist *base_headers; /* from headers_file and content_type */
    struct curl_slist *req_headers;  /* base + X-Kizuna-Alert-Id, per request */
    uv_timer_t timer;
    struct deliver_http_sock *socks;
    struct deliver_rec *cur; /* the request in flight */
    struct buf body;
    struct buf resp;
    char errbuf[CURL_ERROR_SIZE];
    int closing;
    int handles_open; /* timer + polls */
};

/*
 * libcurl is loaded when the first HTTP transport opens, not linked: it brings some twenty
 * libraries (TLS, LDAP, Kerberos, ...) whose loading and constructors took 3 ms of every
 * kizunad start, HTTP partner or not. The functions used, resolved once:
 */
#define HTTP_LIBCURL "libcurl.so.4"

static struct {
    int loaded;
    CURLcode (*global_init)(long flags);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *e, CURLoption opt, ...);
    CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    void (*easy_cleanup)(CURL *e);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev, int *running);
    CURLMcode (*multi_assign)(CURLM *m, curl_socket_t s, void *p);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    const char *(*multi_strerror)(CURLMcode code);
    CURLMcode (*multi_cleanup)(CURLM *m);
} curl;

/* Load libcurl and initialise it, once. Returns 0, or -1 with the reason in err. */
static int
deliver_http_curl_load(char *err, size_t errlen)
{
#define HTTP_SYM(field, name) {name, offsetof(__typeof__(curl), field)}
    static const struct dynlib_sym syms[] = {
        HTTP_SYM(global_init, "curl_global_init"),
        HTTP_SYM(slist_append, "curl_slist_append"),
        HTTP_SYM(slist_free_all, "curl_slist_free_all"),
        HTTP_SYM(easy_init, "curl_easy_init"),
        HTTP_SYM(easy_setopt, "curl_easy_setopt"),
        HTTP_SYM(easy_getinfo, "curl_easy_getinfo"),
        HTTP_SYM(easy_strerror, "curl_easy_strerror"),
        HTTP_SYM(easy_cleanup, "curl_easy_cleanup"),
        HTTP_SYM(multi_init, "curl_multi_init"),
        HTTP_SYM(multi_setopt, "curl_multi_setopt"),
        HTTP_SYM(multi_add_handle, "curl_multi_add_handle"),
        HTTP_SYM(multi_remove_handle, "curl_multi_remove_handle"),
        HTTP_SYM(multi_socket_action, "curl_multi_socket_action"),
        HTTP_SYM(multi_assign, "curl_multi_assign"),
        HTTP_SYM(multi_info_read, "curl_multi_info_read"),
        HTTP_SYM(multi_strerror, "curl_multi_strerror"),
        HTTP_SYM(multi_cleanup, "curl_multi_cleanup"),
    };
#undef HTTP_SYM

    if (curl.loaded) {
        return 0;
    }
    if (dynlib_load(HTTP_LIBCURL, "libcurl4", syms, sizeof(syms) / sizeof(syms[0]), &curl, err,
                    errlen) != 0) {
        return -1;
    }
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init() failed");
        return -1;
    }
    curl.loaded = 1; /* for the life of the process, as curl_global_init() wants */
    return 0;
}

/*
 * Parse a headers file: "Name: value" lines, blank lines and "#" comments ignored. Appends
 * to *list when list is not NULL. Returns 0 or -1 with a message.
 */
static int
deliver_http_headers_parse(const char *path, struct curl_slist **list, char *err, size_t errlen)
{
    char *text = NULL, *line, *save = NULL;
    int lineno = 0, r = -1;

    if (deliver_read_private_file(path, &text, err, errlen) != 0) {
        return -1;
    }
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        char *colon;

        lineno++;
        if (len > 0 && line[len - 1] == '\r') {
            line[--len] = '\0';
        }
        if (len == 0 || line[0] == '#') {
            continue;
        }
        colon = strchr(line, ':');
        if (colon == NULL || colon == line || strcspn(line, " \t") < (size_t)(colon - line)) {
            snprintf(err, errlen, "%s: line %d: expected \"Name: value\"", path, lineno);
            goto out;
        }
        if (strncasecmp(line, "Content-Length:", 15) == 0 || strncasecmp(line, "Host:", 5) == 0 ||
            strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            snprintf(err, errlen, "%s: line %d: this header is set by kizuna", path, lineno);
            goto out;
        }
        if (list != NULL) {
            *list = curl.slist_append(*list, line);
        }
    }
    r = 0;
out:
    free(text);
    return r;
}

static int
deliver_http_check(const void *conf, const struct deliver_ctx *cx, struct errlist *errs)
{
    const struct deliver_http_conf *c = conf;
    char err[1024];
    int r = 0;

    if (c->url != NULL && strncmp(c->url, "http://", 7) != 0 &&
        strncmp(c->url, "https://", 8) != 0) {
        deliver_conf_error(cx, ynode_get(cx->node, "url"), errs,
                           "deliver.url: must start with http:// or https://");
        r = -1;
    }
    if (c->headers_file != NULL &&
        deliver_http_headers_parse(c->headers_file, NULL, err, sizeof(err)) != 0) {
        deliver_conf_error(cx, ynode_get(cx->node, "headers_file"), errs,
                           "deliver.headers_file: %s", err);
        r = -1;
    }
    if (c->tls_key != NULL) {
        char *text = NULL;
        if (deliver_read_private_file(c->tls_key, &text, err, sizeof(err)) != 0) {
            deliver_conf_error(cx, ynode_get(cx->node, "tls_key"), errs, "deliver.tls_key: %s",
                               err);
            r = -1;
        }
        free(text);
    }
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        deliver_conf_error(cx, NULL, errs, "deliver: tls_cert and tls_key go together");
        r = -1;
    }
    if (c->url != NULL && strncmp(c->url, "http://", 7) == 0 && c->tls_cert != NULL) {
        deliver_conf_error(cx, ynode_get(cx->node, "tls_cert"), errs,
                           "deliver.tls_cert: the url is not https");
        r = -1;
    }
    return r;
}

/* Sockets and timers, the libuv side of the multi socket API. */

static void deliver_http_check_done(struct deliver_http *h);

static void
deliver_http_handle_closed_cb(uv_handle_t *handle)
{
    struct deliver_http *h = handle->data;

    if (handle != (uv_handle_t *)&h->timer) {
        free(handle); /* the poll handle is the first member of its deliver_http_sock */
    }
    if (--h->handles_open == 0 && h->closing) {
        struct deliver *d = h->d;
        buf_free(&h->body);
        buf_free(&h->resp);
        free(h->url);
        free(h);
        deliver_transport_closed(d);
    }
}

static void
deliver_http_sock_close(struct deliver_http *h, struct deliver_http_sock *hs)
{
    struct deliver_http_sock **pp;

    for (pp = &h->socks; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == hs) {
            *pp = hs->next;
            break;
        }
    }
    uv_poll_stop(&hs->poll);
    uv_close((uv_handle_t *)&hs->poll, deliver_http_handle_closed_cb);
}

static void
deliver_http_poll_cb(uv_poll_t *p, int status, int events)
{
    struct deliver_http_sock *hs = (struct deliver_http_sock *)p;
    struct deliver_http *h = hs->h;
    int flags = 0, running;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    }
    if (events & UV_READABLE) {
        flags |= CURL_CSELECT_IN;
    }
    if (events & UV_WRITABLE) {
        flags |= CURL_CSELECT_OUT;
    }
    curl.multi_socket_action(h->multi, hs->fd, flags, &running);
    deliver_http_check_done(h);
}

static int
deliver_http_socket_cb(CURL *e, curl_socket_t s, int action, void *userp, void *socketp)
{
    struct deliver_http *h = userp;
    struct deliver_http_sock *hs = socketp;
    int events = 0;

    if (action == CURL_POLL_REMOVE) {
        if (hs != NULL) {
            curl.multi_assign(h->multi, s, NULL);
            deliver_http_sock_close(h, hs);
        }
        return 0;
    }
    if (h->closing) {
        return 0;
    }
    if (hs == NULL) {
        hs = xcalloc(1, sizeof(*hs));
        hs->fd = s;
        hs->h = h;
        if (uv_poll_init_socket(deliver_loop(h->d), &hs->poll, s) != 0) {
            free(hs);
            return -1;
        }
        hs->poll.data = h;
        h->handles_open++;
        hs->next = h->socks;
        h->socks = hs;
        curl.multi_assign(h->multi, s, hs);
    }
    if (action & CURL_POLL_IN) {
        events |= UV_READABLE;
    }
    if (action & CURL_POLL_OUT) {
        events |= UV_WRITABLE;
    }
    uv_poll_start(&hs->poll, events, deliver_http_poll_cb);
    return 0;
}

static void
deliver_http_timer_fire_cb(uv_timer_t *t)
{
    struct deliver_http *h = t->data;
    int running;

    curl.multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    deliver_http_check_done(h);
}

static int
deliver_http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct deliver_http *h = userp;

    if (h->closing) {
        return 0;
    }
    if (timeout_ms < 0) {
        uv_timer_stop(&h->timer);
    } else {
        uv_timer_start(&h->timer, deliver_http_timer_fire_cb, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

static size_t
deliver_http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct deliver_http *h = userdata;
    size_t n = size * nmemb;

    if (h->resp.len < HTTP_RESP_KEEP) {
        size_t keep = HTTP_RESP_KEEP - h->resp.len;
        buf_append(&h->resp, ptr, n < keep ? n : keep);
    }
    return n;
}

/* What the status of a finished request means for the record. */
static enum deliver_result
deliver_http_classify(long code)
{
    if (code >= 200 && code < 300) {
        return DELIVER_OK;
    }
    if (code >= 400 && code < 500 && code != 401 && code != 403 && code != 404 && code != 407 &&
        code != 408 && code != 421 && code != 425 && code != 429) {
        return DELIVER_REJECT;
    }
    return DELIVER_RETRY;
}

static void
deliver_http_check_done(struct deliver_http *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl.multi_info_read(h->multi, &left)) != NULL) {
        struct deliver_rec *rec = h->cur;
        enum deliver_result res;
        char reason[512];
        long code = 0;

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl.multi_remove_handle(h->multi, h->easy);
        curl.slist_free_all(h->req_headers);
        h->req_headers = NULL;
        h->cur = NULL;
        if (rec == NULL) {
            continue;
        }
        if (msg->data.result != CURLE_OK) {
            snprintf(reason, sizeof(reason), "POST %s: %s", h->url,
                     h->errbuf[0] != '\0' ? h->errbuf : curl.easy_strerror(msg->data.result));
            res = DELIVER_RETRY;
        } else {
            curl.easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
            res = deliver_http_classify(code);
            snprintf(reason, sizeof(reason), "POST %s: HTTP %ld%s%.*s", h->url, code,
                     h->resp.len > 0 ? ": " : "", (int)h->resp.len,
                     h->resp.data != NULL ? h->resp.data : "");
        }
        deliver_done(h->d, rec, res, reason);
    }
}

/*
 * The TAXII 2.1 envelope of a record: {"objects": ARRAY} where ARRAY is the value of the
 * record's top-level "objects" key, or [record]. Returns 0, or -1 when the record is not a
 * JSON object.
 */
static int
deliver_http_taxii_body(const char *s, size_t len, struct buf *out)
{
    size_t i = 0, start = 0, end = 0;
    int depth = 0, found = 0;

    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) {
        len--;
    }
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) {
        i++;
    }
    if (i >= len || s[i] != '{' || s[len - 1] != '}') {
        return -1;
    }
    /* scan: strings skipped with their escapes; a depth-1 key "objects" followed by ':' */
    for (; i < len && !found; i++) {
        char c = s[i];
        if (c == '"') {
            size_t k0 = i + 1;
            for (i++; i < len && s[i] != '"'; i++) {
                if (s[i] == '\\') {
                    i++;
                }
            }
            if (depth == 1 && i - k0 == 7 && memcmp(s + k0, "objects", 7) == 0) {
                size_t j = i + 1;
                while (j < len && (s[j] == ' ' || s[j] == '\n' || s[j] == '\t' || s[j] == '\r')) {
                    j++;
                }
                if (j < len && s[j] == ':') {
                    j++;
                    while (j < len && (s[j] == ' ' || s[j] == '\n' || s[j] == '\t')) {
                        j++;
                    }
                    if (j < len && s[j] == '[') {
                        int d2 = 0;
                        start = j;
                        for (; j < len; j++) {
                            if (s[j] == '"') {
                                for (j++; j < len && s[j] != '"'; j++) {
                                    if (s[j] == '\\') {
                                        j++;
                                    }
                                }
                            } else if (s[j] == '[' || s[j] == '{') {
                                d2++;
                            } else if (s[j] == ']' || s[j] == '}') {
                                if (--d2 == 0) {
                                    end = j + 1;
                                    found = 1;
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    buf_reset(out);
    buf_puts(out, "{\"objects\":");
    if (found) {
        buf_append(out, s + start, end - start);
    } else {
        buf_putc(out, '[');
        buf_append(out, s, len);
        buf_putc(out, ']');
    }
    buf_putc(out, '}');
    return 0;
}

static void
deliver_http_send(void *state, struct deliver_rec *rec)
{
    struct deliver_http *h = state;
    const char *body = rec->sr->data;
    size_t len = rec->sr->len;
    char idh[SPOOL_MAX_ID + 32];
    CURLMcode mc;

    if (h->taxii) {
        if (deliver_http_taxii_body(rec->sr->data, rec->sr->len, &h->body) != 0) {
            deliver_done(h->d, rec, DELIVER_REJECT,
                         "taxii: the record is not a JSON object (STIX bundle or object)");
            return;
        }
        body = h->body.data;
        len = h->body.len;
    }
    h->req_headers = NULL;
    for (struct curl_slist *l = h->base_headers; l != NULL; l = l->next) {
        h->req_headers = curl.slist_append(h->req_headers, l->data);
    }
    snprintf(idh, sizeof(idh), "X-Kizuna-Alert-Id: %s", rec->sr->id);
    h->req_headers = curl.slist_append(h->req_headers, idh);
    buf_reset(&h->resp);
    h->errbuf[0] = '\0';
    curl.easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->req_headers);
    curl.easy_setopt(h->easy, CURLOPT_POSTFIELDS, body);
    curl.easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    h->cur = rec;
    mc = curl.multi_add_handle(h->multi, h->easy);
    if (mc != CURLM_OK) {
        char reason[256];
        h->cur = NULL;
        curl.slist_free_all(h->req_headers);
        h->req_headers = NULL;
        snprintf(reason, sizeof(reason), "curl.multi_add_handle() failed: %s",
                 curl.multi_strerror(mc));
        deliver_done(h->d, rec, DELIVER_RETRY, reason);
    }
}

static int
deliver_http_open(struct deliver *d, const void *conf, void **state, char *err, size_t errlen)
{
    const struct deliver_http_conf *c = conf;
    struct deliver_http *h;
    char ct[256];

    if (deliver_http_curl_load(err, errlen) != 0) {
        return -1;
    }
    h = xcalloc(1, sizeof(*h));
    h->d = d;
    h->url = xstrdup(c->url);
    h->taxii = c->taxii;
    if (c->headers_file != NULL &&
        deliver_http_headers_parse(c->headers_file, &h->base_headers, err, errlen) != 0) {
        curl.slist_free_all(h->base_headers);
        free(h->url);
        free(h);
        return -1;
    }
    snprintf(ct, sizeof(ct), "Content-Type: %s", c->taxii ? HTTP_TAXII_TYPE : c->content_type);
    h->base_headers = curl.slist_append(h->base_headers, ct);
    if (c->taxii) {
        h->base_headers = curl.slist_append(h->base_headers, "Accept: " HTTP_TAXII_TYPE);
    }
    h->base_headers = curl.slist_append(h->base_headers, "Expect:");
    h->multi = curl.multi_init();
    h->easy = curl.easy_init();
    uv_timer_init(deliver_loop(d), &h->timer);
    h->timer.data = h;
    h->handles_open = 1;
    curl.multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, deliver_http_socket_cb);
    curl.multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl.multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, deliver_http_timer_cb);
    curl.multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl.easy_setopt(h->easy, CURLOPT_URL, c->url);
    curl.easy_setopt(h->easy, CURLOPT_POST, 1L);
    curl.easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)(c->timeout_us / 1000));
    curl.easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_us / 1000));
    curl.easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    curl.easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file != NULL) {
        curl.easy_setopt(h->easy, CURLOPT_CAINFO, c->ca_file);
    }
    if (c->tls_cert != NULL) {
        curl.easy_setopt(h->easy, CURLOPT_SSLCERT, c->tls_cert);
        curl.easy_setopt(h->easy, CURLOPT_SSLKEY, c->tls_key);
    }
    curl.easy_setopt(h->easy, CURLOPT_PROXY, c->proxy != NULL ? c->proxy : "");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl.easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl.easy_setopt(h->easy, CURLOPT_USERAGENT, "kizunad/" KZ_VERSION);
    curl.easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, deliver_http_write_cb);
    curl.easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
    curl.easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
    curl.easy_setopt(h->easy, CURLOPT_PRIVATE, h);
    if (!c->tls_verify) {
        log_warn("%s: TLS certificate verification is off (tls_verify: false)", deliver_tag(d));
    }
    *state = h;
    return 0;
}

static void
deliver_http_close(void *state)
{
    struct deliver_http *h = state;

    h->closing = 1;
    if (h->cur != NULL) {
        curl.multi_remove_handle(h->multi, h->easy);
        h->cur = NULL;
    }
    while (h->socks != NULL) {
        curl.multi_assign(h->multi, h->socks->fd, NULL);
        deliver_http_sock_close(h, h->socks);
    }
    curl.easy_cleanup(h->easy);
    curl.multi_cleanup(h->multi);
    curl.slist_free_all(h->req_headers);
    curl.slist_free_all(h->base_headers);
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, deliver_http_handle_closed_cb);
}

const struct deliver_transport deliver_http_transport = {
    .type = "http",
    .keys = deliver_http_keys,
    .conf_size = sizeof(struct deliver_http_conf),
    .window = 1,
    .window_max = 1,
    .check = deliver_http_check,
    .open = deliver_http_open,
    .send = deliver_http_send,
    .reopen = NULL,
    .close = deliver_http_close,
};
