/*
 * out_ocsf: one OCSF Detection Finding (class_uid 2004, category Findings, activity Create,
 * type_uid 200401) per alert, as one JSON object per line, for OCSF schema 1.8.0.
 *
 * severity_id follows the level (informational 1 ... critical 5); time, start_time and
 * end_time are the alert, first and last event times in milliseconds; finding_info carries
 * the alert id as uid, the rule title, the rule as an analytic (type Rule), first/last seen
 * times and the ATT&CK techniques and tactics of the rule's tags; evidences hold the source
 * and destination endpoints and users of the matched event or of each evidence event;
 * observables list the addresses, host names and user names (type_id 2, 1, 4); the raw
 * event goes to raw_data and what OCSF has no attribute for (group key, correlation type
 * and value, TLP) to unmapped.kizuna. See README.md and docs/FORMATS.md.
 *
 * Includes only <kizuna/plugin.h> and libc (through header-only helpers in plugins/common).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kizuna/plugin.h>

#include "../common/alertutil.h"
#include "../common/attack.h"
#include "../common/jsonw.h"
#include "../common/netaddr.h"
#include "../common/plugin-base.h"
#include "../common/sbuf.h"
#include "../common/timefmt.h"

#define OCSF_VERSION "1.0.0"
#define OCSF_SCHEMA_VERSION "1.8.0"
#ifdef KZ_VERSION
#define OCSF_PRODUCT_VERSION KZ_VERSION
#else
#define OCSF_PRODUCT_VERSION OCSF_VERSION
#endif

/* Most observables one finding lists. */
#define OCSF_MAX_OBSERVABLES 64

struct ocsf_config {
    const char *vendor_name;
    int raw_data;
};

static const struct kz_option ocsf_options[] = {
    {"vendor_name", KZ_OPT_STRING, "kizuna", 0, 0, offsetof(struct ocsf_config, vendor_name),
     "metadata.product.vendor_name"},
    {"raw_data", KZ_OPT_BOOL, "true", 0, 0, offsetof(struct ocsf_config, raw_data),
     "copy the matched event's event.original into raw_data"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* OCSF observable types (dictionary types hostname_t, ip_t, username_t). */
enum ocsf_obs_type { OBS_HOSTNAME = 1, OBS_IP = 2, OBS_USER = 4 };

struct ocsf_observable {
    const char *name; /* static */
    enum ocsf_obs_type type;
    const char *v;
    size_t n;
    char canon[NETADDR_MAX];
};

struct ocsf_state {
    struct plugin_base base; /* first: the state is also a struct plugin_base */
    struct ocsf_observable obs[OCSF_MAX_OBSERVABLES];
    size_t nobs;
};

/* One event's view: the matched event (ev == -1) or evidence event ev. */
static const char *
ocsf_get(struct ocsf_state *s, const struct kz_alert *a, long ev, const char *name, size_t *n)
{
    if (ev < 0) {
        return s->base.host->alert_get(a, name, n);
    }
    return alertutil_evidence_get(s->base.host, a, (size_t)ev, name, n);
}

static void
ocsf_observe(struct ocsf_state *s, const char *name, enum ocsf_obs_type type, const char *v,
             size_t n)
{
    struct ocsf_observable *o;

    if (v == NULL || n == 0 || s->nobs >= OCSF_MAX_OBSERVABLES) {
        return;
    }
    for (size_t i = 0; i < s->nobs; i++) {
        if (s->obs[i].name == name && s->obs[i].n == n && memcmp(s->obs[i].v, v, n) == 0) {
            return;
        }
    }
    o = &s->obs[s->nobs++];
    o->name = name;
    o->type = type;
    if (type == OBS_IP) {
        memcpy(o->canon, v, n);
        o->canon[n] = '\0';
        o->v = o->canon;
    } else {
        o->v = v;
    }
    o->n = n;
}

/* A network_endpoint from (ip, port, host name) fields; returns 1 when anything was written. */
static int
ocsf_endpoint(struct ocsf_state *s, struct jsonw *w, const struct kz_alert *a, long ev,
              const char *key, const char *ip_f, const char *port_f, const char *host_f,
              const char *obs_ip, const char *obs_host)
{
    char canon[NETADDR_MAX];
    const char *ip, *port, *host;
    size_t ip_n = 0, port_n = 0, host_n = 0;
    long p = -1;
    int have_ip = 0;

    ip = ocsf_get(s, a, ev, ip_f, &ip_n);
    if (ip != NULL && netaddr_parse(ip, ip_n, canon) != NETADDR_NONE) {
        have_ip = 1;
    }
    port = ocsf_get(s, a, ev, port_f, &port_n);
    if (port != NULL) {
        p = netaddr_port(port, port_n);
    }
    host = host_f != NULL ? ocsf_get(s, a, ev, host_f, &host_n) : NULL;
    if (host != NULL && host_n == 0) {
        host = NULL;
    }
    if (!have_ip && host == NULL) {
        return 0; /* a port alone does not make an endpoint */
    }
    jsonw_key(w, key);
    jsonw_obj(w);
    if (host != NULL) {
        jsonw_kstrn(w, "hostname", host, host_n);
        ocsf_observe(s, obs_host, OBS_HOSTNAME, host, host_n);
    }
    if (have_ip) {
        jsonw_kstr(w, "ip", canon);
        ocsf_observe(s, obs_ip, OBS_IP, canon, strlen(canon));
    }
    if (p >= 0) {
        jsonw_ki64(w, "port", p);
    }
    jsonw_obj_end(w);
    return 1;
}

/* One evidences[] element from the matched event (ev == -1) or an evidence event. */
static void
ocsf_evidence(struct ocsf_state *s, struct jsonw *w, const struct kz_alert *a, long ev, int *open)
{
    size_t mark = s->base.out.len;
    struct jsonw save = *w;
    const char *user;
    size_t user_n = 0;
    int any = 0;

    if (!*open) {
        jsonw_key(w, "evidences");
        jsonw_arr(w);
    }
    jsonw_obj(w);
    any |= ocsf_endpoint(s, w, a, ev, "src_endpoint", "source.ip", "source.port", "source.domain",
                         "evidences.src_endpoint.ip", "evidences.src_endpoint.hostname");
    any |=
        ocsf_endpoint(s, w, a, ev, "dst_endpoint", "destination.ip", "destination.port",
                      "host.name", "evidences.dst_endpoint.ip", "evidences.dst_endpoint.hostname");
    user = ocsf_get(s, a, ev, "user.name", &user_n);
    if (user != NULL && user_n > 0) {
        jsonw_key(w, "user");
        jsonw_obj(w);
        jsonw_kstrn(w, "name", user, user_n);
        jsonw_obj_end(w);
        ocsf_observe(s, "evidences.user.name", OBS_USER, user, user_n);
        any = 1;
    }
    if (!any) {
        /* Nothing OCSF would accept as evidence: undo this element. */
        sbuf_truncate(&s->base.out, mark);
        *w = save;
        return;
    }
    jsonw_obj_end(w);
    *open = 1;
}

/* An OCSF tactic object: {"uid":"TA0006","name":"Credential Access"}. */
static void
ocsf_tactic(struct jsonw *w, const struct attack_tactic *tactic)
{
    jsonw_obj(w);
    jsonw_kstr(w, "uid", tactic->id);
    jsonw_kstr(w, "name", tactic->name);
    jsonw_obj_end(w);
}

/* An OCSF technique or sub_technique object: uid and the attack.mitre.org page. */
static void
ocsf_technique(struct jsonw *w, const char *key, const struct attack_ref *r, const char *uid)
{
    char url[96];

    attack_ref_url(r, url, sizeof(url));
    jsonw_key(w, key);
    jsonw_obj(w);
    jsonw_kstr(w, "uid", uid);
    jsonw_kstr(w, "src_url", url);
    jsonw_obj_end(w);
}

static void
ocsf_attacks(struct ocsf_state *s, struct jsonw *w, const struct kz_alert *a)
{
    struct attack_set set;

    alertutil_attack(s->base.host, a, &set);
    if (set.ntechniques == 0 && set.ntactics == 0) {
        return;
    }
    jsonw_key(w, "attacks");
    jsonw_arr(w);
    /* One entry per technique; a single tactic goes with each, several as `tactics`. */
    for (size_t i = 0; i < set.ntechniques; i++) {
        const struct attack_ref *r = &set.technique[i];
        struct attack_ref t = *r;

        jsonw_obj(w);
        t.sub[0] = '\0'; /* the technique of a sub-technique */
        ocsf_technique(w, "technique", &t, t.technique);
        if (r->sub[0] != '\0') {
            ocsf_technique(w, "sub_technique", r, r->sub);
        }
        if (set.ntactics == 1) {
            jsonw_key(w, "tactic");
            ocsf_tactic(w, set.tactic[0]);
        } else if (set.ntactics > 1) {
            jsonw_key(w, "tactics");
            jsonw_arr(w);
            for (size_t k = 0; k < set.ntactics; k++) {
                ocsf_tactic(w, set.tactic[k]);
            }
            jsonw_arr_end(w);
        }
        jsonw_obj_end(w);
    }
    for (size_t k = 0; set.ntechniques == 0 && k < set.ntactics; k++) {
        jsonw_obj(w);
        jsonw_key(w, "tactic");
        ocsf_tactic(w, set.tactic[k]);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

static const char *const ocsf_severity_names[] = {"Unknown", "Informational", "Low",
                                                  "Medium",  "High",          "Critical"};

/* The Detection Finding of one alert, into base->out (plugin_base_write_cb). */
static int
ocsf_write(struct plugin_base *base, const struct kz_alert *a)
{
    struct ocsf_state *s = (struct ocsf_state *)base;
    const struct ocsf_config *cfg = base->cfg;
    const struct kz_host *h = base->host;
    const char *corr = h->alert_str(a, KZ_ALERT_CORR_TYPE);
    const char *group = alertutil_str(h, a, KZ_ALERT_GROUP_KEY);
    const char *title = alertutil_str(h, a, KZ_ALERT_RULE_TITLE);
    int sev = h->alert_severity(a) + 1; /* informational (0) is severity_id 1 */
    size_t nev = h->alert_nevidence(a);
    struct jsonw w;
    int open = 0;
    double value;
    const char *v;
    size_t n;

    if (sev < 1 || sev > 5) {
        sev = 0;
    }
    s->nobs = 0;
    jsonw_init(&w, &base->out);
    jsonw_obj(&w);
    jsonw_ki64(&w, "activity_id", 1);
    jsonw_kstr(&w, "activity_name", "Create");
    jsonw_ki64(&w, "category_uid", 2);
    jsonw_kstr(&w, "category_name", "Findings");
    jsonw_ki64(&w, "class_uid", 2004);
    jsonw_kstr(&w, "class_name", "Detection Finding");
    jsonw_ki64(&w, "type_uid", 200401);
    jsonw_kstr(&w, "type_name", "Detection Finding: Create");
    jsonw_ki64(&w, "severity_id", sev);
    jsonw_kstr(&w, "severity", ocsf_severity_names[sev]);
    jsonw_ki64(&w, "status_id", 1);
    jsonw_kstr(&w, "status", "New");
    jsonw_kbool(&w, "is_alert", 1);
    jsonw_ki64(&w, "time", timefmt_ms(h->alert_time(a, KZ_TIME_ALERT)));
    jsonw_ki64(&w, "start_time", timefmt_ms(h->alert_time(a, KZ_TIME_FIRST)));
    jsonw_ki64(&w, "end_time", timefmt_ms(h->alert_time(a, KZ_TIME_LAST)));
    jsonw_key(&w, "count");
    jsonw_u64(&w, h->alert_count(a) > INT32_MAX ? INT32_MAX : h->alert_count(a));
    jsonw_kstr(&w, "message", title);

    jsonw_key(&w, "metadata");
    jsonw_obj(&w);
    jsonw_kstr(&w, "version", OCSF_SCHEMA_VERSION);
    jsonw_kstr(&w, "uid", alertutil_str(h, a, KZ_ALERT_ID));
    jsonw_key(&w, "product");
    jsonw_obj(&w);
    jsonw_kstr(&w, "name", "kizuna");
    jsonw_kstr(&w, "vendor_name", cfg->vendor_name != NULL ? cfg->vendor_name : "kizuna");
    jsonw_kstr(&w, "version", OCSF_PRODUCT_VERSION);
    jsonw_obj_end(&w);
    jsonw_key(&w, "labels");
    jsonw_arr(&w);
    {
        char label[32];

        snprintf(label, sizeof(label), "tlp:%s", alertutil_tlp(h, a));
        jsonw_str(&w, label);
    }
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);

    jsonw_key(&w, "finding_info");
    jsonw_obj(&w);
    jsonw_kstr(&w, "uid", alertutil_str(h, a, KZ_ALERT_ID));
    jsonw_kstr(&w, "title", title);
    jsonw_key(&w, "types");
    jsonw_arr(&w);
    jsonw_str(&w, alertutil_str(h, a, KZ_ALERT_KIND));
    jsonw_arr_end(&w);
    jsonw_key(&w, "analytic");
    jsonw_obj(&w);
    jsonw_kstr(&w, "uid", alertutil_str(h, a, KZ_ALERT_RULE_ID));
    jsonw_kstr(&w, "name", title);
    jsonw_ki64(&w, "type_id", 1);
    jsonw_kstr(&w, "type", "Rule");
    jsonw_obj_end(&w);
    jsonw_ki64(&w, "first_seen_time", timefmt_ms(h->alert_time(a, KZ_TIME_FIRST)));
    jsonw_ki64(&w, "last_seen_time", timefmt_ms(h->alert_time(a, KZ_TIME_LAST)));
    ocsf_attacks(s, &w, a);
    jsonw_obj_end(&w);

    if (nev == 0) {
        ocsf_evidence(s, &w, a, -1, &open);
    }
    for (size_t e = 0; e < nev; e++) {
        ocsf_evidence(s, &w, a, (long)e, &open);
    }
    if (open) {
        jsonw_arr_end(&w);
    }
    if (s->nobs > 0) {
        static const char *const captions[] = {"", "Hostname", "IP Address", "", "User Name"};

        jsonw_key(&w, "observables");
        jsonw_arr(&w);
        for (size_t i = 0; i < s->nobs; i++) {
            jsonw_obj(&w);
            jsonw_kstr(&w, "name", s->obs[i].name);
            jsonw_ki64(&w, "type_id", s->obs[i].type);
            jsonw_kstr(&w, "type", captions[s->obs[i].type]);
            jsonw_kstrn(&w, "value", s->obs[i].v, s->obs[i].n);
            jsonw_obj_end(&w);
        }
        jsonw_arr_end(&w);
    }
    v = h->alert_get(a, "event.original", &n);
    if (cfg->raw_data && v != NULL && n > 0) {
        jsonw_kstrn(&w, "raw_data", v, n);
    }
    jsonw_key(&w, "unmapped");
    jsonw_obj(&w);
    jsonw_key(&w, "kizuna");
    jsonw_obj(&w);
    jsonw_kstr(&w, "level", alertutil_str(h, a, KZ_ALERT_LEVEL));
    jsonw_kstr(&w, "tlp", alertutil_tlp(h, a));
    if (group[0] != '\0') {
        jsonw_kstr(&w, "group_key", group);
    }
    if (corr != NULL) {
        jsonw_kstr(&w, "correlation_type", corr);
        if (h->alert_value(a, &value) == 1 && value == value && value - value == 0) {
            char num[40];

            snprintf(num, sizeof(num), "%.17g", value);
            jsonw_key(&w, "value");
            jsonw_raw(&w, num);
        }
    }
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    sbuf_putc(&base->out, '\n');
    return KZ_OK;
}

static int
ocsf_init(const struct kz_host *host, const struct kz_instance *inst, void *config, void **state)
{
    return plugin_base_init(host, inst, config, sizeof(struct ocsf_state), state);
}

static int
ocsf_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    return plugin_base_emit(state, alert, buf, ocsf_write);
}

static const struct kz_plugin ocsf_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "ocsf",
    .version = OCSF_VERSION,
    .description = "OCSF 1.8.0 Detection Finding (class 2004) per alert, one JSON per line",
    .options = ocsf_options,
    .config_size = sizeof(struct ocsf_config),
    .init = ocsf_init,
    .open = NULL,
    .emit = ocsf_emit,
    .flush = NULL,
    .close = plugin_base_close,
};

/* The plugin's one exported symbol. */
const struct kz_plugin *
kz_plugin_entry(void)
{
    return &ocsf_plugin;
}
