/*
 * plugin-base.h - the lifecycle every exchange-format plugin shares, header-only: the state a
 * plugin keeps (host, instance, configuration and two reusable buffers), init with the check
 * of the host's ABI, emit that formats one alert into the buffer and hands it to the host,
 * and close. A plugin's state embeds struct plugin_base as its FIRST member, so the state
 * pointer the host passes around is also a pointer to the base (and back):
 *
 *   struct ocsf_state { struct plugin_base base; ... };
 *   init:  plugin_base_init(host, inst, config, sizeof(struct ocsf_state), state)
 *   emit:  plugin_base_emit(state, alert, buf, ocsf_write)
 *   close: plugin_base_close(state)   (fits kz_plugin.close as is)
 *
 * A plugin with no state of its own (out_idmef, out_iodef) uses struct plugin_base as it is.
 * Only the format is the plugin's own: its write callback appends one document to base->out.
 * out_json uses init and close only: it writes to the host's buffer directly.
 */
#ifndef KZ_PLUGIN_BASE_H
#define KZ_PLUGIN_BASE_H

#include <stddef.h>
#include <stdlib.h>

#include <kizuna/plugin.h>

#include "alertutil.h"
#include "sbuf.h"

struct plugin_base {
    const struct kz_host *host;
    const struct kz_instance *inst;
    const void *cfg; /* the plugin's config struct, filled by the host from its option table */
    struct sbuf out; /* the document of the alert being formatted */
    struct sbuf tmp; /* scratch for the write callback (ids, names, descriptions) */
};

/*
 * Appends the document for alert to base->out (out and tmp are emptied before the call).
 * Returns KZ_OK, also when an append failed (plugin_base_emit() checks the buffers), or
 * KZ_ERR when the plugin refuses the alert, after logging why.
 */
typedef int (*plugin_base_write_cb)(struct plugin_base *base, const struct kz_alert *alert);

/* 1 when the host speaks our ABI major and offers every 1.0 service (up to buf_len). */
static inline int
plugin_base_host_ok(const struct kz_host *host)
{
    return host->abi_major == KZ_ABI_MAJOR &&
           host->struct_size >= offsetof(struct kz_host, buf_len) + sizeof(host->buf_len);
}

/*
 * Check the host, allocate a zeroed state of state_size bytes (a struct that starts with a
 * struct plugin_base) and fill its base. Returns KZ_OK with *state set (the caller owns it
 * until plugin_base_close()), or KZ_ERR.
 */
static inline int
plugin_base_init(const struct kz_host *host, const struct kz_instance *inst, const void *config,
                 size_t state_size, void **state)
{
    struct plugin_base *base;

    if (!plugin_base_host_ok(host)) {
        return KZ_ERR;
    }
    base = calloc(1, state_size);
    if (base == NULL) {
        host->log(inst, KZ_LOG_ERR, "calloc(%zu) failed", state_size);
        return KZ_ERR;
    }
    base->host = host;
    base->inst = inst;
    base->cfg = config;
    *state = base;
    return KZ_OK;
}

/*
 * Format one alert with write_doc into base->out and append it to the host's buf. Returns
 * KZ_OK; KZ_ERR when write_doc refused the alert or a buffer ran out of memory (logged;
 * nothing is appended to buf then).
 */
static inline int
plugin_base_emit(struct plugin_base *base, const struct kz_alert *alert, struct kz_buf *buf,
                 plugin_base_write_cb write_doc)
{
    sbuf_reset(&base->out);
    sbuf_reset(&base->tmp);
    if (write_doc(base, alert) != KZ_OK) {
        return KZ_ERR;
    }
    if (sbuf_failed(&base->out) || sbuf_failed(&base->tmp)) {
        base->host->log(base->inst, KZ_LOG_ERR, "out of memory formatting alert %s",
                        alertutil_str(base->host, alert, KZ_ALERT_ID));
        return KZ_ERR;
    }
    base->host->buf_append(buf, base->out.data, base->out.len);
    return KZ_OK;
}

/*
 * The alert's id for formats whose identifiers derive from it, or NULL (logged) when the alert
 * has none, which such a write callback refuses. Points into the host's alert.
 */
static inline const char *
plugin_base_alert_id(const struct plugin_base *base, const struct kz_alert *alert)
{
    const char *id = base->host->alert_str(alert, KZ_ALERT_ID);

    if (id == NULL || id[0] == '\0') {
        base->host->log(base->inst, KZ_LOG_ERR, "alert without an id: not formatted");
        return NULL;
    }
    return id;
}

/* Free a state made by plugin_base_init() (NULL is fine); the plugin frees its own parts first. */
static inline void
plugin_base_close(void *state)
{
    struct plugin_base *base = state;

    if (base == NULL) {
        return;
    }
    sbuf_free(&base->out);
    sbuf_free(&base->tmp);
    free(base);
}

#endif
