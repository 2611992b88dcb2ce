/*
 * out_probe: a well-behaved plugin built only for the tests (never installed). Its options
 * cover every option type, and its callbacks return whatever status the options ask for,
 * so test-plugin.c can drive every path of the host: option filling and defaults, init and
 * open failures (close owed or not), emit/flush statuses and output rollback, tagged logs.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kizuna/plugin.h>

struct probe_config {
    int64_t level;
    int verbose;
    const char *label;
    const char *nodefault;
    int64_t init_status;
    int64_t open_status;
    int64_t emit_status;
    int64_t flush_status;
};

struct probe_state {
    const struct kz_host *host;
    const struct kz_instance *inst;
    const struct probe_config *cfg;
    uint64_t emitted;
};

static const struct kz_option probe_options[] = {
    {"level", KZ_OPT_INT, "5", 1, 10, offsetof(struct probe_config, level), "a bounded int"},
    {"verbose", KZ_OPT_BOOL, "false", 0, 0, offsetof(struct probe_config, verbose), "a bool"},
    {"label", KZ_OPT_STRING, "dflt", 0, 0, offsetof(struct probe_config, label), "a string"},
    {"nodefault", KZ_OPT_STRING, NULL, 0, 0, offsetof(struct probe_config, nodefault),
     "a string without default"},
    {"init_status", KZ_OPT_INT, "0", -3, 0, offsetof(struct probe_config, init_status),
     "what init returns"},
    {"open_status", KZ_OPT_INT, "0", -3, 0, offsetof(struct probe_config, open_status),
     "what open returns"},
    {"emit_status", KZ_OPT_INT, "0", -100, 0, offsetof(struct probe_config, emit_status),
     "what emit returns (after appending partial bytes)"},
    {"flush_status", KZ_OPT_INT, "0", -100, 0, offsetof(struct probe_config, flush_status),
     "what flush returns"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static int
probe_init(const struct kz_host *host, const struct kz_instance *inst, void *config,
           void **state)
{
    const struct probe_config *cfg = config;
    struct probe_state *s;

    host->log(inst, KZ_LOG_NOTICE, "init level=%" PRId64 " verbose=%d label=%s", cfg->level,
              cfg->verbose, cfg->label ? cfg->label : "(null)");
    if (cfg->init_status != KZ_OK) {
        return (int)cfg->init_status;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return KZ_ERR;
    }
    s->host = host;
    s->inst = inst;
    s->cfg = cfg;
    *state = s;
    return KZ_OK;
}

static int
probe_open(void *state)
{
    struct probe_state *s = state;

    s->host->log(s->inst, KZ_LOG_NOTICE, "open");
    return (int)s->cfg->open_status;
}

static int
probe_emit(void *state, const struct kz_alert *alert, struct kz_buf *buf)
{
    struct probe_state *s = state;
    const char *rule = s->host->alert_str(alert, KZ_ALERT_RULE_ID);

    s->host->buf_append(buf, "partial", 7);
    if (s->cfg->emit_status != KZ_OK) {
        return (int)s->cfg->emit_status;
    }
    s->emitted++;
    s->host->buf_printf(buf, " level=%" PRId64 " verbose=%d label=%s nodefault=%s rule=%s\n",
                        s->cfg->level, s->cfg->verbose, s->cfg->label,
                        s->cfg->nodefault ? s->cfg->nodefault : "(null)", rule ? rule : "-");
    return KZ_OK;
}

static int
probe_flush(void *state, struct kz_buf *buf)
{
    struct probe_state *s = state;

    s->host->buf_printf(buf, "flushed %" PRIu64 "\n", s->emitted);
    return (int)s->cfg->flush_status;
}

static void
probe_close(void *state)
{
    struct probe_state *s = state;

    s->host->log(s->inst, KZ_LOG_NOTICE, "close after %" PRIu64 " alerts", s->emitted);
    free(s);
}

static const struct kz_plugin probe_plugin = {
    .abi_major = KZ_ABI_MAJOR,
    .abi_minor = KZ_ABI_MINOR,
    .struct_size = sizeof(struct kz_plugin),
    .name = "probe",
    .version = "0.0.1",
    .description = "test plugin that does what its options say",
    .options = probe_options,
    .config_size = sizeof(struct probe_config),
    .init = probe_init,
    .open = probe_open,
    .emit = probe_emit,
    .flush = probe_flush,
    .close = probe_close,
};

const struct kz_plugin *
kz_plugin_entry(void)
{
    return &probe_plugin;
}
